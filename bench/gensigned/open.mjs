// Times the browser runtime's check of a signed manifest a peer offers — openEnvelope
// (runtime/src/common/signed.js: Ed25519 verify with WebCrypto, JSON.parse, parseManifest, key and
// sequence checks) — on the envelope bench/gensigned wrote, and its two halves on their own. The Go
// side of the same bytes is manifest/sign_bench_test.go; bench/gensigned/chromium times the same in
// headless Chromium.
//
//   go run ./bench/gensigned -out /tmp/signed -files 10000
//   node bench/gensigned/open.mjs /tmp/signed [rounds]
//
// Prints one line per measure: median and min over the rounds, in ms.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openEnvelope } from '../../runtime/src/common/signed.js';
import { parseManifest } from '../../runtime/src/common/manifest.js';

const [dir, roundsArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/gensigned/open.mjs DIR [rounds]');
  process.exit(2);
}
const rounds = Number(roundsArg || 50);
const envelope = new Uint8Array(await readFile(join(dir, 'envelope.bin')));
const key = (await readFile(join(dir, 'key.txt'), 'utf8')).trim();

/**
 * Runs f rounds times (after two warm-up runs) and returns the sorted durations in ms.
 * @param {() => Promise<unknown>} f
 */
async function time(f) {
  await f();
  await f();
  const ms = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b);
}

/** @param {string} what @param {number[]} ms */
function report(what, ms) {
  const median = ms[Math.floor(ms.length / 2)];
  console.log(`${what.padEnd(40)} median ${median.toFixed(2)} ms  min ${ms[0].toFixed(2)} ms  (${rounds} rounds)`);
}

const opened = await openEnvelope(key, envelope.slice());
if (!opened) throw new Error('openEnvelope refused the benchmark envelope: it should verify');
const files = Object.keys(opened.manifest.files).length;
console.log(`envelope: ${envelope.byteLength} bytes, ${files} files; node ${process.version}`);

report('openEnvelope (verify + parse + checks)', await time(() => openEnvelope(key, envelope.slice())));
const raw = Buffer.from(key, 'base64');
report('  Ed25519 verify alone (WebCrypto)', await time(async () => {
  const k = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
  if (!await crypto.subtle.verify('Ed25519', k, envelope.subarray(0, 64), envelope.subarray(64))) throw new Error('verify');
}));
const text = new TextDecoder();
report('  JSON.parse + parseManifest alone', await time(async () => parseManifest(JSON.parse(text.decode(envelope.subarray(64))))));
const bad = envelope.slice();
bad[bad.length - 10] ^= 1;
if (await openEnvelope(key, bad)) throw new Error('openEnvelope accepted a changed byte');
report('openEnvelope, one byte changed (refused)', await time(() => openEnvelope(key, bad)));
