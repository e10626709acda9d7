import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOIN_ALL, MAX_JOINED, Presence, leastUsed, seedSet, torrentsByHash } from '../src/agent/joins.js';

const ih = (/** @type {number} */ i) => i.toString(16).padStart(40, '0');
const sha = (/** @type {number} */ i) => i.toString(16).padStart(64, '0');

/** A manifest of n torrents with two files each, and one file in no torrent. */
function manifest(n) {
  const torrents = Array.from({ length: n }, (_, i) => ({ infohash: ih(i), url: `t/${i}`, pieceLength: 16384, length: 1 }));
  /** @type {Record<string, any>} */
  const files = { 'loose.txt': { sha256: sha(9999), size: 1, type: 'text/plain', torrent: -1 } };
  for (let i = 0; i < 2 * n; i++) files[`f${i}`] = { sha256: sha(i), size: 1, type: 'text/plain', torrent: i >> 1 };
  return /** @type {any} */ ({ torrents, files });
}

test('torrentsByHash maps each file to its torrent, and skips files in none', () => {
  const where = torrentsByHash(manifest(3));
  assert.equal(where.size, 6);
  assert.equal(where.get(sha(5))?.infohash, ih(2));
  assert.equal(where.get(sha(9999)), undefined);
});

test('seedSet joins every torrent of a small site, even with nothing stored', () => {
  const where = torrentsByHash(manifest(JOIN_ALL));
  assert.equal(seedSet(where, new Set(), 100).length, JOIN_ALL);
  assert.equal(seedSet(where, new Set(), 3).length, 3);
  assert.equal(seedSet(torrentsByHash(manifest(JOIN_ALL + 1)), new Set(), 100).length, 0);
});

test('seedSet joins the torrents of stored files only, each once, at most cap', () => {
  const where = torrentsByHash(manifest(100));
  const stored = new Set([sha(0), sha(1), sha(6), sha(9999)]);
  const got = seedSet(where, stored, 10).map((t) => t.infohash).sort();
  assert.deepEqual(got, [ih(0), ih(3)]);
  const all = new Set(Array.from({ length: 200 }, (_, i) => sha(i)));
  assert.equal(seedSet(where, all, MAX_JOINED).length, MAX_JOINED);
  assert.equal(seedSet(where, all, 0).length, 0);
});

test('seedSet spreads visitors over the torrents when they keep more than they join', () => {
  const where = torrentsByHash(manifest(100));
  const all = new Set(Array.from({ length: 200 }, (_, i) => sha(i)));
  const seen = new Set();
  for (let v = 0; v < 20; v++) for (const t of seedSet(where, all, MAX_JOINED)) seen.add(t.infohash);
  assert.ok(seen.size > 90, `20 visitors seed only ${seen.size} of 100 torrents`);
});

test('leastUsed picks the oldest idle torrent, never a busy one', () => {
  const joined = new Map([
    ['a', { used: 5, busy: 1 }],
    ['b', { used: 9, busy: 0 }],
    ['c', { used: 7, busy: 0 }],
  ]);
  assert.equal(leastUsed(joined), 'c');
  joined.get('c').busy = 2;
  joined.get('b').busy = 1;
  assert.equal(leastUsed(joined), null);
});

test('Presence: alone only once every tracker answered with nobody else', () => {
  const p = new Presence(2);
  assert.equal(p.alone, false);
  p.update({ announce: 'ws://a', complete: 0, incomplete: 1 }); // the announcer itself
  assert.equal(p.alone, false); // the second tracker has not answered
  p.update({ announce: 'ws://b', complete: 1, incomplete: 0 });
  assert.equal(p.alone, true);
  p.update({ announce: 'ws://b', complete: 1, incomplete: 2 });
  assert.equal(p.alone, false);
  assert.equal(p.others, 2);
  assert.equal(new Presence(0).alone, true);
});
