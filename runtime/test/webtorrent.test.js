// What agent/webtorrent.js relies on in the pinned WebTorrent: if an upgrade changes any of it, this fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Wire from 'bittorrent-protocol';
import File from 'webtorrent/lib/file.js';
import { BAD_PIECE, PINNED, allow, onBadPiece, pieceSpan, refuse } from '../src/agent/webtorrent.js';

const require = createRequire(import.meta.url);
const wtDir = require.resolve('webtorrent/package.json').replace(/package\.json$/, '');
const read = (/** @type {string} */ p) => readFileSync(wtDir + p, 'utf8');

test('the installed and the pinned WebTorrent are the version the adapter was checked against', () => {
  assert.equal(JSON.parse(read('package.json')).version, PINNED);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  assert.equal(pkg.dependencies.webtorrent, PINNED);
});

test('pieceSpan is what WebTorrent\'s File computes', () => {
  const torrent = { pieceLength: 16384, _startAsDeselected: true, select() {}, deselect() {} };
  for (const [offset, length] of [[0, 1], [0, 16384], [0, 16385], [16383, 2], [20000, 40000], [32768, 0], [5, 0], [0, 0]]) {
    const f = new File(torrent, { name: 'f', path: 'f', length, offset });
    assert.deepEqual(pieceSpan(torrent, { offset, length }), [f._startPiece, f._endPiece], `offset ${offset} length ${length}`);
  }
});

test('the torrent internals the adapter calls exist, in the bundle the agent loads too', () => {
  const lib = read('lib/torrent.js');
  const dist = read('dist/webtorrent.min.js');
  for (const [method, signature] of [['_markUnverified', '_markUnverified (index)'], ['_verifyPiecesUsingHash', '_verifyPiecesUsingHash (pieces, cb)'], ['_checkDone', '_checkDone ()']]) {
    assert.ok(lib.includes(signature), `lib/torrent.js has ${signature}`);
    assert.ok(dist.includes(method + '('), `the bundle has ${method}`);
  }
});

test('a failed piece is reported as the warning onBadPiece reads', () => {
  const lib = read('lib/torrent.js');
  const template = lib.match(/self\.emit\('warning', new Error\(`(Piece \$\{index\} failed verification)`\)\)/);
  assert.ok(template, 'lib/torrent.js emits the failed-verification warning');
  assert.match(template[1].replace('${index}', '7'), BAD_PIECE);
  assert.ok(read('dist/webtorrent.min.js').includes('} failed verification'), 'so does the bundle');
  /** @type {Record<string, Function>} */
  const on = {};
  const torrent = { on: (/** @type {string} */ ev, /** @type {Function} */ fn) => { on[ev] = fn; } };
  /** @type {number[]} */
  const bad = [];
  onBadPiece(torrent, (i) => bad.push(i));
  on.warning(new Error('Piece 7 failed verification'));
  on.warning(new Error('some other warning'));
  assert.deepEqual(bad, [7]);
});

test('refuse keeps a real wire choked through WebTorrent\'s unchoke; allow unchokes it', async () => {
  const a = new Wire();
  const b = new Wire();
  a.pipe(b).pipe(a);
  const ih = 'aa'.repeat(20);
  a.handshake(ih, 'a1'.repeat(20));
  b.handshake(ih, 'b1'.repeat(20));
  /** @type {string[]} */
  const seen = [];
  b.on('choke', () => seen.push('choke'));
  b.on('unchoke', () => seen.push('unchoke'));
  const settle = () => new Promise((r) => setTimeout(r, 20));
  a.unchoke();
  await settle();
  refuse(a);
  a.unchoke(); // what WebTorrent's rechoke does to every interested peer
  await settle();
  assert.equal(a.amChoking, true);
  allow(a);
  await settle();
  assert.equal(a.amChoking, false);
  assert.deepEqual(seen, ['unchoke', 'choke', 'unchoke']);
  a.destroy();
  b.destroy();
});
