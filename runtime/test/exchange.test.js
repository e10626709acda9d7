// The ut_planktos codec (src/common/exchange.js) against the Go one: manifest/testdata/exchange.json holds
// one message of each type as manifest/exchange.go encodes it, and the site swarm of golden.json's key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import bencode from 'bencode';
import { MAX_ENVELOPE, Msg, PIECE_SIZE, decodeMessage, encodeMessage, pieceLength, pieces, siteSwarm } from '../src/common/exchange.js';

const testdata = new URL('../../manifest/testdata/', import.meta.url);
/** @param {string} name */
const read = (name) => JSON.parse(readFileSync(new URL(name, testdata), 'utf8'));
const golden = read('exchange.json');
const hex = (/** @type {Uint8Array} */ b) => Buffer.from(b).toString('hex');

test('every message of exchange.json decodes to its type and re-encodes to the same bytes', () => {
  const types = /** @type {Record<string, number>} */ (Msg);
  assert.deepEqual(Object.keys(golden.messages).sort(), Object.keys(types).sort());
  for (const [name, h] of Object.entries(golden.messages)) {
    const m = decodeMessage(Buffer.from(/** @type {string} */ (h), 'hex'));
    assert.ok(m, name);
    assert.equal(m.type, types[name], name);
    assert.equal(hex(encodeMessage(m)), h, name);
  }
  const data = decodeMessage(Buffer.from(golden.messages.data, 'hex'));
  assert.equal(Buffer.from(/** @type {Uint8Array} */ (data?.data)).toString(), 'piece bytes');
  assert.equal(data?.sequence, 1764633600000);
});

test('the site swarm computed here is the Go one for golden.json\'s key', async () => {
  assert.equal(await siteSwarm(read('golden.json').key), golden.siteSwarm);
  await assert.rejects(siteSwarm(btoa('short')));
});

test('messages that are not ut_planktos dictionaries decode to null; unknown keys are ignored', () => {
  const enc = (/** @type {any} */ v) => bencode.encode(v);
  for (const bad of [new Uint8Array(), Buffer.from('garbage'), enc([1, 2]), enc('str'), enc(7),
    enc({ msg_type: -1 }), enc({ msg_type: 0, sequence: -5 }), enc({ msg_type: 1, piece: 'x' }), enc({ msg_type: 0, size: 2 ** 60 })]) {
    assert.equal(decodeMessage(bad), null, Buffer.from(bad).toString());
  }
  assert.deepEqual(decodeMessage(enc({ msg_type: 0, sequence: 3, size: 9, extra: 'future' })), { type: 0, sequence: 3, piece: 0, size: 9 });
  assert.equal(decodeMessage(enc({ msg_type: 7 }))?.type, 7);
});

test('an envelope is cut into PIECE_SIZE pieces, the last one shorter', () => {
  assert.equal(pieces(1), 1);
  assert.equal(pieces(PIECE_SIZE), 1);
  assert.equal(pieces(PIECE_SIZE + 1), 2);
  assert.equal(pieces(MAX_ENVELOPE), MAX_ENVELOPE / PIECE_SIZE);
  assert.equal(pieceLength(PIECE_SIZE + 1, 0), PIECE_SIZE);
  assert.equal(pieceLength(PIECE_SIZE + 1, 1), 1);
  assert.equal(pieceLength(PIECE_SIZE + 1, 2), 0);
  assert.equal(pieceLength(100, -1), 0);
});
