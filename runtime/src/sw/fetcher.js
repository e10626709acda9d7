// Where a file's bytes come from, in order: the local store; the page agent (peers, verified piece by
// piece by WebTorrent), if a connected peer has them now — or soon, where peers proved reachable lately
// (a new page's agent reconnects in about a second); peers never met, or unreachable, cost nothing;
// HTTP — the immutable `planktos/files/<sha256>`, then the file's own URL — verified against the
// manifest's SHA-256 before a byte reaches the page; and when HTTP fails (the origin down, refusing or
// overloaded), the agent again, waiting up to OUTAGE_WAIT for peers (a page starts its agent at once
// when asked). Returns null whenever no verified source answers in time; the caller then asks the plain
// network.
import { verify } from '../common/verify.js';
import { fileURL } from '../common/names.js';
import { keyURL } from './routing.js';

/** @typedef {import('./manifest.js').Manifest} Manifest */
/** @typedef {import('./manifest.js').FileEntry} FileEntry */
/** @typedef {'store'|'peers'|'http'} Source */
/** @typedef {{stream: ReadableStream<Uint8Array>, source: Source}} Opened */

/** ms a request waits for peers when HTTP failed. */
export const OUTAGE_WAIT = 10000;

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
 * Small files recently served, kept in the service worker's memory while it runs: a page's HTML, CSS
 * and images come back without a CacheStorage round trip on the next navigation.
 */
export class HotFiles {
  /** @param {number} maxFile @param {number} maxTotal */
  constructor(maxFile = 512 << 10, maxTotal = 16 << 20) {
    this.maxFile = maxFile;
    this.maxTotal = maxTotal;
    this.total = 0;
    /** @type {Map<string, Blob>} in least-recently-used order */
    this.map = new Map();
  }

  /** @param {string} sha */
  get(sha) {
    const b = this.map.get(sha);
    if (b) { this.map.delete(sha); this.map.set(sha, b); }
    return b;
  }

  /** @param {string} sha @param {Blob} blob */
  add(sha, blob) {
    if (blob.size > this.maxFile || this.map.has(sha)) return;
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
    const slice = (/** @type {Blob} */ b) => b.slice(start, start + length).stream();
    const hot = this.hot.get(file.sha256);
    if (hot) return { stream: slice(hot), source: 'store' };
    const local = await this.store.get(file.sha256).catch(() => null);
    if (local && local.size === file.size) {
      this.hot.add(file.sha256, local);
      return { stream: slice(local), source: 'store' };
    }
    if (file.size === 0) return { stream: slice(new Blob([])), source: 'store' };
    const p2p = m.runtime.p2p !== 'off' && file.torrent >= 0 && length > 0 && (!whole || file.size <= this.bufferLimit);
    /** @param {number} wait @returns {Promise<Opened|null>} */
    const peers = async (wait) => {
      if (!whole) {
        const s = await this.agent.open(file.sha256, start, start + length - 1, wait).catch(() => null);
        return s && { stream: s, source: 'peers' };
      }
      const blob = await this.fromPeers(m, key, wait);
      return blob && { stream: slice(blob), source: 'peers' };
    };
    if (p2p) {
      const s = await peers(this.agent.patience());
      if (s) return s;
    }
    if (file.size > this.bufferLimit) return null; // the network answers ranges of it without a full download
    const blob = await this.download(m, key);
    if (blob) return { stream: slice(blob), source: 'http' };
    if (!p2p) return null;
    const t0 = Date.now();
    const s = await peers(OUTAGE_WAIT);
    this.waited(Date.now() - t0, !!s);
    return s;
  }

  /**
   * Reads a whole file from peers through the agent, checks it against its SHA-256 and keeps it (unless
   * the site's policy is `none`). null when the agent cannot, in `wait` ms, or the bytes are wrong.
   * @param {Manifest} m @param {string} key @param {number} wait
   * @returns {Promise<Blob|null>}
   */
  async fromPeers(m, key, wait) {
    const file = m.files[key];
    const s = await this.agent.open(file.sha256, 0, file.size - 1, wait).catch(() => null);
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
        this.agent.notify({ op: 'stored', sha: file.sha256 });
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
