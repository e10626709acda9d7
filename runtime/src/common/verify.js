// SHA-256 of a buffer as lowercase hex (crypto.subtle: in pages, service workers and Node alike).

/**
 * @param {ArrayBuffer|ArrayBufferView<ArrayBuffer>} data
 * @returns {Promise<string>}
 */
export async function sha256Hex(data) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  let s = '';
  for (const b of d) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * Whether `data` hashes to `sha` (hex).
 * @param {ArrayBuffer|ArrayBufferView<ArrayBuffer>} data
 * @param {string} sha
 */
export async function verify(data, sha) {
  return (await sha256Hex(data)) === sha;
}
