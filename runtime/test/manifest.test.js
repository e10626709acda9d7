import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, referencedHashes } from '../src/common/manifest.js';
import { prefetchPlan } from '../src/agent/prefetch.js';
import { sha256Hex, verify } from '../src/common/verify.js';

const H = (c) => c.repeat(64);
const good = () => ({
  version: 1, generator: 'planktos 0.1.0', base: '/p/', revision: 'r1',
  trackers: ['wss://t/announce'], webseeds: ['https://h/p/planktos/'],
  torrents: [{ infohash: 'a'.repeat(40), url: 'planktos/torrents/x.torrent', pieceLength: 16384, length: 10 }],
  files: {
    'index.html': { sha256: H('1'), size: 10, type: 'text/html; charset=utf-8', torrent: 0 },
    'big.webm': { sha256: H('2'), size: 5000, type: 'video/webm', torrent: 0 },
    'copy.html': { sha256: H('1'), size: 10, type: 'text/html; charset=utf-8', torrent: 0 },
    'small.css': { sha256: H('3'), size: 100, type: 'text/css', torrent: 0 },
    'empty.txt': { sha256: H('e'), size: 0, type: 'text/plain', torrent: -1 },
  },
  runtime: { prefetch: 'all', prefetchLimit: 0, p2p: 'on', iceServers: [] },
});

test('parseManifest accepts the contract and fills defaults', () => {
  const m = parseManifest(good());
  assert.equal(m.revision, 'r1');
  assert.equal(m.runtime.p2p, 'on');
  const bare = good();
  delete bare.runtime;
  delete bare.files['index.html'].torrent;
  const d = parseManifest(bare);
  assert.deepEqual(d.runtime, { prefetch: 'all', prefetchLimit: 0, p2p: 'on', iceServers: [], badge: false, report: false });
  assert.deepEqual([d.sequence, d.key, d.disabled], [0, '', false]);
  assert.equal(d.files['index.html'].torrent, -1);
  assert.deepEqual([...referencedHashes(m)].sort(), [H('1'), H('2'), H('3'), H('e')]);
});

test('parseManifest refuses what the runtime could trip over', () => {
  const bad = [
    null, [], 'x', { ...good(), version: 2 }, { ...good(), revision: '' }, { ...good(), files: [] },
  ];
  const mut = (f) => { const m = good(); f(m); return m; };
  bad.push(mut((m) => { m.files['index.html'].sha256 = 'xyz'; }));
  bad.push(mut((m) => { m.files['index.html'].size = -1; }));
  bad.push(mut((m) => { m.files['index.html'].size = '10'; }));
  bad.push(mut((m) => { m.files['index.html'].torrent = 1; }));
  bad.push(mut((m) => { m.files['/abs'] = m.files['index.html']; }));
  bad.push(mut((m) => { m.torrents[0].infohash = 'zz'; }));
  bad.push(mut((m) => { m.files['x'] = null; }));
  for (const b of bad) assert.throws(() => parseManifest(b), undefined, JSON.stringify(b)?.slice(0, 80));
});

test('prefetchPlan: pages first, small before big, unique, under the limit', () => {
  const m = parseManifest(good());
  assert.deepEqual(prefetchPlan(m, new Set(), false).map((i) => i.key), ['index.html', 'small.css', 'big.webm']);
  assert.deepEqual(prefetchPlan(m, new Set([H('1')]), false).map((i) => i.key), ['small.css', 'big.webm']);
  m.runtime.prefetchLimit = 200;
  assert.deepEqual(prefetchPlan(m, new Set(), false).map((i) => i.key), ['index.html', 'small.css']);
  m.runtime.prefetchLimit = 0;
  assert.deepEqual(prefetchPlan(m, new Set(), true), []);
  m.runtime.prefetch = 'visited';
  assert.deepEqual(prefetchPlan(m, new Set(), false), []);
});

test('sha256', async () => {
  const e = new TextEncoder().encode('');
  assert.equal(await sha256Hex(e), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.ok(await verify(new TextEncoder().encode('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'));
  assert.ok(!(await verify(new TextEncoder().encode('abd'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')));
});
