// The local store: verified file contents keyed by SHA-256, in CacheStorage (readable from the service
// worker and from pages, streamed from disk, sliced for ranges without reading the whole file).
import { filesCache, fileURL } from './names.js';

export class Store {
  /** @param {string} base the site's base path */
  constructor(base) {
    this.base = base;
    /** @type {Promise<Cache>|null} */
    this._cache = null;
  }

  /** @returns {Promise<Cache>} */
  cache() {
    if (!this._cache) this._cache = caches.open(filesCache(this.base));
    return this._cache;
  }

  /** @param {string} sha */
  key(sha) {
    return new URL(fileURL(this.base, sha), self.location.href).href;
  }

  /**
   * The stored content of `sha`, or null.
   * @param {string} sha
   * @returns {Promise<Blob|null>}
   */
  async get(sha) {
    const res = await (await this.cache()).match(this.key(sha));
    return res ? res.blob() : null;
  }

  /**
   * The stored content of `sha` as a response (its body streams from disk), or null.
   * @param {string} sha
   * @returns {Promise<Response|null>}
   */
  async response(sha) {
    return (await (await this.cache()).match(this.key(sha))) ?? null;
  }

  /**
   * Keeps verified content. The caller has checked the hash.
   * @param {string} sha
   * @param {Blob} blob
   */
  async put(sha, blob) {
    const res = new Response(blob, { headers: { 'content-length': String(blob.size) } });
    await (await this.cache()).put(this.key(sha), res);
  }

  /** @returns {Promise<Set<string>>} the hashes stored */
  async list() {
    const keys = await (await this.cache()).keys();
    const out = new Set();
    for (const req of keys) {
      const m = /\/planktos\/files\/([0-9a-f]{64})$/.exec(req.url);
      if (m) out.add(m[1]);
    }
    return out;
  }

  /**
   * Deletes every stored file whose hash is not in `keep`.
   * @param {Set<string>} keep
   * @returns {Promise<number>} how many were deleted
   */
  async retain(keep) {
    const cache = await this.cache();
    let n = 0;
    for (const sha of await this.list()) {
      if (!keep.has(sha) && (await cache.delete(this.key(sha)))) n++;
    }
    return n;
  }
}
