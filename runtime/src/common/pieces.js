// Pieces downloaded from peers, kept in CacheStorage until the files they belong to are whole and kept
// in the store. WebTorrent hands a piece to its chunk store only after its SHA-1 check, so a kept piece
// is trusted as verified when the torrent is joined again (after a navigation or an agent restart), and
// every file assembled from pieces is checked against its SHA-256 before it is kept.
import { piecesCache } from './names.js';

export class PieceStore {
  /** @param {string} base the site's base path */
  constructor(base) {
    this.base = base;
    /** @type {Promise<Cache>|null} */
    this._cache = null;
  }

  /** @returns {Promise<Cache>} */
  cache() {
    if (!this._cache) this._cache = caches.open(piecesCache(this.base));
    return this._cache;
  }

  /** @param {string} ih @param {number} index */
  key(ih, index) {
    return new URL(`${this.prefix(ih)}${index}`, self.location.href).href;
  }

  /** @param {string} ih */
  prefix(ih) {
    return `${this.base}planktos/pieces/${ih}/`;
  }

  /** @param {string} ih @param {number} index @returns {Promise<Uint8Array|null>} */
  async get(ih, index) {
    const res = await (await this.cache()).match(this.key(ih, index));
    return res ? new Uint8Array(await res.arrayBuffer()) : null;
  }

  /** @param {string} ih @param {number} index @param {Uint8Array} buf */
  async put(ih, index, buf) {
    const body = new Uint8Array(buf); // a copy: WebTorrent may reuse its buffer
    await (await this.cache()).put(this.key(ih, index), new Response(body));
  }

  /** @param {string} ih @param {number} index */
  async drop(ih, index) {
    await (await this.cache()).delete(this.key(ih, index));
  }

  /**
   * Kept pieces by torrent.
   * @returns {Promise<Map<string, Set<number>>>} infohash → piece indices
   */
  async all() {
    /** @type {Map<string, Set<number>>} */
    const out = new Map();
    for (const req of await (await this.cache()).keys()) {
      const m = /\/planktos\/pieces\/([0-9a-f]{40})\/(\d+)$/.exec(req.url);
      if (!m) continue;
      let s = out.get(m[1]);
      if (!s) out.set(m[1], (s = new Set()));
      s.add(Number(m[2]));
    }
    return out;
  }

  /** Drops the pieces of every torrent not in `keep`. @param {Set<string>} keep infohashes */
  async retain(keep) {
    const cache = await this.cache();
    for (const req of await cache.keys()) {
      const m = /\/planktos\/pieces\/([0-9a-f]{40})\//.exec(req.url);
      if (!m || !keep.has(m[1])) await cache.delete(req);
    }
  }
}
