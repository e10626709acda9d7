// Pieces downloaded from peers, kept in CacheStorage until the files they belong to are whole and kept
// in the store. WebTorrent hands a piece to its chunk store only after its SHA-1 check, so a kept piece
// is trusted as verified when the torrent is joined again (after a navigation or an agent restart), and
// every file assembled from pieces is checked against its SHA-256 before it is kept.
//
// Pieces are kept in runs: one cache entry holds consecutive pieces `first…last` of a torrent, named
// `planktos/pieces/<infohash>/<first>-<last>` (a single piece: `…/<index>`), its body their bytes in
// order. A CacheStorage write costs about as much per entry as per byte at piece sizes (measured in
// Chromium: 50 MiB in 64 KiB entries 1.6 s, 16 KiB entries 8.4 s, 1 MiB entries 0.5 s; deleting 0.35 s
// vs 0.02 s), so the chunk store writes what arrives within a short while as one run (see
// chunk-store.js). A run's entry is deleted once every piece of it was dropped.
import { piecesCache } from './names.js';

/** @typedef {{first: number, last: number, key: string, live: Set<number>}} Run */

export class PieceStore {
  /** @param {string} base the site's base path */
  constructor(base) {
    this.base = base;
    /** @type {Promise<Cache>|null} */
    this._cache = null;
    /** @type {Map<string, Run[]>} infohash → the runs kept (those listed by all(), and written since) */
    this.runs = new Map();
  }

  /** @returns {Promise<Cache>} */
  cache() {
    if (!this._cache) this._cache = caches.open(piecesCache(this.base));
    return this._cache;
  }

  /** @param {string} ih @param {number} first @param {number} last */
  key(ih, first, last = first) {
    return new URL(`${this.prefix(ih)}${first === last ? first : `${first}-${last}`}`, self.location.href).href;
  }

  /** @param {string} ih */
  prefix(ih) {
    return `${this.base}planktos/pieces/${ih}/`;
  }

  /** @param {string} ih @param {number} index @returns {Run|undefined} */
  run(ih, index) {
    return this.runs.get(ih)?.find((r) => r.first <= index && index <= r.last && r.live.has(index));
  }

  /**
   * Notes a run kept under `key`. Its pieces leave older runs (the same bytes: a piece written again);
   * the entries of runs left empty so are deleted.
   * @param {string} ih @param {number} first @param {number} last @param {string} key
   */
  async remember(ih, first, last, key) {
    let list = this.runs.get(ih);
    if (!list) this.runs.set(ih, (list = []));
    const emptied = [];
    for (const r of list) {
      if (r.last < first || r.first > last) continue;
      for (let i = first; i <= last; i++) r.live.delete(i);
      if (r.live.size === 0) emptied.push(r);
    }
    for (const r of emptied) list.splice(list.indexOf(r), 1);
    const live = new Set();
    for (let i = first; i <= last; i++) live.add(i);
    list.push({ first, last, key, live });
    for (const r of emptied) if (r.key !== key) await (await this.cache()).delete(r.key);
  }

  /**
   * A kept piece's bytes, or null.
   * @param {string} ih @param {number} index @param {number=} pieceLength the torrent's piece length
   * @returns {Promise<Uint8Array|null>}
   */
  async get(ih, index, pieceLength) {
    const r = this.run(ih, index);
    if (!r) return null;
    const res = await (await this.cache()).match(r.key);
    if (!res) return null;
    if (r.first === r.last) return new Uint8Array(await res.arrayBuffer());
    if (!pieceLength) return null;
    const blob = await res.blob();
    const from = (index - r.first) * pieceLength;
    return new Uint8Array(await blob.slice(from, from + pieceLength).arrayBuffer());
  }

  /** Keeps one piece. @param {string} ih @param {number} index @param {Uint8Array} buf */
  async put(ih, index, buf) {
    await this.putRun(ih, index, [buf]);
  }

  /**
   * Keeps consecutive pieces `first…first+bufs.length-1` as one entry (the Blob copies the bytes: the
   * caller may reuse its buffers once this returns).
   * @param {string} ih @param {number} first @param {Uint8Array[]} bufs
   */
  async putRun(ih, first, bufs) {
    if (bufs.length === 0) return;
    const last = first + bufs.length - 1;
    const key = this.key(ih, first, last);
    const body = new Blob(/** @type {BlobPart[]} */ (bufs));
    await (await this.cache()).put(key, new Response(body));
    await this.remember(ih, first, last, key);
  }

  /** Forgets a piece; a run's entry goes once all its pieces are gone. @param {string} ih @param {number} index */
  async drop(ih, index) {
    const list = this.runs.get(ih);
    if (!list) return;
    for (const r of [...list]) {
      if (!r.live.delete(index) || r.live.size > 0) continue;
      list.splice(list.indexOf(r), 1);
      await (await this.cache()).delete(r.key);
    }
  }

  /**
   * Kept pieces by torrent (and the runs they are in, for get and drop).
   * @returns {Promise<Map<string, Set<number>>>} infohash → piece indices
   */
  async all() {
    /** @type {Map<string, Set<number>>} */
    const out = new Map();
    this.runs.clear();
    for (const req of await (await this.cache()).keys()) {
      const m = /\/planktos\/pieces\/([0-9a-f]{40})\/(\d+)(?:-(\d+))?$/.exec(req.url);
      if (!m) continue;
      const first = Number(m[2]);
      const last = m[3] === undefined ? first : Number(m[3]);
      if (last < first || last - first > 1 << 16) continue;
      let s = out.get(m[1]);
      if (!s) out.set(m[1], (s = new Set()));
      for (let i = first; i <= last; i++) s.add(i);
      await this.remember(m[1], first, last, req.url);
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
    for (const ih of [...this.runs.keys()]) if (!keep.has(ih)) this.runs.delete(ih);
  }
}
