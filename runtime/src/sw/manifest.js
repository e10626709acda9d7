// The manifest: validated on arrival, kept in CacheStorage, revalidated on navigation (no-store, short
// deadline, the stored one when offline), switched atomically to a new revision, and followed by a
// garbage collection of the files no revision references any more. The schema is the Go manifest
// package's, read by common/manifest.js.
import { manifestURL, metaCache } from '../common/names.js';
import { parseManifest, referencedHashes } from '../common/manifest.js';

export { parseManifest, referencedHashes };
/** @typedef {import('../common/manifest.js').Manifest} Manifest */
/** @typedef {import('../common/manifest.js').FileEntry} FileEntry */
/** @typedef {import('../common/manifest.js').TorrentEntry} TorrentEntry */

/**
 * Fetch with a deadline: aborts (and rejects) when `ms` pass before the response headers arrive.
 * @param {string} url
 * @param {RequestInit} init
 * @param {number} ms
 */
export async function fetchWithin(url, init, ms) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  try {
    return await fetch(url, { ...init, signal: ac.signal });
  } finally {
    clearTimeout(t);
  }
}

export class ManifestKeeper {
  /**
   * @param {string} base the site's base path
   * @param {(next: Manifest, prev: Manifest|null) => void} onSwitch called after a new revision took over
   * @param {number} deadline ms to wait for the network on revalidation
   */
  constructor(base, onSwitch, deadline = 2000) {
    this.base = base;
    this.onSwitch = onSwitch;
    this.deadline = deadline;
    /** @type {Manifest|null} */
    this.manifest = null;
    /** validators of the kept manifest's response: ETag, else Last-Modified */
    this.validators = { etag: '', lastModified: '' };
    /** @type {Promise<Manifest|null>|null} */
    this._loading = null;
    /** @type {Promise<Manifest|null>|null} */
    this._revalidating = null;
    /** whether the origin answered the last revalidation (null: not asked yet) */
    this.originUp = /** @type {boolean|null} */ (null);
    /** @type {(up: boolean) => void} told when originUp changes */
    this.onOrigin = () => {};
  }

  /** @param {boolean} up */
  _reached(up) {
    if (this.originUp === up) return;
    this.originUp = up;
    this.onOrigin(up);
  }

  get key() {
    return new URL(manifestURL(this.base), self.location.href).href;
  }

  /** The current manifest: in memory, else the stored one. @returns {Promise<Manifest|null>} */
  current() {
    if (this.manifest) return Promise.resolve(this.manifest);
    if (!this._loading) {
      this._loading = this._load().finally(() => { this._loading = null; });
    }
    return this._loading;
  }

  async _load() {
    try {
      const res = await (await caches.open(metaCache(this.base))).match(this.key);
      if (res && !this.manifest) {
        this.validators = {
          etag: res.headers.get('x-planktos-etag') ?? '',
          lastModified: res.headers.get('x-planktos-last-modified') ?? '',
        };
        this.manifest = parseManifest(await res.json());
      }
    } catch {
      // an unreadable stored manifest is as good as none
    }
    return this.manifest;
  }

  /** Asks the origin for the manifest; concurrent callers share one request. */
  revalidate() {
    if (!this._revalidating) {
      this._revalidating = this._revalidate().finally(() => { this._revalidating = null; });
    }
    return this._revalidating;
  }

  /**
   * The validators of the stored manifest's response, read without its body (that is parsed meanwhile).
   * @returns {Promise<{etag: string, lastModified: string}>}
   */
  async _storedValidators() {
    if (this.manifest) return this.validators;
    const res = await (await caches.open(metaCache(this.base))).match(this.key).catch(() => undefined);
    return {
      etag: res?.headers.get('x-planktos-etag') ?? '',
      lastModified: res?.headers.get('x-planktos-last-modified') ?? '',
    };
  }

  /** @param {{etag: string, lastModified: string}|null} v @returns {Promise<Response>} */
  _ask(v) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (v?.etag) headers['if-none-match'] = v.etag;
    else if (v?.lastModified) headers['if-modified-since'] = v.lastModified;
    return fetchWithin(this.key, { cache: 'no-store', headers }, this.deadline);
  }

  async _revalidate() {
    // the conditional request goes out while the stored manifest is read and checked: a worker that
    // just started pays the longer of the two, not their sum
    const loading = this.current();
    let next;
    let got = { etag: '', lastModified: '' };
    let cur = null;
    let answered = false;
    try {
      let res = await this._ask(await this._storedValidators());
      answered = true;
      this._reached(res.status < 500);
      cur = await loading;
      if (res.status === 304 && !cur) res = await this._ask(null); // the stored one turned out unreadable
      if (res.status === 304 || !res.ok) return cur;
      got = { etag: res.headers.get('etag') ?? '', lastModified: res.headers.get('last-modified') ?? '' };
      next = parseManifest(await res.json());
    } catch {
      if (!answered) this._reached(false);
      return cur ?? await loading;
    }
    if (cur && next.revision === cur.revision) {
      this.validators = got;
      return cur;
    }
    await this._save(next, got);
    const prev = this.manifest;
    this.manifest = next;
    this.validators = got;
    this.onSwitch(next, prev);
    return next;
  }

  /** @param {Manifest} m @param {{etag: string, lastModified: string}} v */
  async _save(m, v) {
    const res = new Response(JSON.stringify(m), {
      headers: { 'content-type': 'application/json', 'x-planktos-etag': v.etag, 'x-planktos-last-modified': v.lastModified },
    });
    await (await caches.open(metaCache(this.base))).put(this.key, res);
  }
}
