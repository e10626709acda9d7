// The service worker's manifest keeper (src/sw/manifest.js) with signed manifests: what it keeps of
// the origin's manifest (exact bytes, signature, the preview's overrides), the packaging race, and
// peers' envelopes (adopt) — taken over, refused, the fallback kept, the kill switch. CacheStorage and
// the origin are stubs here; a worker restart is a new keeper over the same caches. Browsers run the
// real thing in e2e/signed_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ManifestKeeper } from '../src/sw/manifest.js';
import { envelopeOf, toBase64 } from '../src/common/signed.js';
import { tellEnvelope, wireSigned } from '../src/sw/signed.js';
import { AgentLink } from '../src/sw/agent-link.js';
import { Stats } from '../src/sw/stats.js';
import { Op, WIN_REVISION } from '../src/common/protocol.js';

const ORIGIN = 'https://example.org';
const BASE = '/project/';
const golden = JSON.parse(readFileSync(new URL('../../manifest/testdata/golden.json', import.meta.url), 'utf8'));

/** @type {any} */ (globalThis).self = { location: { href: `${ORIGIN}${BASE}` } };

/** CacheStorage in memory, shared by every keeper of a test (a restarted worker sees what was kept). */
function stubCaches() {
  /** @type {Map<string, Map<string, Response>>} */
  const all = new Map();
  const open = async (/** @type {string} */ name) => {
    if (!all.has(name)) all.set(name, new Map());
    const m = /** @type {Map<string, Response>} */ (all.get(name));
    return {
      match: async (/** @type {string} */ k) => m.get(k)?.clone(),
      put: async (/** @type {string} */ k, /** @type {Response} */ r) => { m.set(k, r.clone()); },
      delete: async (/** @type {string} */ k) => m.delete(k),
      keys: async () => [...m.keys()].map((url) => ({ url })),
    };
  };
  /** @type {any} */ (globalThis).caches = { open };
  return { entry: async (/** @type {string} */ path) => (await open('planktos:/project/:meta:v1')).match(ORIGIN + path) };
}

/** A signing key, and packages (manifest bytes and signature) made with it. */
async function signer() {
  const kp = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']));
  const key = toBase64(new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey)));
  /** @param {number} sequence @param {object} [extra] */
  const pack = async (sequence, extra = {}) => {
    const m = { ...golden, key, sequence, disabled: false, revision: `r${sequence}`, ...extra };
    const bytes = new TextEncoder().encode(JSON.stringify(m, null, 1) + '\n');
    const sig = new Uint8Array(await crypto.subtle.sign('Ed25519', kp.privateKey, bytes));
    return { bytes, sig, envelope: envelopeOf(sig, bytes) };
  };
  return { key, pack };
}

/**
 * The origin: answers the manifest and its signature from `site` (changed by the test as it goes),
 * records what was asked.
 * @param {{manifest?: Uint8Array|null, sig?: Uint8Array|null, headers?: Record<string, string>, down?: boolean, etag?: string}} site
 */
function origin(site) {
  /** @type {string[]} */
  const asked = [];
  /** @type {any} */ (globalThis).fetch = async (/** @type {string} */ url, /** @type {RequestInit} */ init) => {
    const path = new URL(url).pathname.slice(BASE.length);
    asked.push(path);
    if (site.down) throw new TypeError('Failed to fetch');
    const h = /** @type {Record<string, string>} */ (init.headers ?? {});
    if (path === 'planktos/manifest.json' && site.manifest) {
      if (site.etag && h['if-none-match'] === site.etag) return new Response(null, { status: 304, headers: site.headers });
      return new Response(site.manifest, { headers: { ...site.headers, ...(site.etag ? { etag: site.etag } : {}) } });
    }
    if (path === 'planktos/manifest.sig' && site.sig) return new Response(toBase64(site.sig) + '\n');
    return new Response('not found', { status: 404 });
  };
  return asked;
}

/** A keeper with the key pinned; `switched` lists the revisions that took over. @param {string} key */
function keeper(key) {
  /** @type {string[]} */
  const switched = [];
  const k = new ManifestKeeper(BASE, (next) => switched.push(next.revision), { key, deadline: 500 });
  let envelopes = 0;
  let disabled = 0;
  k.onEnvelope = () => { envelopes++; };
  k.onDisabled = () => { disabled++; };
  return { k, switched, envelopes: () => envelopes, disabled: () => disabled };
}

test('the origin\'s signed manifest: exact bytes kept with their signature, the envelope held', async () => {
  const kept = stubCaches();
  const s = await signer();
  const p = await s.pack(5);
  origin({ manifest: p.bytes, sig: p.sig });
  const { k, switched, envelopes } = keeper(s.key);
  const m = await k.revalidate();
  assert.equal(m?.sequence, 5);
  assert.deepEqual(switched, ['r5']);
  assert.equal(k.from, 'origin');
  assert.equal(envelopes(), 1);
  const note = k.envelopeNote();
  assert.deepEqual([note.key, note.sequence], [s.key, 5]);
  assert.deepEqual(new Uint8Array(/** @type {ArrayBuffer} */ (note.bytes)), p.envelope);
  const res = await kept.entry('/project/planktos/manifest.json');
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), p.bytes, 'the exact bytes');
  assert.equal(res.headers.get('x-planktos-signature'), toBase64(p.sig));
  // a restarted worker holds the same envelope, from the store, the origin down
  origin({ down: true });
  const again = keeper(s.key);
  assert.equal((await again.k.revalidate())?.revision, 'r5');
  assert.equal(again.k.from, 'stored');
  assert.deepEqual(new Uint8Array(/** @type {ArrayBuffer} */ (again.k.envelopeNote().bytes)), p.envelope);
});

test('a manifest and a signature of two packaging runs: both asked again once; still wrong: adopted, no envelope', async () => {
  stubCaches();
  const s = await signer();
  const [p1, p2] = [await s.pack(1), await s.pack(2)];
  const site = { manifest: p1.bytes, sig: p2.sig };
  const asked = origin(site);
  const { k } = keeper(s.key);
  // the run writes the manifest once the first answer went out
  const real = globalThis.fetch;
  /** @type {any} */ (globalThis).fetch = async (/** @type {string} */ url, /** @type {RequestInit} */ init) => {
    const res = await real(url, init);
    if (url.endsWith('.sig')) site.manifest = p2.bytes;
    return res;
  };
  assert.equal((await k.revalidate())?.sequence, 2);
  assert.deepEqual(asked, ['planktos/manifest.json', 'planktos/manifest.sig', 'planktos/manifest.json', 'planktos/manifest.sig']);
  assert.ok(k.held);

  stubCaches();
  const bad = origin({ manifest: p1.bytes, sig: p2.sig });
  const other = keeper(s.key);
  assert.equal((await other.k.revalidate())?.sequence, 1, 'the origin is the authority');
  assert.equal(bad.length, 4);
  assert.equal(other.k.held, null);
  assert.equal(other.k.envelopeNote().bytes, null);
  await other.k.revalidate();
  assert.equal(bad.length, 5, 'the same bytes again: the signature is not asked again');
});

test('the preview\'s override headers apply to the manifest in force: kept, after a 304 and after a restart', async () => {
  const kept = stubCaches();
  const s = await signer();
  const p = await s.pack(3);
  const trackers = JSON.stringify(['ws://127.0.0.1:8080/announce']);
  const ice = JSON.stringify([{ urls: ['stun:127.0.0.1:3478'] }]);
  const site = { manifest: p.bytes, sig: p.sig, etag: '"e1"', headers: { 'X-Planktos-Trackers': trackers, 'X-Planktos-Ice-Servers': ice } };
  origin(site);
  const { k } = keeper(s.key);
  assert.deepEqual((await k.revalidate())?.trackers, JSON.parse(trackers));
  const res = await kept.entry('/project/planktos/manifest.json');
  assert.deepEqual([res.headers.get('x-planktos-trackers'), res.headers.get('x-planktos-ice-servers')], [trackers, ice]);
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), p.bytes, 'the bytes are not rewritten');
  // a 304 without the headers, to a restarted worker
  site.headers = {};
  const again = keeper(s.key);
  const m = await again.k.revalidate();
  assert.deepEqual([m?.trackers, m?.runtime.iceServers], [JSON.parse(trackers), JSON.parse(ice)]);
  assert.equal(again.k.from, 'origin');
  // a peer's manifest keeps them too
  assert.equal(await again.k.adopt((await s.pack(4)).envelope), 'adopted');
  assert.deepEqual(again.k.manifest?.trackers, JSON.parse(trackers));
});

test('a peer\'s envelope: a greater sequence takes over, the previous revision stays its fallback', async () => {
  const kept = stubCaches();
  const s = await signer();
  const p1 = await s.pack(1, { files: { 'index.html': { ...golden.files['index.html'], sha256: 'a'.repeat(64) } } });
  origin({ manifest: p1.bytes, sig: p1.sig });
  const { k, switched, envelopes } = keeper(s.key);
  await k.revalidate();
  const p2 = await s.pack(2);
  assert.equal(await k.adopt(p2.envelope), 'adopted');
  assert.deepEqual(switched, ['r1', 'r2']);
  assert.deepEqual([k.from, k.manifest?.sequence, k.fallback?.revision], ['peer', 2, 'r1']);
  assert.equal(envelopes(), 2);
  assert.deepEqual(new Uint8Array(/** @type {ArrayBuffer} */ (k.envelopeNote().bytes)), p2.envelope);
  assert.ok(k.referenced().has('a'.repeat(64)), 'the fallback\'s files are kept');
  assert.ok(k.referenced().has(golden.files['index.html'].sha256));
  // a restarted worker, the origin down: the peer's manifest and its fallback, from the store
  origin({ down: true });
  const again = keeper(s.key);
  await again.k.revalidate();
  assert.deepEqual([again.k.from, again.k.manifest?.revision, again.k.fallback?.revision], ['peer', 'r2', 'r1']);
  const res = await kept.entry('/project/planktos/manifest.json');
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), p2.bytes);
  // refused: the same or a lower sequence, another key, other bytes under the signature
  assert.equal(await again.k.adopt(p2.envelope), 'sequence');
  assert.equal(await again.k.adopt(p1.envelope), 'sequence');
  const stranger = await signer();
  assert.equal(await again.k.adopt((await stranger.pack(9)).envelope), 'signature');
  const p3 = await s.pack(3);
  const forged = envelopeOf(p3.sig, (await s.pack(3, { revision: 'evil' })).bytes);
  assert.equal(await again.k.adopt(forged), 'signature');
  assert.equal(await again.k.adopt(new Uint8Array(10)), 'signature');
  assert.deepEqual(again.switched, [], 'nothing took over');
});

test('the origin stays the authority: it wins ties; a signed one older than the envelope held is a stale copy', async () => {
  stubCaches();
  const s = await signer();
  const [p1, p2, p3] = [await s.pack(1), await s.pack(2), await s.pack(3)];
  const site = { manifest: p1.bytes, sig: p1.sig };
  origin(site);
  const { k, switched } = keeper(s.key);
  await k.revalidate();
  assert.equal(await k.adopt(p2.envelope), 'adopted');
  assert.equal((await k.revalidate())?.revision, 'r2', 'the origin still serves 1: kept');
  assert.equal(k.from, 'peer');
  Object.assign(site, { manifest: p2.bytes, sig: p2.sig });
  assert.equal((await k.revalidate())?.revision, 'r2');
  assert.deepEqual([k.from, k.fallback], ['origin', null], 'the tie goes to the origin; the fallback is let go');
  Object.assign(site, { manifest: p3.bytes, sig: p3.sig });
  assert.equal((await k.revalidate())?.revision, 'r3');
  const unsigned = new TextEncoder().encode(JSON.stringify({ ...golden, key: undefined, sequence: undefined, disabled: false, revision: 'u' }));
  Object.assign(site, { manifest: unsigned, sig: null });
  assert.equal((await k.revalidate())?.revision, 'u', 'an unsigned manifest from the origin takes over');
  assert.equal(k.held, null);
  assert.deepEqual(switched, ['r1', 'r2', 'r2', 'r3', 'u']);
  assert.equal(await k.adopt(p1.envelope), 'adopted', 'an unsigned manifest counts as sequence 0');
});

test('no key pinned: no envelope held, every adoption refused', async () => {
  stubCaches();
  const s = await signer();
  const p = await s.pack(1);
  const asked = origin({ manifest: p.bytes, sig: p.sig });
  const { k } = keeper('');
  assert.equal((await k.revalidate())?.sequence, 1);
  assert.deepEqual(asked, ['planktos/manifest.json'], 'no signature asked for');
  assert.deepEqual(k.envelopeNote(), { key: '', sequence: 1, bytes: null });
  assert.equal(await k.adopt((await s.pack(2)).envelope), 'unpinned');
});

test('a disabled manifest from a peer: the kill switch travels', async () => {
  stubCaches();
  const s = await signer();
  const p1 = await s.pack(1);
  origin({ down: true });
  const { k, disabled } = keeper(s.key);
  assert.equal(await k.adopt(p1.envelope), 'adopted', 'a worker with no manifest yet');
  assert.equal(await k.adopt((await s.pack(2, { disabled: true })).envelope), 'disabled');
  assert.equal(disabled(), 1);
  assert.equal(await k.current(), null, 'nothing is served any more');
  assert.equal(await k.revalidate(), null);
  assert.equal(await k.adopt((await s.pack(3)).envelope), 'disabled');
});

test('a peer\'s manifest of the same revision with other files: the one it replaced is still its fallback', async () => {
  stubCaches();
  const s = await signer();
  const p1 = await s.pack(1);
  origin({ manifest: p1.bytes, sig: p1.sig });
  const { k } = keeper(s.key);
  await k.revalidate();
  const files = { ...golden.files, 'about/index.html': { ...golden.files['index.html'], sha256: 'c'.repeat(64) } };
  assert.equal(await k.adopt((await s.pack(2, { revision: 'r1', files })).envelope), 'adopted');
  assert.deepEqual([k.manifest?.revision, k.fallback?.sequence], ['r1', 1]);
  assert.ok(k.referenced().has(golden.files['index.html'].sha256) && k.referenced().has('c'.repeat(64)));
});

test('wireSigned: a peer\'s envelope from the agent is counted, the pages hear of the revision; a disabled one removes planktos', async () => {
  stubCaches();
  const s = await signer();
  origin({ down: true });
  const { k } = keeper(s.key);
  /** @type {unknown[]} */
  const posted = [];
  let unregistered = 0;
  const sw = {
    clients: { matchAll: async () => [{ postMessage: (/** @type {unknown} */ m) => posted.push(m) }] },
    registration: { unregister: async () => { unregistered++; return true; } },
  };
  const link = new AgentLink();
  const stats = new Stats(BASE);
  /** @type {Promise<unknown>[]} */
  const work = [];
  wireSigned({ sw, base: BASE, manifests: k, agent: link, stats, background: (p) => work.push(p), settled: async () => {} });
  const settle = async () => { while (work.length) await work.shift(); };
  link.onAdopt((await s.pack(1)).envelope.slice().buffer);
  link.onAdopt((await s.pack(1)).envelope.slice().buffer);
  await settle();
  assert.deepEqual(posted, [{ planktos: WIN_REVISION, revision: 'r1' }]);
  assert.deepEqual([stats.signed.adopted, stats.signed.refused.sequence], [1, 1]);
  const ch = new MessageChannel();
  /** @type {Promise<any>} */
  const told = new Promise((r) => { ch.port2.onmessage = (e) => r(e.data); });
  link.adopt(ch.port1);
  await tellEnvelope(k, link);
  const note = await told;
  assert.deepEqual([note.op, note.key, note.sequence, note.bytes.byteLength > 64], [Op.envelope, s.key, 1, true]);
  link.onAdopt((await s.pack(2, { disabled: true })).envelope.slice().buffer);
  await settle();
  assert.deepEqual([stats.signed.disabled, unregistered, link.port], [1, 1, null]);
  stats.stop();
  ch.port2.close();
});
