// Signed manifests (src/common/signed.js) against what the Go manifest package signs: golden.json's
// exact bytes, golden.sig made with the test-only golden.key (manifest/manifest_test.go writes both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkEnvelope, envelopeOf, fromBase64, openEnvelope, toBase64 } from '../src/common/signed.js';
import { manifestFrom, manifestOf } from '../src/common/manifest.js';

const testdata = new URL('../../manifest/testdata/', import.meta.url);
const bytes = new Uint8Array(readFileSync(new URL('golden.json', testdata)));
const sig = /** @type {Uint8Array} */ (fromBase64(readFileSync(new URL('golden.sig', testdata), 'utf8')));
const key = JSON.parse(new TextDecoder().decode(bytes)).key;

/** A fresh Ed25519 key pair: its base64 public key and a signer. */
async function keyPair() {
  const kp = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']));
  const pub = toBase64(new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey)));
  const sign = async (/** @type {Uint8Array} */ b) => new Uint8Array(await crypto.subtle.sign('Ed25519', kp.privateKey, b));
  return { pub, sign };
}

test('openEnvelope accepts golden.json and golden.sig under golden\'s key', async () => {
  assert.equal(sig.length, 64);
  const got = await openEnvelope(key, envelopeOf(sig, bytes));
  assert.ok(got);
  assert.deepEqual([got.manifest.sequence, got.manifest.key, got.manifest.disabled], [1764633600000, key, true]);
  assert.deepEqual(got.bytes, bytes);
  assert.deepEqual(got.sig, sig);
});

test('openEnvelope refuses a changed byte, another key, a truncated envelope', async () => {
  const env = envelopeOf(sig, bytes);
  for (const i of [0, 63, 64, 100, env.length - 1]) {
    const bad = env.slice();
    bad[i] ^= 1;
    assert.equal(await openEnvelope(key, bad), null, `byte ${i} changed`);
  }
  const other = await keyPair();
  assert.equal(await openEnvelope(other.pub, env), null, 'another key');
  for (const n of [0, 10, 64, 65, env.length - 1]) assert.equal(await openEnvelope(key, env.slice(0, n)), null, `${n} bytes`);
  assert.equal(await openEnvelope('not base64!', env), null);
  assert.equal(await openEnvelope(key.slice(4), env), null, 'a short key');
  // @ts-expect-error: not an envelope at all
  assert.equal(await openEnvelope(key, null), null);
});

test('checkEnvelope says why: a valid signature over a manifest of another key, or without a sequence, is invalid', async () => {
  const other = await keyPair();
  const golden = JSON.parse(new TextDecoder().decode(bytes));
  const signed = async (/** @type {object} */ m) => {
    const b = new TextEncoder().encode(JSON.stringify(m));
    return envelopeOf(await other.sign(b), b);
  };
  assert.deepEqual(await checkEnvelope(other.pub, await signed(golden)), { refused: 'invalid' }, 'golden\'s key inside');
  assert.deepEqual(await checkEnvelope(other.pub, await signed({ ...golden, key: other.pub, sequence: 0 })), { refused: 'invalid' });
  assert.deepEqual(await checkEnvelope(other.pub, await signed({ ...golden, key: other.pub, version: 2 })), { refused: 'invalid' });
  assert.deepEqual(await checkEnvelope(other.pub, envelopeOf(await other.sign(new Uint8Array([1])), new Uint8Array([1]))), { refused: 'invalid' }, 'not JSON');
  const ok = await checkEnvelope(other.pub, await signed({ ...golden, key: other.pub, sequence: 2 }));
  assert.ok('manifest' in ok && ok.manifest.sequence === 2);
  assert.deepEqual(await checkEnvelope(key, await signed({ ...golden, sequence: 2 })), { refused: 'signature' }, 'signed by another key');
});

test('base64 round trip', () => {
  const b = Uint8Array.from({ length: 70000 }, (_, i) => i * 7);
  assert.deepEqual(fromBase64(toBase64(b)), b);
  assert.equal(fromBase64('#'), null);
});

test('manifestFrom reads the exact bytes and applies the preview\'s override headers', async () => {
  const trackers = ['ws://127.0.0.1:8080/announce'];
  const ice = [{ urls: ['stun:127.0.0.1:3478'] }, { urls: 'turn:t.example.org', username: 'u', credential: 'c' }];
  const plain = await manifestFrom(new Response(bytes));
  assert.equal(plain.trackers[0], 'wss://tracker.example.org/announce');
  const res = new Response(bytes, { headers: { 'X-Planktos-Trackers': JSON.stringify(trackers), 'X-Planktos-Ice-Servers': JSON.stringify(ice) } });
  const m = await manifestFrom(res);
  assert.deepEqual(m.trackers, trackers);
  assert.deepEqual(m.runtime.iceServers, ice);
  assert.deepEqual({ ...m, trackers: plain.trackers, runtime: { ...m.runtime, iceServers: plain.runtime.iceServers } }, plain, 'nothing else changes');
  const bad = manifestOf(bytes, new Headers({ 'x-planktos-trackers': '{"a":1}', 'x-planktos-ice-servers': 'nope' }));
  assert.deepEqual([bad.trackers, bad.runtime.iceServers], [plain.trackers, plain.runtime.iceServers], 'malformed headers are ignored');
  await assert.rejects(manifestFrom(new Response('{"version": 2}')));
});
