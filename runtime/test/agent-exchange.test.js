// The page agent's ut_planktos (src/agent/exchange.js) between real bittorrent-protocol wires, the
// library WebTorrent's wires are made of: offers after the extended handshake, a pipelined fetch of a
// multi-piece envelope, the check under the pinned key, and every refusal of the protocol.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Wire from 'bittorrent-protocol';
import { Exchange } from '../src/agent/exchange.js';
import { EXTENSION, MAX_ENVELOPE, Msg, PIECE_SIZE, encodeMessage, pieces } from '../src/common/exchange.js';
import { envelopeOf, toBase64 } from '../src/common/signed.js';

const IH = 'ab'.repeat(20);
let ids = 0;

/** A fresh Ed25519 key pair: its base64 public key, and an envelope maker. */
async function keyPair() {
  const kp = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']));
  const key = toBase64(new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey)));
  /**
   * The envelope of a manifest of `sequence` signed by this key, about `pad` bytes long.
   * @param {number} sequence @param {{pad?: number, key?: string}} [o] key: the manifest's own key field
   */
  const envelope = async (sequence, o = {}) => {
    const m = { version: 1, revision: `r${sequence}`, key: o.key ?? key, sequence, files: {}, generator: 'x'.repeat(o.pad ?? 0) };
    const b = new TextEncoder().encode(JSON.stringify(m));
    return envelopeOf(new Uint8Array(await crypto.subtle.sign('Ed25519', kp.privateKey, b)), b);
  };
  return { key, envelope };
}

/**
 * Connects two exchanges over a pair of piped wires, as WebTorrent does: the extension is used on the
 * 'wire' event, before the extended handshake goes out.
 * @param {Exchange} x @param {Exchange} y
 */
function connect(x, y) {
  const a = new Wire();
  const b = new Wire();
  a.pipe(b).pipe(a);
  x.attach(a);
  y.attach(b);
  a.handshake(IH, (++ids).toString(16).padStart(40, '0'));
  b.handshake(IH, (++ids).toString(16).padStart(40, '0'));
  return { a, b, close: () => { a.destroy(); b.destroy(); } };
}

/** An exchange that records what it hands to the worker. @param {object} [opts] */
function agent(opts) {
  const x = new Exchange(opts);
  /** @type {Uint8Array[]} */
  const adopted = [];
  x.onAdopt = (b) => adopted.push(new Uint8Array(b));
  return { x, adopted };
}

/** Waits until fn() is true (5 s at most). @param {() => boolean} fn @param {string} what */
async function until(fn, what) {
  const end = Date.now() + 5000;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets every message in flight arrive (the wires are in-process streams). */
const settle = () => new Promise((r) => setTimeout(r, 50));

test('a greater sequence travels in pipelined pieces, verifies, is handed over and offered on', async () => {
  const k = await keyPair();
  const old = await k.envelope(1);
  const next = await k.envelope(2, { pad: 5 * PIECE_SIZE + 77 });
  const A = agent();
  const B = agent();
  const C = agent();
  A.x.hold(k.key, 1, old);
  B.x.hold(k.key, 2, next);
  C.x.hold(k.key, 0, null);
  const ab = connect(A.x, B.x);
  await until(() => A.adopted.length === 1, 'A adopts sequence 2');
  assert.deepEqual(A.adopted[0], next);
  assert.equal(A.x.sequence, 2);
  // A offers what it adopted to C, which holds none, and C fetches it from A
  const ac = connect(A.x, C.x);
  await until(() => C.adopted.length === 1 && A.x.stats().offersReceived === 2, 'C adopts sequence 2 from A, and offers it');
  assert.deepEqual(C.adopted[0], next);
  await settle();
  assert.equal(B.adopted.length, 0, 'B holds sequence 2 already');
  const n = pieces(next.length);
  assert.ok(n > 5);
  const s = A.x.stats();
  assert.deepEqual([s.connections, s.requests, s.served, s.adopted, s.refused], [2, n, n, 1, 0]);
  // A offered 1 then 2 to B, 2 to C; B and C offered 2 once
  assert.deepEqual([s.offersSent, s.offersReceived], [3, 2]);
  assert.ok(s.bytesIn > next.length && s.bytesOut > next.length, JSON.stringify(s));
  ab.close();
  ac.close();
});

test('an offer of an equal or lower sequence is not fetched; nor is anything without a pinned key', async () => {
  const k = await keyPair();
  const A = agent();
  const B = agent();
  A.x.hold(k.key, 3, await k.envelope(3));
  B.x.hold(k.key, 3, await k.envelope(3, { pad: 10 }));
  const w = connect(A.x, B.x);
  const C = agent();
  C.x.hold(k.key, 2, await k.envelope(2));
  const w2 = connect(A.x, C.x);
  const D = agent(); // no envelope message from its worker yet: no key
  const w3 = connect(D.x, B.x);
  await until(() => A.x.stats().offersReceived >= 2 && D.x.stats().offersReceived === 1, 'the offers');
  await until(() => C.adopted.length === 1, 'C (sequence 2) takes 3 from A');
  await settle();
  assert.deepEqual([A.x.stats().requests, D.x.stats().requests, A.adopted.length, D.adopted.length], [0, 0, 0, 0]);
  w.close();
  w2.close();
  w3.close();
});

test('refused, each time with the offerer\'s further offers ignored: another key, changed bytes, a lying sequence, an unsigned manifest', async () => {
  const k = await keyPair();
  const other = await keyPair();
  const changed = await k.envelope(5);
  changed[changed.length - 3] ^= 1;
  const unsigned = new TextEncoder().encode(JSON.stringify({ version: 1, revision: 'u', files: {}, key: k.key, sequence: 5 }));
  /** @type {Array<[string, Uint8Array, number]>} what the hostile peer holds, and the sequence it offers */
  const cases = [
    ['signed by another key', await other.envelope(5, { key: k.key }), 5],
    ['a valid signature over different bytes', changed, 5],
    ['offered as 9, signed as 5', await k.envelope(5), 9],
    ['unsigned', envelopeOf(new Uint8Array(64), unsigned), 5],
  ];
  for (const [what, bytes, seq] of cases) {
    const A = agent();
    const H = agent();
    A.x.hold(k.key, 4, await k.envelope(4));
    H.x.hold(k.key, seq, bytes); // a hostile peer: any bytes
    const w = connect(A.x, H.x);
    await until(() => A.x.stats().refused === 1, `${what}: refused`);
    // its next offer, valid as it is, is ignored
    H.x.hold(k.key, 6, await k.envelope(6));
    await until(() => A.x.stats().offersReceived === 2, `${what}: the second offer`);
    await settle();
    assert.equal(A.adopted.length, 0, what);
    assert.equal(A.x.sequence, 4, what);
    assert.equal(A.x.stats().requests, 1, `${what}: the second offer is not fetched`);
    w.close();
  }
});

test('an offer over MaxEnvelope, or data that does not fit the offer, refuses the peer', async () => {
  const k = await keyPair();
  const A = agent();
  A.x.hold(k.key, 1, await k.envelope(1));
  const B = agent();
  const w = connect(A.x, B.x);
  await until(() => A.x.peers.size === 1 && B.x.peers.size === 1, 'the extended handshakes');
  w.b.extended(EXTENSION, encodeMessage({ type: Msg.offer, sequence: 7, piece: 0, size: MAX_ENVELOPE + 1 }));
  await until(() => A.x.stats().refused === 1, 'the oversized offer refused');
  assert.equal(A.x.stats().requests, 0);
  w.close();

  const C = agent();
  C.x.onRequest = () => {}; // its wire answers below
  const w2 = connect(A.x, C.x);
  await until(() => C.x.peers.size === 1, 'the second handshake');
  w2.b.extended(EXTENSION, encodeMessage({ type: Msg.offer, sequence: 7, piece: 0, size: 2 * PIECE_SIZE }));
  await until(() => A.x.stats().requests === 2, 'the requests for both pieces');
  w2.b.extended(EXTENSION, encodeMessage({ type: Msg.data, sequence: 7, piece: 1, size: 2 * PIECE_SIZE, data: new Uint8Array(10) }));
  await until(() => A.x.stats().refused === 2, 'the short piece refused');
  assert.equal(A.x.fetch, null);
  w2.close();
});

test('a reject or a stall moves the fetch to another offerer', async () => {
  const k = await keyPair();
  const env = await k.envelope(8, { pad: 3 * PIECE_SIZE });
  const A = agent({ stall: 100 });
  A.x.hold(k.key, 1, await k.envelope(1));
  const silent = agent();
  silent.x.hold(k.key, 8, env);
  silent.x.onRequest = () => {}; // never answers
  const w1 = connect(A.x, silent.x);
  await until(() => A.x.fetch !== null, 'the fetch from the silent peer');
  const B = agent();
  B.x.hold(k.key, 8, env);
  const w2 = connect(A.x, B.x);
  await until(() => A.adopted.length === 1, 'the envelope from B after the stall');
  assert.equal(A.x.stats().refused, 0, 'a stall is no refusal');
  w1.close();
  w2.close();

  const D = agent();
  D.x.hold(k.key, 1, await k.envelope(1));
  const gone = agent();
  gone.x.hold(k.key, 8, env);
  const w3 = connect(D.x, gone.x);
  await until(() => D.x.stats().offersReceived === 1, 'the offer');
  gone.x.hold(k.key, 0, null); // no longer holds 8: it rejects the requests
  await until(() => D.x.fetch === null && D.x.stats().requests > 0, 'the reject');
  const w4 = connect(D.x, B.x);
  await until(() => D.adopted.length === 1, 'the envelope from B after the reject');
  w3.close();
  w4.close();
});

test('download-only: nothing offered, every request rejected', async () => {
  const k = await keyPair();
  const A = agent();
  A.x.hold(k.key, 2, await k.envelope(2));
  A.x.setUploads(false);
  const B = agent();
  B.x.hold(k.key, 1, await k.envelope(1));
  const w = connect(A.x, B.x);
  await until(() => A.x.stats().offersReceived === 1, 'B\'s offer');
  await settle();
  assert.equal(A.x.stats().offersSent, 0);
  /** @type {number[]} */
  const got = [];
  const orig = B.x.onMessage.bind(B.x);
  B.x.onMessage = (p, buf) => { got.push(buf[buf.indexOf(0x69) + 1] - 0x30); orig(p, buf); };
  w.b.extended(EXTENSION, encodeMessage({ type: Msg.request, sequence: 2, piece: 0, size: 0 }));
  await until(() => got.length === 1, 'the answer');
  assert.deepEqual(got, [Msg.reject]);
  A.x.setUploads(true);
  await until(() => B.adopted.length === 1, 'B fetches once uploads are on');
  w.close();
});

test('a peer that offers a huge sequence and stalls cannot hold back a real one', async () => {
  const k = await keyPair();
  const A = agent({ stall: 100 });
  A.x.hold(k.key, 1, await k.envelope(1));
  const liar = agent();
  liar.x.hold(k.key, 2 ** 50, await k.envelope(1));
  liar.x.onRequest = () => {}; // never answers
  const w1 = connect(A.x, liar.x);
  await until(() => A.x.fetch?.sequence === 2 ** 50, 'the fetch of the huge sequence');
  const B = agent();
  B.x.hold(k.key, 3, await k.envelope(3));
  const w2 = connect(A.x, B.x);
  await until(() => A.adopted.length === 1, 'sequence 3 from B after the liar stalled');
  assert.equal(A.x.sequence, 3);
  // the liar's offer is tried again only when no other peer offers more than A holds: it stalls again
  await until(() => A.x.fetch?.peer.wire === w1.a, 'the liar tried again');
  w1.close();
  w2.close();
});

test('a peer that trickles pieces just inside the stall is a stall too', async () => {
  const k = await keyPair();
  const env = await k.envelope(5, { pad: 7 * PIECE_SIZE });
  const A = agent({ stall: 200, rate: 64 * PIECE_SIZE }); // 8 pieces may take 200 + 125 ms
  A.x.hold(k.key, 1, await k.envelope(1));
  const slow = agent();
  slow.x.hold(k.key, 5, env);
  const answer = slow.x.onRequest.bind(slow.x);
  slow.x.onRequest = (p, m) => void setTimeout(() => answer(p, m), 150 * (m.piece + 1)); // one every 150 ms
  const w1 = connect(A.x, slow.x);
  await until(() => A.x.fetch !== null, 'the fetch from the slow peer');
  const B = agent();
  B.x.hold(k.key, 5, env);
  const w2 = connect(A.x, B.x);
  await until(() => A.adopted.length === 1, 'the envelope from B once the slow peer missed its deadline');
  assert.ok(A.x.stalledIds.size === 1, 'the slow peer counts as stalled');
  w1.close();
  w2.close();
});
