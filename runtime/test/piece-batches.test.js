// The chunk store's batched piece writes (issue 12), over an in-memory piece store that writes runs
// as CacheStorage does in the browser (one entry per run of consecutive pieces).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkStoreClass, BATCH_MS } from '../src/agent/chunk-store.js';
import { sha256Hex, verify } from '../src/common/verify.js';
import { bytes, layout as filesLayout } from './layout.js';

const call = (fn) => new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const mapStore = () => {
  const m = new Map();
  return { m, get: async (s) => m.get(s) ?? null, put: async (s, b) => { m.set(s, b); } };
};

/** A piece store with runs: entries first-last → bytes; the calls it got. */
const runStore = (pieceLength) => {
  const runs = new Map();
  const calls = [];
  const find = (i) => [...runs.entries()].find(([k]) => { const [a, b] = k.split('-').map(Number); return a <= i && i <= b; });
  return {
    runs, calls,
    putRun: async (ih, first, bufs) => {
      calls.push(`${first}+${bufs.length}`);
      const all = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
      let o = 0;
      for (const b of bufs) { all.set(b, o); o += b.length; }
      runs.set(`${first}-${first + bufs.length - 1}`, { all, live: new Set(bufs.map((_, k) => first + k)) });
    },
    put: async () => { throw new Error('batched stores write runs'); },
    get: async (ih, i) => {
      const e = find(i);
      if (!e) return null;
      const [a] = e[0].split('-').map(Number);
      return e[1].all.slice((i - a) * pieceLength, (i - a + 1) * pieceLength);
    },
    drop: async (ih, i) => {
      for (const [k, r] of runs) if (r.live.delete(i) && r.live.size === 0) runs.delete(k);
    },
  };
};

const layout = (/** @type {number[]} */ sizes, /** @type {number} */ pieceLength) => filesLayout(sizes, pieceLength, sha256Hex);

test('pieces are written in runs once their time is up, and a whole file needs none', async () => {
  const { files, length, piece, data } = await layout([40, 30], 8); // pieces 0-4 file 0, 5-8 both/file 1
  const fs = mapStore();
  const ps = runStore(8);
  const torrent = { infoHash: 'b'.repeat(40) };
  const kept = new Set();
  const st = new (chunkStoreClass(fs, verify, () => {}, ps))(8, { length, files, torrent, kept });
  for (const i of [0, 1, 2, 6, 7]) await call((cb) => st.put(i, piece(i), cb));
  assert.equal(ps.calls.length, 0, 'nothing written before the batch is due');
  await sleep(BATCH_MS + 50);
  assert.deepEqual(ps.calls.sort(), ['0+3', '6+2'], 'one write per run of consecutive pieces');
  assert.deepEqual([...kept].sort(), [0, 1, 2, 6, 7]);
  // the rest of file 0 arrives: the file is kept before the batch is due, so pieces 3 and 4 (inside
  // it) are never written, and the written ones inside it are dropped
  for (const i of [3, 4]) await call((cb) => st.put(i, piece(i), cb));
  assert.deepEqual(new Uint8Array(await fs.m.get(files[0].name).arrayBuffer()), data[0]);
  await sleep(BATCH_MS + 50);
  assert.deepEqual(ps.calls.sort(), ['0+3', '6+2']);
  assert.deepEqual([...ps.runs.keys()], ['6-7'], 'the run of pieces inside the kept file is gone');
  st.close();
});

test('a page going away writes what waits at once; a restarted store finishes from the runs', async () => {
  const { files, length, piece, data, count } = await layout([20, 50], 8);
  const fs = mapStore();
  const ps = runStore(8);
  const torrent = { infoHash: 'c'.repeat(40) };
  const listeners = new Map();
  globalThis.addEventListener = (t, f) => listeners.set(t, f);
  globalThis.removeEventListener = (t) => listeners.delete(t);
  try {
    const st1 = new (chunkStoreClass(fs, verify, () => {}, ps))(8, { length, files, torrent, kept: new Set() });
    for (const i of [3, 4, 5]) await call((cb) => st1.put(i, piece(i), cb));
    listeners.get('pagehide')();
    await sleep(5);
    assert.deepEqual(ps.calls, ['3+3'], 'written on pagehide, not after BATCH_MS');
    st1.close();
    assert.equal(listeners.size, 0, 'close removes the listeners');
    const st2 = new (chunkStoreClass(fs, verify, () => {}, ps))(8, { length, files, torrent, kept: new Set([3, 4, 5]) });
    assert.deepEqual(await call((cb) => st2.get(4, cb)), piece(4));
    for (let i = 0; i < count; i++) if (i < 3 || i > 5) await call((cb) => st2.put(i, piece(i), cb));
    await sleep(20);
    for (let i = 0; i < data.length; i++) {
      assert.deepEqual(new Uint8Array(await fs.m.get(files[i].name).arrayBuffer()), data[i]);
    }
    await sleep(BATCH_MS + 50);
    assert.equal(ps.runs.size, 0, 'every piece lies in kept files: no run left');
    st2.close();
  } finally {
    delete globalThis.addEventListener;
    delete globalThis.removeEventListener;
  }
});

test('a stored file is read ahead for the pieces peers ask next', async () => {
  const { files, length, whole, data } = await layout([64 * 5 + 3], 64);
  const fs = mapStore();
  let reads = 0;
  const blob = new Blob([data[0]]);
  const orig = blob.slice.bind(blob);
  blob.slice = (...a) => { reads++; return orig(...a); };
  await fs.put(files[0].name, blob);
  const st = new (chunkStoreClass(fs, verify, () => {}))(64, { length, files });
  for (let i = 0; i < 6; i++) {
    for (let o = 0; o < 64; o += 16) {
      const len = Math.min(16, Math.max(0, length - i * 64 - o));
      if (len === 0) break;
      assert.deepEqual(await call((cb) => st.get(i, { offset: o, length: len }, cb)), whole.slice(i * 64 + o, i * 64 + o + len));
    }
  }
  assert.equal(reads, 1, 'one read of the stored file for all its pieces');
});

test('PieceStore keeps runs as one entry each, finds pieces in them, deletes a run once all its pieces are dropped', async () => {
  const entries = new Map();
  const cache = {
    put: async (k, res) => { entries.set(k, await res.blob()); },
    match: async (k) => (entries.has(k) ? new Response(entries.get(k)) : undefined),
    delete: async (k) => entries.delete(typeof k === 'string' ? k : k.url),
    keys: async () => [...entries.keys()].map((url) => ({ url })),
  };
  globalThis.caches = { open: async () => cache };
  globalThis.self ??= globalThis;
  const hadLocation = 'location' in globalThis;
  if (!hadLocation) globalThis.location = { href: 'http://127.0.0.1/' };
  try {
    const { PieceStore } = await import('../src/common/pieces.js');
    const ih = 'd'.repeat(40);
    const ps = new PieceStore('/');
    const p = (i, n = 8) => bytes(n, i);
    await ps.putRun(ih, 10, [p(10), p(11), p(12, 5)]);
    await ps.put(ih, 20, p(20));
    assert.deepEqual([...entries.keys()].map((k) => k.replace(/.*\//, '')).sort(), ['10-12', '20']);
    assert.deepEqual(await ps.get(ih, 11, 8), p(11));
    assert.deepEqual(await ps.get(ih, 12, 8), p(12, 5), 'the last, shorter piece of a run');
    assert.deepEqual(await ps.get(ih, 20, 8), p(20));
    assert.equal(await ps.get(ih, 13, 8), null);
    // a new agent lists what is kept
    const again = new PieceStore('/');
    assert.deepEqual([...(await again.all()).get(ih)].sort((a, b) => a - b), [10, 11, 12, 20]);
    assert.deepEqual(await again.get(ih, 10, 8), p(10));
    await again.drop(ih, 10);
    await again.drop(ih, 11);
    assert.equal(entries.size, 2, 'a run stays while one of its pieces is live');
    assert.equal(await again.get(ih, 10, 8), null, 'a dropped piece is gone');
    await again.drop(ih, 12);
    assert.deepEqual([...entries.keys()].map((k) => k.replace(/.*\//, '')), ['20']);
    // a piece written again in a new run leaves the old one
    await again.putRun(ih, 19, [p(19), p(20)]);
    assert.deepEqual([...entries.keys()].map((k) => k.replace(/.*\//, '')), ['19-20'], 'the old entry is deleted once empty');
    await again.retain(new Set());
    assert.equal(entries.size, 0);
  } finally {
    delete globalThis.caches;
    if (!hadLocation) delete globalThis.location;
  }
});
