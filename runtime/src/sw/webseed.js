// Byte ranges of a file over HTTP, verified before a byte reaches the page — as a BitTorrent webseed
// client does: the range is widened to whole pieces of the file's torrent, each piece is checked
// against the torrent's SHA-1, and only then is the asked-for part handed over. Only files alone in
// their torrent qualify (every large file is: see packager/shard.go), so piece i is bytes
// [i·pieceLength, (i+1)·pieceLength) of the file itself. This lets the service worker buy one slice of
// a big file from the origin while peers carry the rest, instead of downloading it whole.
import { metaCache } from '../common/names.js';

/** @typedef {import('./manifest.js').Manifest} Manifest */
/** @typedef {import('./manifest.js').TorrentEntry} TorrentEntry */

/**
 * The raw bytes of the `pieces` string of a .torrent's info dictionary (20 bytes of SHA-1 per
 * piece), or null when the data is not a torrent with one.
 * @param {Uint8Array} b bencoded .torrent
 * @returns {Uint8Array|null}
 */
export function torrentPieces(b) {
  let i = 0;
  const fail = () => { throw new Error('not bencode'); };
  /** Reads a string at i. @returns {Uint8Array} its bytes */
  const str = () => {
    let n = 0;
    const s = i;
    while (b[i] >= 0x30 && b[i] <= 0x39) n = n * 10 + (b[i++] - 0x30);
    if (i === s || b[i++] !== 0x3a || i + n > b.length) fail();
    return b.subarray(i, (i += n));
  };
  /** Skips (or, for info.pieces, returns) the value at i. @param {string} path @returns {Uint8Array|null} */
  const value = (path) => {
    const c = b[i];
    if (c === 0x69) { // i<digits>e
      const e = b.indexOf(0x65, i);
      if (e < 0) fail();
      i = e + 1;
      return null;
    }
    if (c === 0x6c || c === 0x64) { // l…e, d…e
      i++;
      while (b[i] !== 0x65) {
        if (i >= b.length) fail();
        const key = c === 0x64 ? String.fromCharCode(...str()) : '';
        const p = path + '/' + key;
        if (p === '/info/pieces') return str();
        const r = value(p);
        if (r) return r;
      }
      i++;
      return null;
    }
    str();
    return null;
  };
  try {
    return value('');
  } catch {
    return null;
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
const same = (a, b) => a.length === b.length && a.every((x, k) => x === b[k]);

export class Webseed {
  /** @param {string} base the site's base path */
  constructor(base) {
    this.base = base;
    /** @type {Map<string, Promise<Uint8Array|null>>} infohash → SHA-1 of every piece */
    this.pieces = new Map();
  }

  /**
   * The piece hashes of a torrent: the .torrent kept in the site's meta cache (the page agent keeps
   * it there too), else fetched and kept.
   * @param {TorrentEntry} t
   */
  hashes(t) {
    let p = this.pieces.get(t.infohash);
    if (!p) {
      p = this._hashes(t).catch(() => null);
      this.pieces.set(t.infohash, p);
      p.then((h) => { if (!h) this.pieces.delete(t.infohash); });
    }
    return p;
  }

  /** @param {TorrentEntry} t */
  async _hashes(t) {
    const url = new URL(t.url, self.location.origin + this.base).href;
    const cache = await caches.open(metaCache(this.base));
    let res = await cache.match(url);
    if (!res) {
      res = await fetch(url);
      if (!res.ok) return null;
      await cache.put(url, res.clone());
    }
    const h = torrentPieces(new Uint8Array(await res.arrayBuffer()));
    return h && h.length === Math.ceil(t.length / t.pieceLength) * 20 ? h : null;
  }

  /**
   * Whether ranges of manifest file `key` can come from here: it is alone in its torrent.
   * @param {Manifest} m @param {string} key
   */
  serves(m, key) {
    const f = m.files[key];
    const t = f.torrent >= 0 ? m.torrents[f.torrent] : undefined;
    return !!t && t.length === f.size && t.pieceLength > 0;
  }

  /**
   * Bytes [start, start+length) of a file alone in its torrent, over HTTP (its content-addressed
   * URL), each piece they touch checked against the torrent. null when the origin does not answer
   * the range, or a piece is wrong.
   * @param {Manifest} m @param {string} key @param {number} start @param {number} length
   * @param {AbortSignal} [signal]
   * @returns {Promise<Blob|null>}
   */
  async range(m, key, start, length, signal) {
    const f = m.files[key];
    const t = m.torrents[f.torrent];
    const pl = t.pieceLength;
    const first = Math.floor(start / pl);
    const from = first * pl;
    const to = Math.min(f.size, Math.ceil((start + length) / pl) * pl); // exclusive
    const [hashes, body] = await Promise.all([this.hashes(t), this.fetchRange(f.sha256, from, to, signal)]);
    if (!hashes || !body) return null;
    for (let off = 0, i = first; off < body.length; off += pl, i++) {
      const piece = body.subarray(off, Math.min(off + pl, body.length));
      const got = new Uint8Array(await crypto.subtle.digest('SHA-1', piece));
      if (!same(got, hashes.subarray(i * 20, i * 20 + 20))) return null;
    }
    return new Blob([body.subarray(start - from, start - from + length)], { type: f.type });
  }

  /**
   * Bytes [from, to) of planktos/files/<sha>, or null. An origin that ignores Range (200) is read
   * only as far as needed.
   * @param {string} sha @param {number} from @param {number} to @param {AbortSignal} [signal]
   * @returns {Promise<Uint8Array<ArrayBuffer>|null>}
   */
  async fetchRange(sha, from, to, signal) {
    try {
      const res = await fetch(`${this.base}planktos/files/${sha}`, {
        headers: { range: `bytes=${from}-${to - 1}` }, cache: 'no-store', credentials: 'same-origin', signal,
      });
      let skip = 0;
      if (res.status === 200) skip = from;
      else if (res.status !== 206 || !(res.headers.get('content-range') ?? '').startsWith(`bytes ${from}-${to - 1}/`)) return null;
      if (!res.body) return null;
      const out = new Uint8Array(to - from);
      let n = 0;
      const reader = res.body.getReader();
      while (n < out.length) {
        const { done, value } = await reader.read();
        if (done) break;
        let v = value;
        if (skip > 0) { const k = Math.min(skip, v.length); skip -= k; v = v.subarray(k); }
        v = v.subarray(0, out.length - n);
        out.set(v, n);
        n += v.length;
      }
      void reader.cancel().catch(() => {});
      return n === out.length ? out : null;
    } catch {
      return null;
    }
  }
}
