// src/sw/webseed.js (HTTP ranges verified piece by piece) and the race helpers of src/sw/fetcher.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { torrentPieces, Webseed } from '../src/sw/webseed.js';
import { firstOf, HotFiles } from '../src/sw/fetcher.js';

const PL = 16;
const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff);
const sha1 = (/** @type {Uint8Array} */ b) => createHash('sha1').update(b).digest();
const pieces = Buffer.concat(Array.from({ length: Math.ceil(data.length / PL) }, (_, i) => sha1(data.subarray(i * PL, (i + 1) * PL))));

/** A .torrent like the packager's: announce, a url-list, an info dict with files and pieces. */
function torrent() {
  const s = (/** @type {string|Buffer} */ x) => Buffer.concat([Buffer.from(`${x.length}:`), Buffer.from(x)]);
  return new Uint8Array(Buffer.concat([
    Buffer.from('d'), s('announce'), s('ws://t/announce'), s('url-list'), Buffer.from('l'), s('http://site/planktos/'), Buffer.from('e'),
    s('info'), Buffer.from('d'), s('files'), Buffer.from('ld'), s('length'), Buffer.from(`i${data.length}e`), s('path'),
    Buffer.from('l'), s('abc'), Buffer.from('ee'), Buffer.from('e'), s('name'), s('files'), s('piece length'), Buffer.from(`i${PL}e`),
    s('pieces'), s(pieces), Buffer.from('e'), Buffer.from('e'),
  ]));
}

test('torrentPieces finds info.pieces, and refuses what is not bencode', () => {
  assert.deepEqual(Buffer.from(/** @type {Uint8Array} */ (torrentPieces(torrent()))), pieces);
  assert.equal(torrentPieces(new TextEncoder().encode('<html>')), null);
  assert.equal(torrentPieces(new TextEncoder().encode('d4:infod6:pieces')), null);
  assert.equal(torrentPieces(new TextEncoder().encode('d6:pieces3:abce')), null); // not under info
});

/**
 * Stubs fetch and caches for a Webseed: the origin answers ranges of `body` (or ignores Range when
 * `plain`), and logs each Range asked.
 * @param {{body?: Uint8Array, plain?: boolean}} o
 */
function origin({ body = data, plain = false } = {}) {
  /** @type {string[]} */
  const asked = [];
  const g = /** @type {any} */ (globalThis);
  g.self = { location: { origin: 'http://site' } };
  g.caches = { open: async () => ({ match: async () => undefined, put: async () => {} }) };
  g.fetch = async (/** @type {string} */ url, /** @type {any} */ init) => {
    if (String(url).endsWith('.torrent')) return new Response(torrent());
    const r = init?.headers?.range ?? '';
    asked.push(r);
    const [a, b] = r.replace('bytes=', '').split('-').map(Number);
    if (plain) return new Response(body.slice());
    return new Response(body.slice(a, b + 1), { status: 206, headers: { 'content-range': `bytes ${a}-${b}/${body.length}` } });
  };
  return asked;
}

const m = /** @type {any} */ ({
  files: { 'v.webm': { sha256: 'abc', size: data.length, type: 'video/webm', torrent: 0 }, 'small.css': { sha256: 'def', size: 5, type: 'text/css', torrent: 1 } },
  torrents: [{ infohash: 'ih', url: 'planktos/torrents/ih.torrent', pieceLength: PL, length: data.length }, { infohash: 'ih2', url: 'x', pieceLength: PL, length: 500 }],
});

test('Webseed.range asks the origin for whole pieces only and hands over the verified part', async () => {
  const asked = origin();
  const w = new Webseed('/');
  assert.ok(w.serves(m, 'v.webm'));
  assert.ok(!w.serves(m, 'small.css')); // shares its torrent
  const b = await w.range(m, 'v.webm', 20, 30);
  assert.deepEqual(new Uint8Array(await /** @type {Blob} */ (b).arrayBuffer()), data.subarray(20, 50));
  assert.deepEqual(asked, ['bytes=16-63']);
  const last = await w.range(m, 'v.webm', 90, 10); // the short last piece
  assert.deepEqual(new Uint8Array(await /** @type {Blob} */ (last).arrayBuffer()), data.subarray(90, 100));
  assert.deepEqual(asked.at(-1), 'bytes=80-99');
});

test('Webseed.range refuses a wrong piece, and reads an origin that ignores Range only as far as needed', async () => {
  const bad = data.slice();
  bad[40] ^= 1;
  origin({ body: bad });
  assert.equal(await new Webseed('/').range(m, 'v.webm', 20, 30), null);
  origin({ plain: true });
  const b = await new Webseed('/').range(m, 'v.webm', 20, 30);
  assert.deepEqual(new Uint8Array(await /** @type {Blob} */ (b).arrayBuffer()), data.subarray(20, 50));
});

test('firstOf resolves with the first value that is not null, or null', async () => {
  const later = (/** @type {any} */ v, /** @type {number} */ ms) => new Promise((r) => setTimeout(() => r(v), ms));
  assert.equal(await firstOf([later(null, 1), later('b', 20), later('c', 40)]), 'b');
  assert.equal(await firstOf([later(null, 1), Promise.reject(new Error('x')), later(null, 5)]), null);
});

test('HotFiles keeps big files from the store as handles, and drops the oldest', () => {
  const h = new HotFiles(10, 100, 2);
  const big = new Blob([new Uint8Array(50)]);
  h.add('a', big);
  assert.equal(h.get('a'), undefined); // too big, not from the store
  h.add('a', big, true);
  h.add('b', big, true);
  h.add('c', big, true);
  assert.equal(h.get('a'), undefined);
  assert.equal(h.get('c'), big);
  h.retain(new Set(['b']));
  assert.equal(h.get('c'), undefined);
  assert.equal(h.get('b'), big);
  assert.equal(h.total, 0);
});
