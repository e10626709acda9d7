// Signed manifests on the browser side (manifest/sign.go, manifest/exchange.go). An envelope is the
// 64-byte Ed25519 signature followed by the exact bytes of planktos/manifest.json; it is what peers
// exchange and what the service worker holds. checkEnvelope is the one check of a signed manifest,
// shared by the service worker (the origin's manifest, a peer's adoption) and the page agent (a
// peer's envelope before it is handed to the worker): the signature over exactly those bytes under
// the pinned key, then the manifest's schema (parseManifest), its own key and a sequence above 0.
import { parseManifest } from './manifest.js';
import { debug } from './debug.js';

/** @typedef {import('./manifest.js').Manifest} Manifest */
/** @typedef {{manifest: Manifest, bytes: Uint8Array, sig: Uint8Array}} Opened */
/**
 * Why an envelope was refused: `signature` (too short, or the signature does not verify under the
 * key), `invalid` (signed, but not a manifest of that key with a sequence: bad JSON or schema, another
 * Key, Sequence 0), `unsupported` (this browser's WebCrypto has no Ed25519).
 * @typedef {'signature'|'invalid'|'unsupported'} Refusal
 */

/** Bytes of an Ed25519 signature: an envelope's first bytes. */
export const SIG_SIZE = 64;

/** @param {Uint8Array} b @returns {string} */
export function toBase64(b) {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} s @returns {Uint8Array<ArrayBuffer>|null} null when `s` is not base64 */
export function fromBase64(s) {
  try {
    return Uint8Array.from(atob(s.trim()), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The envelope of a signature and the manifest bytes it signs.
 * @param {Uint8Array} sig @param {Uint8Array} bytes @returns {Uint8Array<ArrayBuffer>}
 */
export function envelopeOf(sig, bytes) {
  const e = new Uint8Array(sig.length + bytes.length);
  e.set(sig);
  e.set(bytes, sig.length);
  return e;
}

/** @type {Map<string, Promise<CryptoKey|null>>} imported public keys, by their base64 form */
const keys = new Map();
let saidUnsupported = false;

/**
 * The WebCrypto key of a base64 Ed25519 public key; null when it is malformed or Ed25519 is missing.
 * @param {string} key
 * @returns {Promise<CryptoKey|null>}
 */
function importKey(key) {
  let k = keys.get(key);
  if (!k && !globalThis.crypto?.subtle) {
    unsupported();
    return Promise.resolve(null);
  }
  if (!k) {
    const raw = fromBase64(key);
    k = raw && raw.length === 32
      ? crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']).catch((err) => {
        if (err && err.name === 'NotSupportedError') unsupported();
        return null;
      })
      : Promise.resolve(null);
    keys.set(key, k);
  }
  return k;
}

function unsupported() {
  if (!saidUnsupported) debug.log?.('this browser has no Ed25519 in WebCrypto: signed manifests from peers are refused');
  saidUnsupported = true;
}

/**
 * Checks an envelope under the pinned key. Never throws.
 * @param {string} key the pinned public key (base64)
 * @param {Uint8Array} envelope
 * @returns {Promise<Opened|{refused: Refusal}>}
 */
export async function checkEnvelope(key, envelope) {
  try {
    if (!(envelope instanceof Uint8Array) || envelope.length <= SIG_SIZE) return { refused: 'signature' };
    const pub = await importKey(key);
    if (!pub) return { refused: saidUnsupported ? 'unsupported' : 'signature' };
    const sig = envelope.slice(0, SIG_SIZE);
    const bytes = envelope.slice(SIG_SIZE);
    if (!(await crypto.subtle.verify('Ed25519', pub, sig, bytes))) return { refused: 'signature' };
    let manifest;
    try {
      manifest = parseManifest(JSON.parse(new TextDecoder().decode(bytes)));
    } catch {
      return { refused: 'invalid' };
    }
    if (manifest.key !== key || manifest.sequence <= 0) return { refused: 'invalid' };
    return { manifest, bytes, sig };
  } catch {
    return { refused: 'signature' };
  }
}

/**
 * Opens an envelope: the manifest, its exact bytes and the signature, when the signature verifies
 * under `key` and the manifest is valid, carries that key and a sequence; null otherwise (never throws).
 * @param {string} key the pinned public key (base64)
 * @param {Uint8Array} envelope
 * @returns {Promise<Opened|null>}
 */
export async function openEnvelope(key, envelope) {
  const r = await checkEnvelope(key, envelope);
  return 'refused' in r ? null : r;
}
