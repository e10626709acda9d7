// The chunk store WebTorrent reads and writes, over an in-memory FileStore (the real one is
// CacheStorage, exercised in Chromium by the e2e tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkStoreClass } from '../src/agent/chunk-store.js';
import { sha256Hex, verify } from '../src/common/verify.js';
import { layout as filesLayout } from './layout.js';


// three files of 10, 25 and 7 bytes in pieces of 8: pieces span file boundaries
const layout = () => filesLayout([10, 25, 7], 8, sha256Hex);

const mapStore = () => {
  const m = new Map();
  return { m, get: async (s) => m.get(s) ?? null, put: async (s, b) => { m.set(s, b); } };
};
const call = (fn) => new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

test('pieces from peers become verified files; reads come back from the store', async () => {
  const { data, files, whole, length } = await layout();
  const fs = mapStore();
  const committed = [];
  const Store = chunkStoreClass(fs, verify, (s) => committed.push(s));
  const st = new Store(8, { length, files });
  const pieces = Math.ceil(length / 8);
  for (let i = pieces - 1; i >= 0; i--) {
    await call((cb) => st.put(i, whole.slice(i * 8, i * 8 + 8), cb));
  }
  assert.deepEqual(committed.sort(), files.map((f) => f.name).sort());
  for (let i = 0; i < data.length; i++) {
    assert.deepEqual(new Uint8Array(await fs.m.get(files[i].name).arrayBuffer()), data[i]);
  }
  assert.equal(st.mem.size, 0, 'pieces inside kept files are released');
  for (let i = 0; i < pieces; i++) {
    const got = await call((cb) => st.get(i, cb));
    assert.deepEqual(got, whole.slice(i * 8, i * 8 + 8), `piece ${i}`);
  }
  assert.deepEqual(await call((cb) => st.get(1, { offset: 3, length: 4 }, cb)), whole.slice(11, 15));
});

test('seeding from a store filled elsewhere; missing files fail the read', async () => {
  const { data, files, whole, length } = await layout();
  const fs = mapStore();
  await fs.put(files[0].name, new Blob([data[0]]));
  const st = new (chunkStoreClass(fs, verify, () => {}))(8, { length, files });
  assert.deepEqual(await call((cb) => st.get(0, cb)), whole.slice(0, 8));
  await assert.rejects(call((cb) => st.get(1, cb)), /not in store/);
  await fs.put(files[1].name, new Blob([data[1]]));
  assert.deepEqual(await call((cb) => st.get(1, cb)), whole.slice(8, 16));
});

test('a corrupt file is never kept', async () => {
  const { files, whole, length } = await layout();
  const fs = mapStore();
  const st = new (chunkStoreClass(fs, verify, () => {}))(8, { length, files });
  const bad = whole.slice();
  bad[3] ^= 1;
  for (let i = 0; i < Math.ceil(length / 8); i++) await call((cb) => st.put(i, bad.slice(i * 8, i * 8 + 8), cb));
  assert.equal(fs.m.has(files[0].name), false);
  assert.equal(fs.m.has(files[1].name), true);
});

const mapPieces = () => {
  const m = new Map();
  const k = (ih, i) => `${ih}/${i}`;
  return {
    m,
    get: async (ih, i) => m.get(k(ih, i)) ?? null,
    put: async (ih, i, b) => { m.set(k(ih, i), new Uint8Array(b)); },
    drop: async (ih, i) => { m.delete(k(ih, i)); },
  };
};

test('pieces survive a restart: a new store finishes the files from kept pieces, then drops them', async () => {
  const { data, files, whole, length } = await layout();
  const fs = mapStore();
  const ps = mapPieces();
  const torrent = { infoHash: 'a'.repeat(40) };
  const pieces = Math.ceil(length / 8);
  // first session: pieces 0..2 arrive, then the page goes away
  const kept1 = new Set();
  const st1 = new (chunkStoreClass(fs, verify, () => {}, ps))(8, { length, files, torrent, kept: kept1 });
  for (let i = 0; i < 3; i++) await call((cb) => st1.put(i, whole.slice(i * 8, i * 8 + 8), cb));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(fs.m.has(files[0].name), true, 'file 0 (pieces 0-1) is kept');
  // piece 1 spans files 0 and 1, piece 2 lies in file 1: both kept until file 1 is whole; piece 0 dropped
  assert.deepEqual([...ps.m.keys()].sort(), [`${torrent.infoHash}/1`, `${torrent.infoHash}/2`]);
  st1.close();
  // second session: the agent knows piece 2 is kept, reads it without a peer, and completes file 1
  const kept2 = new Set([1, 2]);
  const st2 = new (chunkStoreClass(fs, verify, () => {}, ps))(8, { length, files, torrent, kept: kept2 });
  assert.deepEqual(await call((cb) => st2.get(2, cb)), whole.slice(16, 24));
  for (let i = 3; i < pieces; i++) await call((cb) => st2.put(i, whole.slice(i * 8, i * 8 + 8), cb));
  await new Promise((r) => setTimeout(r, 10));
  for (let i = 0; i < data.length; i++) {
    assert.deepEqual(new Uint8Array(await fs.m.get(files[i].name).arrayBuffer()), data[i]);
  }
  assert.equal(ps.m.size, 0, 'every kept piece lies in kept files now: all dropped');
  assert.equal(kept2.size, 0);
});
