// The ut_planktos messages (manifest/exchange.go's doc comment is the protocol): peers tell each other
// the newest signed manifest they hold and send it in PieceSize pieces. Every message is a bencoded
// dictionary of msg_type, piece, sequence and size (0 where one means nothing); a data message's piece
// follows the dictionary. test/exchange.test.js checks this codec against manifest/testdata/exchange.json,
// which the Go codec writes.
import bencode from 'bencode';

/** The BEP 10 name of the extension. */
export const EXTENSION = 'ut_planktos';
/** The size of every envelope piece but the last. */
export const PIECE_SIZE = 16 << 10;
/** The largest envelope a peer accepts (a 100,000-file site's manifest is about 25 MB). */
export const MAX_ENVELOPE = 64 << 20;
/** The Ed25519 signature that opens an envelope; the manifest's bytes follow it. */
export const SIGNATURE_SIZE = 64;

/** The message types. */
export const Msg = /* @__PURE__ */ Object.freeze({ offer: 0, request: 1, data: 2, reject: 3 });

/**
 * @typedef {object} Message
 * @property {number} type msg_type (see Msg)
 * @property {number} sequence
 * @property {number} piece
 * @property {number} size
 * @property {Uint8Array} [data] a data message's piece
 */

/** The number of PIECE_SIZE pieces of an envelope of `size` bytes. @param {number} size */
export const pieces = (size) => Math.ceil(size / PIECE_SIZE);

/**
 * The length of piece `i` of an envelope of `size` bytes (0 when there is no such piece).
 * @param {number} size @param {number} i
 */
export function pieceLength(size, i) {
  if (!Number.isInteger(i) || i < 0 || i >= pieces(size)) return 0;
  return Math.min(PIECE_SIZE, size - i * PIECE_SIZE);
}

/**
 * Encodes a message for the wire: the dictionary, then a data message's bytes.
 * @param {Message} m
 * @returns {Uint8Array}
 */
export function encodeMessage(m) {
  const dict = bencode.encode({ msg_type: m.type, piece: m.piece, sequence: m.sequence, size: m.size });
  if (m.type !== Msg.data || !m.data) return dict;
  const out = new Uint8Array(dict.length + m.data.length);
  out.set(dict);
  out.set(m.data, dict.length);
  return out;
}

/**
 * Decodes one message payload, or returns null when it is not a message (not a dictionary, a field
 * that is not a non-negative integer). Unknown keys are ignored; so is an unknown type by the caller.
 * @param {Uint8Array} buf
 * @returns {Message|null}
 */
export function decodeMessage(buf) {
  let dict;
  try {
    dict = bencode.decode(buf);
  } catch {
    return null;
  }
  if (typeof dict !== 'object' || dict === null || ArrayBuffer.isView(dict) || Array.isArray(dict)) return null;
  const end = bencode.decode.position;
  /** @type {(v: unknown) => number} -1 when v is not a field's value */
  const field = (v) => (v === undefined ? 0 : Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0 ? /** @type {number} */ (v) : -1);
  const m = { type: field(dict.msg_type), sequence: field(dict.sequence), piece: field(dict.piece), size: field(dict.size) };
  if (m.type < 0 || m.sequence < 0 || m.piece < 0 || m.size < 0) return null;
  return m.type === Msg.data ? { ...m, data: buf.subarray(end) } : m;
}

/**
 * The hex infohash of the site swarm of a public key: SHA-1("planktos-site:" || the 32 raw key bytes).
 * Every page agent and seeder of a signed site joins it to meet peers whatever revision each holds.
 * @param {string} key base64 Ed25519 public key (the manifest's `key`)
 * @returns {Promise<string>}
 */
export async function siteSwarm(key) {
  const raw = Uint8Array.from(atob(key), (c) => c.charCodeAt(0));
  if (raw.length !== 32) throw new Error(`ut_planktos: ${JSON.stringify(key)} is not a base64 Ed25519 public key`);
  const prefix = new TextEncoder().encode('planktos-site:');
  const input = new Uint8Array(prefix.length + raw.length);
  input.set(prefix);
  input.set(raw, prefix.length);
  const h = new Uint8Array(await crypto.subtle.digest('SHA-1', input));
  return Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
}
