// Test data for the chunk store's tests: files laid end to end as one torrent lays them out.

/** n deterministic bytes, different for each seed. @param {number} n @param {number} seed */
export const bytes = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

/**
 * Files of the given sizes, named by their SHA-256, end to end in pieces of pieceLength.
 * @param {number[]} sizes @param {number} pieceLength
 * @param {(b: Uint8Array) => Promise<string>} sha256Hex
 */
export async function layout(sizes, pieceLength, sha256Hex) {
  const data = sizes.map((n, i) => bytes(n, i + 1));
  const files = [];
  let offset = 0;
  for (const d of data) {
    files.push({ name: await sha256Hex(d), offset, length: d.length });
    offset += d.length;
  }
  const whole = new Uint8Array(offset);
  data.forEach((d, i) => whole.set(d, files[i].offset));
  const piece = (/** @type {number} */ i) => whole.slice(i * pieceLength, Math.min(offset, (i + 1) * pieceLength));
  return { data, files, whole, length: offset, piece, count: Math.ceil(offset / pieceLength) };
}
