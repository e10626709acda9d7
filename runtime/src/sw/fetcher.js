// Where a file's bytes come from, in order: the local store; the page agent (peers, verified piece by
// piece by WebTorrent), if a connected peer has them now — or soon, where peers proved reachable lately
// (a new page's agent reconnects in about a second); peers never met, or unreachable, cost nothing;
// HTTP — the immutable `planktos/files/<sha256>`, then the file's own URL — verified against the
// manifest's SHA-256 before a byte reaches the page (a part of a big file, while peers are about, is
// raced instead: peers first, HTTP for that part only, verified piece by piece — see race); and when
// HTTP fails (the origin down, refusing or overloaded), the agent again, waiting up to OUTAGE_WAIT
// for peers (a page starts its agent at once when asked). Returns null whenever no verified source
// answers in time; the caller then asks the plain network.
import { verify } from '../common/verify.js';
import { fileURL } from '../common/names.js';
import { Op } from '../common/protocol.js';
import { keyURL } from './routing.js';
import { Webseed } from './webseed.js';

/** @typedef {import('./manifest.js').Manifest} Manifest */
/** @typedef {import('./manifest.js').FileEntry} FileEntry */
/** @typedef {'store'|'peers'|'http'} Source */
/** @typedef {{body: ReadableStream<Uint8Array>|Blob, source: Source}} Opened */

/** ms a request waits for peers when HTTP failed. */
export const OUTAGE_WAIT = 10000;
/** ms peers have to answer a range of a big file before HTTP is asked for it too (see Fetcher.race). */
export const PEERS_HEAD_START = 500;
/** ms after peers lost a race for a file during which its ranges give peers no head start. */
const MISSED_FOR = 5000;

/**
 * The first of `ps` to resolve to a value that is not null; null once all resolved to null.
 * @template T
 * @param {Array<Promise<T|null>>} ps
 * @returns {Promise<T|null>}
 */
export function firstOf(ps) {
  return new Promise((resolve) => {
    let left = ps.length;
    for (const p of ps) {
      p.then((v) => {
        if (v !== null && v !== undefined) resolve(v);
        else if (--left === 0) resolve(null);
      }, () => { if (--left === 0) resolve(null); });
    }
  });
}

/**
 * Fetches a URL and reads its body whole, all within `ms`. null on any failure or non-200.
 * @param {string} url
 * @param {number} ms
 * @returns {Promise<ArrayBuffer|null>}
 */
async function fetchWhole(url, ms) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  try {
    const res = await fetch(url, { signal: ac.signal, cache: 'no-cache', credentials: 'same-origin' });
    if (res.status !== 200) return null;
    return await res.arrayBuffer();
  } catch {
    return null;
  } finally {
    clearTimeout(t);
  }
}

/**
 * Files recently served, kept in the service worker's memory while it runs: a page's HTML, CSS and
 * images come back without a CacheStorage round trip on the next navigation, and so do the next
 * ranges of a big file read from the store (its Blob is a handle on CacheStorage's copy, not bytes in
 * memory): a media element's next range is answered at once, not 20–300 ms later.
 */
export class HotFiles {
  /** @param {number} maxFile @param {number} maxTotal @param {number} maxHandles */
  constructor(maxFile = 512 << 10, maxTotal = 16 << 20, maxHandles = 8) {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
    this.maxHandles = maxHandles;
    this.total = 0;
    /** @type {Map<string, Blob>} in least-recently-used order */
    this.map = new Map();
    /** @type {Map<string, Blob>} big files from the store, in least-recently-used order */
    this.handles = new Map();
  }

  /** @param {string} sha */
  get(sha) {
    for (const m of [this.map, this.handles]) {
      const b = m.get(sha);
      if (b) { m.delete(sha); m.set(sha, b); return b; }
    }
    return undefined;
  }

  /**
   * @param {string} sha @param {Blob} blob
   * @param {boolean} [stored] the Blob comes from the store: a big one is kept as a handle
   */
  add(sha, blob, stored = false) {
    if (this.map.has(sha) || this.handles.has(sha)) return;
    if (blob.size > this.maxFile) {
      if (!stored) return;
      this.handles.set(sha, blob);
      for (const k of this.handles.keys()) {
        if (this.handles.size <= this.maxHandles) break;
        this.handles.delete(k);
      }
      return;
    }
    this.map.set(sha, blob);
    this.total += blob.size;
    for (const [k, b] of this.map) {
      if (this.total <= this.maxTotal) break;
      this.map.delete(k);
      this.total -= b.size;
    }
  }

  /** Forgets files no longer referenced. @param {Set<string>} keep */
  retain(keep) {
    for (const [k, b] of this.map) if (!keep.has(k)) { this.map.delete(k); this.total -= b.size; }
    for (const k of this.handles.keys()) if (!keep.has(k)) this.handles.delete(k);
  }
}

export class Fetcher {
  /**
   * @param {object} o
   * @param {string} o.base
   * @param {import('../common/store.js').Store} o.store
   * @param {import('./agent-link.js').AgentLink} o.agent
   * @param {number=} o.bufferLimit largest file downloaded whole to answer a request (bigger ones not
   *   in the store are left to the agent or the network, which answer ranges without a full download)
   */
  constructor({ base, store, agent, bufferLimit = 64 << 20 }) {
    this.base = base;
    this.store = store;
    this.agent = agent;
    this.bufferLimit = bufferLimit;
    /** @type {Map<string, Promise<Blob|null>>} */
    this.inflight = new Map();
    /** @type {(p: Promise<unknown>) => void} */
    this.background = () => {};
    /** @type {(ms: number, got: boolean) => void} told how long a request waited for peers */
    this.waited = () => {};
    this.hot = new HotFiles();
    this.webseed = new Webseed(base);
    /** @type {Map<string, number>} sha → when HTTP last won a race for it */
    this.missed = new Map();
  }

  /**
   * Opens bytes [start, start+length) of a manifest file from the first verified source. A navigation
   * (`whole`) is never streamed from peers: its bytes would come through the agent of the page it
   * replaces, which goes away as soon as the new page commits; it is read whole from them first,
   * checked against its SHA-256 and kept, like a download.
   * @param {Manifest} m
   * @param {string} key
   * @param {number} start
   * @param {number} length
   * @param {boolean} [whole] the request is a navigation
   * @returns {Promise<Opened|null>}
   */
  async open(m, key, start, length, whole = false) {
    const file = m.files[key];
    const slice = (/** @type {Blob} */ b) => b.slice(start, start + length);
    const kept = await this.stored(m, key, start, length);
    if (kept) return kept;
    const p2p = m.runtime.p2p !== 'off' && file.torrent >= 0 && length > 0 && (!whole || file.size <= this.bufferLimit);
    /** @param {number} wait @returns {Promise<Opened|null>} */
    const peers = async (wait) => {
      if (!whole) {
        const s = await this.agent.open(file.sha256, start, start + length - 1, wait, file.size).catch(() => null);
        return s && { body: s, source: 'peers' };
      }
      const blob = await this.fromPeers(m, key, wait);
      return blob && { body: slice(blob), source: 'peers' };
    };
    // a part of a big file while peers are about: they may carry the rest, so HTTP is asked for this
    // part only (and only if peers do not answer first), never for the whole file
    const bounded = p2p && !whole && length < file.size && this.agent.patience() > 0 && this.webseed.serves(m, key);
    if (bounded) {
      const s = await this.race(m, key, start, length);
      if (s) return s;
    } else {
      if (p2p) {
        const s = await peers(this.agent.patience());
        if (s) return s;
      }
      if (file.size > this.bufferLimit) return null; // the network answers ranges of it without a full download
      const blob = await this.download(m, key);
      if (blob) return { body: slice(blob), source: 'http' };
    }
    if (!p2p) return null;
    const t0 = Date.now();
    const s = await peers(OUTAGE_WAIT);
    this.waited(Date.now() - t0, !!s);
    return s;
  }

  /**
   * Opens bytes [start, start+length) of a manifest file from this browser alone (the worker's memory,
   * the store); null when it is not kept whole.
   * @param {Manifest} m @param {string} key @param {number} start @param {number} length
   * @returns {Promise<Opened|null>}
   */
  async stored(m, key, start, length) {
    const file = m.files[key];
    const slice = (/** @type {Blob} */ b) => b.slice(start, start + length);
    const hot = this.hot.get(file.sha256);
    // (a file's size is checked as its hash is: an entry that names another size is not this file)
    if (hot && hot.size === file.size) return { body: slice(hot), source: 'store' };
    const local = await this.store.get(file.sha256).catch(() => null);
    if (local && local.size === file.size) {
      this.hot.add(file.sha256, local, true);
      return { body: slice(local), source: 'store' };
    }
    if (file.size === 0) return { body: slice(new Blob([])), source: 'store' };
    return null;
  }

  /**
   * Bytes [start, start+length) of a file alone in its torrent, from peers or HTTP, whichever first:
   * peers are asked at once; HTTP (this range only, verified piece by piece: see webseed.js) after
   * PEERS_HEAD_START ms, or as soon as peers cannot answer. The loser is cancelled. When peers lost
   * the last race for this file (MISSED_FOR), their head start is a fifth and they are asked only for
   * what a connected peer has now: a file peers do not carry costs little wait per range, and peers
   * that have the pieces again still answer first. null when neither answers.
   * @param {Manifest} m @param {string} key @param {number} start @param {number} length
   * @returns {Promise<Opened|null>}
   */
  async race(m, key, start, length) {
    const file = m.files[key];
    const sha = file.sha256;
    const ac = new AbortController();
    const missed = Date.now() - (this.missed.get(sha) ?? -Infinity) < MISSED_FOR;
    const fromPeers = this.agent.open(sha, start, start + length - 1, missed ? 0 : this.agent.patience(), file.size).catch(() => null);
    const headStart = new Promise((r) => setTimeout(r, missed ? PEERS_HEAD_START / 5 : PEERS_HEAD_START));
    const fromHTTP = Promise.race([fromPeers, headStart])
      .then((s) => (s ? null : this.webseed.range(m, key, start, length, ac.signal)));
    const won = await firstOf([
      fromPeers.then((s) => s && /** @type {Opened} */ ({ body: s, source: 'peers' })),
      fromHTTP.then((b) => b && /** @type {Opened} */ ({ body: b, source: 'http' })),
    ]);
    if (won?.source === 'peers') {
      ac.abort();
      this.missed.delete(sha);
    } else {
      void fromPeers.then((s) => s?.cancel().catch(() => {}));
      if (won) this.missed.set(sha, Date.now());
    }
    return won;
  }

  /**
   * Reads a whole file from peers through the agent, checks it against its SHA-256 and keeps it (unless
   * the site's policy is `none`). null when the agent cannot, in `wait` ms, or the bytes are wrong.
   * @param {Manifest} m @param {string} key @param {number} wait
   * @returns {Promise<Blob|null>}
   */
  async fromPeers(m, key, wait) {
    const file = m.files[key];
    const s = await this.agent.open(file.sha256, 0, file.size - 1, wait, file.size).catch(() => null);
    if (!s) return null;
    const buf = await new Response(s).arrayBuffer().catch(() => null);
    if (!buf || buf.byteLength !== file.size || !(await verify(buf, file.sha256))) return null;
    return this.keep(m, key, buf);
  }

  /** Keeps verified bytes of a file (unless the policy is `none`). @param {Manifest} m @param {string} key @param {ArrayBuffer} buf */
  keep(m, key, buf) {
    const file = m.files[key];
    const blob = new Blob([buf], { type: file.type });
    if (m.runtime.prefetch !== 'none') {
      this.background(this.store.put(file.sha256, blob).then(() => {
        this.agent.notify({ op: Op.stored, sha: file.sha256 });
      }));
    }
    return blob;
  }

  /**
   * Downloads a whole file over HTTP, verifies it and keeps it (unless the site's policy is `none`).
   * Concurrent calls for one hash share a download.
   * @param {Manifest} m
   * @param {string} key
   * @returns {Promise<Blob|null>}
   */
  download(m, key) {
    const file = m.files[key];
    let p = this.inflight.get(file.sha256);
    if (!p) {
      p = this._download(m, key).finally(() => this.inflight.delete(file.sha256));
      this.inflight.set(file.sha256, p);
    }
    return p;
  }

  /** @param {Manifest} m @param {string} key */
  async _download(m, key) {
    const file = m.files[key];
    const ms = 10000 + file.size / 25; // at least 25 kB/s, plus 10 s to start
    for (const url of [fileURL(this.base, file.sha256), keyURL(key, this.base)]) {
      const buf = await fetchWhole(url, ms);
      if (!buf || buf.byteLength !== file.size || !(await verify(buf, file.sha256))) continue;
      return this.keep(m, key, buf);
    }
    return null;
  }
}
