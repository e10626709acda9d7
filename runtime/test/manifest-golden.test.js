// The manifest contract between the Go packager and this runtime. manifest/testdata/golden.json is what
// the Go manifest package encodes (manifest/manifest_test.go writes and checks it); here src/common/manifest.js
// must decode the same values from it, refuse the same manifests (refused.json), and name the package's
// files as the Go layout does (layout.json). A schema change breaks both sides or neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parseManifest } from '../src/common/manifest.js';
import { badgeURL, fileURL, manifestURL, signatureURL } from '../src/common/names.js';
import { isInternal } from '../src/sw/routing.js';

const testdata = new URL('../../manifest/testdata/', import.meta.url);
/** @param {string} name */
const read = (name) => JSON.parse(readFileSync(new URL(name, testdata), 'utf8'));
const layout = read('layout.json');
/** @param {string} c */
const H = (c) => c.repeat(64);

/** Fields of golden.json the runtime reads, and those it knowingly leaves alone. */
const fields = {
  manifest: { read: ['version', 'revision', 'base', 'trackers', 'torrents', 'files', 'runtime', 'sequence', 'key', 'disabled'], ignored: ['generator', 'webseeds'] },
  torrent: { read: ['infohash', 'url', 'pieceLength', 'length'], ignored: [] },
  entry: { read: ['sha256', 'size', 'type', 'torrent'], ignored: [] },
  // siteWorkers reach planktos.sw.js as the importScripts prelude the packager writes, not through the manifest
  runtime: { read: ['prefetch', 'prefetchLimit', 'p2p', 'iceServers', 'badge', 'report'], ignored: ['version', 'siteWorkers'] },
  iceServer: { read: ['urls', 'username', 'credential'], ignored: [] },
};

/** @param {string} what @param {object} obj @param {{read: string[], ignored: string[]}} known */
function knownKeys(what, obj, known) {
  for (const k of Object.keys(obj)) {
    assert.ok(known.read.includes(k) || known.ignored.includes(k),
      `golden.json's ${what} has a field "${k}" the runtime neither reads nor knowingly ignores: update src/common/manifest.js and this test`);
  }
}

test('golden.json has no field the runtime does not know of', () => {
  const raw = read('golden.json');
  knownKeys('manifest', raw, fields.manifest);
  for (const t of raw.torrents) knownKeys('torrent', t, fields.torrent);
  for (const e of Object.values(raw.files)) knownKeys('entry', e, fields.entry);
  knownKeys('runtime', raw.runtime, fields.runtime);
  for (const s of raw.runtime.iceServers) knownKeys('ICE server', s, fields.iceServer);
});

test('parseManifest decodes golden.json to the values the Go parser decodes', () => {
  const m = parseManifest(read('golden.json'));
  const ih0 = 'ab'.repeat(20);
  const ih1 = '0f'.repeat(20);
  const html = 'text/html; charset=utf-8';
  const js = 'text/javascript; charset=utf-8';
  assert.deepEqual(m, {
    version: 1,
    revision: 'f5e6de7bbcf1a1aa01a14a47da31d9d0739c4e216ab8d9b2d55131c69365fd1e',
    base: '/project/',
    trackers: ['wss://tracker.example.org/announce', 'ws://127.0.0.1:8000/announce'],
    torrents: [
      { infohash: ih0, url: `planktos/torrents/${ih0}.torrent`, pieceLength: 16384, length: 20010 },
      { infohash: ih1, url: `planktos/torrents/${ih1}.torrent`, pieceLength: 262144, length: 1048576 },
    ],
    files: {
      '100% #1?.html': { sha256: H('2'), size: 20000, type: html, torrent: 0 },
      'a/b/c/index.html': { sha256: H('e'), size: 0, type: html, torrent: -1 },
      'copy of index.html': { sha256: H('1'), size: 10, type: html, torrent: 0 },
      'index.html': { sha256: H('1'), size: 10, type: html, torrent: 0 },
      'inline/push-sw.js': { sha256: H('6'), size: 0, type: js, torrent: -1 },
      'media/clip.webm': { sha256: H('4'), size: 1048576, type: 'video/webm', torrent: 1 },
      'odd name with space.css': { sha256: H('f'), size: 0, type: 'text/css; charset=utf-8', torrent: -1 },
      'R&D <draft>.html': { sha256: H('d'), size: 0, type: html, torrent: -1 },
      'sw.js': { sha256: H('5'), size: 0, type: js, torrent: -1 },
      'ünïcödé/日本語.txt': { sha256: H('3'), size: 0, type: 'text/plain; charset=utf-8', torrent: -1 },
    },
    runtime: {
      prefetch: 'visited',
      prefetchLimit: 52428800,
      p2p: 'download-only',
      iceServers: [
        { urls: ['stun:stun.example.org:3478'] },
        { urls: ['turn:turn.example.org:3478', 'turns:turn.example.org:5349'], username: 'visitor', credential: 's3cr3t:"quoted"' },
      ],
      badge: true,
      report: true,
    },
    sequence: 1764633600000,
    key: 'V4HIhf3q0SFExkSr/A3X6SUj1/2kJjw00YAvII38FxM=',
    disabled: true,
  });
});

/**
 * Applies one case of refused.json to doc: the value at c.path replaced by c.value, or removed.
 * @param {any} doc @param {{path: string[], value?: unknown, delete?: boolean}} c
 */
function apply(doc, c) {
  let at = doc;
  for (const k of c.path.slice(0, -1)) at = at[Array.isArray(at) ? Number(k) : k];
  const last = c.path[c.path.length - 1];
  if (c.delete) delete at[last];
  else at[Array.isArray(at) ? Number(last) : last] = c.value;
}

test('parseManifest refuses what the Go parser refuses (refused.json)', () => {
  const cases = read('refused.json');
  assert.ok(cases.length >= 5);
  for (const c of cases) {
    const doc = read('golden.json');
    apply(doc, c);
    assert.throws(() => parseManifest(doc), /^Error: manifest:/, `parseManifest accepted a manifest where ${c.why}`);
  }
});

test('names.js and routing.js name the package files as the Go layout does (layout.json)', () => {
  const base = '/project/';
  assert.equal(fileURL(base, H('a')), base + layout.filesPrefix + H('a'));
  assert.equal(manifestURL(base), base + layout.manifest);
  assert.equal(signatureURL(base), base + layout.signature);
  assert.equal(badgeURL(base), base + layout.badge);
  for (const t of read('golden.json').torrents) {
    assert.equal(t.url, layout.torrentsPrefix + t.infohash + layout.torrentSuffix);
  }
  for (const rel of [layout.serviceWorker, layout.manifest, layout.install, layout.peer, layout.rootTorrent,
    layout.filesPrefix + H('a'), layout.torrentsPrefix + 'ab'.repeat(20) + layout.torrentSuffix]) {
    assert.ok(isInternal(rel), `${rel} is planktos's own, never a site file`);
  }
  assert.ok(!isInternal('index.html'));
});

/**
 * Paths below the base that only the runtime uses, never files of a package (the packager never writes
 * them, so they cannot collide): the chunk store's CacheStorage keys, the worker's stats endpoint, its
 * debug switch's CacheStorage key, the trackers' report endpoint (agent/report.js; on a tracker's host), and
 * the CacheStorage key of the manifest a peer's replaced (sw/manifest.js's fallback).
 */
const runtimeOnly = ['planktos/pieces/', 'planktos/stats', 'planktos/debug', 'planktos/report', 'planktos/manifest.fallback'];

test('every package path written in the runtime sources is one of layout.json', () => {
  const src = new URL('../src/', import.meta.url);
  const paths = new Set([...Object.values(layout), ...runtimeOnly]);
  let seen = 0;
  for (const name of readdirSync(src, { recursive: true })) {
    if (!String(name).endsWith('.js')) continue;
    const text = readFileSync(new URL(String(name), src), 'utf8');
    for (const [p] of text.matchAll(/planktos(?:\.sw\.js|\/[\w.\-/]*)/g)) {
      seen++;
      assert.ok(paths.has(p), `src/${name} names ${p}: neither a package path of manifest/testdata/layout.json nor one of runtimeOnly here`);
    }
  }
  assert.ok(seen >= 5, `only ${seen} package paths found in src/`);
});
