// The manifest: validated on arrival, kept in CacheStorage as the exact bytes it came as (with the
// preview's override headers, see common/manifest.js), revalidated on navigation (no-store, short
// deadline, the stored one when offline), switched atomically to a new revision, and followed by a
// garbage collection of the files no revision references any more. The schema is the Go manifest
// package's, read by common/manifest.js.
//
// Signed packages (manifest/sign.go): with a key pinned (planktos.sw.js's prelude), the worker holds
// the envelope of the manifest in force when its signature verifies — the origin's (manifest.sig,
// fetched next to it) or a peer's (adopt) — and offers it to peers through the agent. A peer's
// manifest takes over only if it verifies and its sequence is greater than the one in force; the
// manifest it replaced stays as its fallback (its files are kept and serve a path whose new file
// cannot be had). The origin stays the authority: its manifest takes over whether or not it is
// signed, unless it is a signed one older than the envelope held (a stale copy: a CDN's, a mirror's).
import { manifestURL, metaCache, signatureURL } from '../common/names.js';
import { applyOverrides, ICE_SERVERS_HEADER, manifestOf, parseManifest, referencedHashes, TRACKERS_HEADER } from '../common/manifest.js';
import { checkEnvelope, envelopeOf, fromBase64, openEnvelope, toBase64 } from '../common/signed.js';
import { debug } from '../common/debug.js';

export { parseManifest, referencedHashes };
/** @typedef {import('../common/manifest.js').Manifest} Manifest */
/** @typedef {import('../common/manifest.js').FileEntry} FileEntry */
/** @typedef {import('../common/manifest.js').TorrentEntry} TorrentEntry */
/** @typedef {'origin'|'peer'|'stored'} From where the manifest in force came from ('stored': kept, not confirmed by the origin since the worker started) */
/**
 * What became of a peer's envelope: taken over (`adopted`), the kill switch obeyed (`disabled`), or
 * refused: no key pinned (`unpinned`), not greater than the sequence in force (`sequence`), or one of
 * common/signed.js's refusals.
 * @typedef {'adopted'|'disabled'|'unpinned'|'sequence'|import('../common/signed.js').Refusal} Adoption
 */
/** @typedef {{sig: Uint8Array, bytes: Uint8Array}} Held */
/** @typedef {{etag: string, lastModified: string}} Validators */

/** Headers of the kept copy: where it came from, and its signature (base64) when it verified. */
const FROM_HEADER = 'x-planktos-from';
const SIG_HEADER = 'x-planktos-signature';

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
   * @param {{deadline?: number, key?: string}} [opts] ms to wait for the network on revalidation; the
   *   pinned public key (base64, '' when none: no envelope is held and every adoption is refused)
   */
  constructor(base, onSwitch, { deadline = 2000, key = '' } = {}) {
    this.base = base;
    this.onSwitch = onSwitch;
    this.deadline = deadline;
    this.pinned = key;
    /** @type {Manifest|null} */
    this.manifest = null;
    /** @type {From} */
    this.from = 'stored';
    /** @type {Held|null} the verified envelope of the manifest in force */
    this.held = null;
    /** @type {Manifest|null} the manifest a peer's replaced, while a peer's is in force */
    this.fallback = null;
    /** the preview's override headers last sent by the origin ('' when absent) */
    this.overrides = { trackers: '', iceServers: '' };
    /** @type {Validators} validators of the origin's last manifest response: ETag, else Last-Modified */
    this.validators = { etag: '', lastModified: '' };
    /** set once a disabled manifest took over: nothing is served any more */
    this.disabled = false;
    /** @type {Promise<Manifest|null>|null} */
    this._loading = null;
    /** @type {Promise<Manifest|null>|null} */
    this._revalidating = null;
    /** @type {Uint8Array|null} the origin's last signed manifest whose signature did not verify */
    this._unverified = null;
    /** @type {Promise<unknown>} switches, one at a time */
    this._queue = Promise.resolve();
    /** whether the origin answered the last revalidation (null: not asked yet) */
    this.originUp = /** @type {boolean|null} */ (null);
    /** @type {(up: boolean) => void} told when originUp changes */
    this.onOrigin = () => {};
    /** @type {() => void} told when the held envelope (or the sequence in force) changes */
    this.onEnvelope = () => {};
    /** @type {() => void} told when a disabled manifest took over (from the origin or a peer) */
    this.onDisabled = () => {};
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

  /** Where the fallback's copy is kept in the meta cache. */
  get fallbackKey() {
    return new URL(`${this.base}planktos/manifest.fallback`, self.location.href).href;
  }

  /** The current manifest: in memory, else the stored one. @returns {Promise<Manifest|null>} */
  current() {
    if (this.disabled) return Promise.resolve(null);
    if (this.manifest) return Promise.resolve(this.manifest);
    if (!this._loading) {
      this._loading = this._load().finally(() => { this._loading = null; });
    }
    return this._loading;
  }

  /** @returns {Set<string>} the hashes to keep: the manifest in force's and its fallback's */
  referenced() {
    const keep = this.manifest ? referencedHashes(this.manifest) : new Set();
    for (const h of this.fallback ? referencedHashes(this.fallback) : []) keep.add(h);
    return keep;
  }

  /** @returns {Set<string>} the infohashes to keep: the manifest in force's and its fallback's */
  torrents() {
    return new Set([this.manifest, this.fallback].flatMap((m) => (m ? m.torrents.map((t) => t.infohash) : [])));
  }

  async _load() {
    try {
      const cache = await caches.open(metaCache(this.base));
      const res = await cache.match(this.key);
      if (!res || this.manifest) return this.manifest;
      const bytes = new Uint8Array(await res.arrayBuffer());
      const m = manifestOf(bytes, res.headers);
      const sig = fromBase64(res.headers.get(SIG_HEADER) ?? '');
      const held = sig && this.pinned ? await openEnvelope(this.pinned, envelopeOf(sig, bytes)) : null;
      const from = res.headers.get(FROM_HEADER) === 'peer' ? 'peer' : 'stored';
      const fb = from === 'peer' ? await cache.match(this.fallbackKey) : undefined;
      const fallback = fb ? await fb.arrayBuffer().then((b) => manifestOf(new Uint8Array(b), res.headers)).catch(() => null) : null;
      if (this.manifest) return this.manifest;
      this.validators = {
        etag: res.headers.get('x-planktos-etag') ?? '',
        lastModified: res.headers.get('x-planktos-last-modified') ?? '',
      };
      this.overrides = { trackers: res.headers.get(TRACKERS_HEADER) ?? '', iceServers: res.headers.get(ICE_SERVERS_HEADER) ?? '' };
      this.manifest = m;
      this.from = from;
      this.held = held && held.manifest.sequence === m.sequence ? { sig: held.sig, bytes } : null;
      this.fallback = fallback;
      if (this.held) this.onEnvelope();
    } catch {
      // an unreadable stored manifest is as good as none
    }
    return this.manifest;
  }

  /** Asks the origin for the manifest; concurrent callers share one request. */
  revalidate() {
    if (this.disabled) return Promise.resolve(null);
    if (!this._revalidating) {
      this._revalidating = this._revalidate().finally(() => { this._revalidating = null; });
    }
    return this._revalidating;
  }

  /**
   * The validators of the stored manifest's response, read without its body (that is parsed meanwhile).
   * @returns {Promise<Validators>}
   */
  async _storedValidators() {
    if (this.manifest) return this.validators;
    const res = await (await caches.open(metaCache(this.base))).match(this.key).catch(() => undefined);
    return {
      etag: res?.headers.get('x-planktos-etag') ?? '',
      lastModified: res?.headers.get('x-planktos-last-modified') ?? '',
    };
  }

  /** @param {Validators|null} v @returns {Promise<Response>} */
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
    /** @type {Manifest|null} */
    let cur = null;
    let answered = false;
    /** @type {{res: Response, bytes: Uint8Array, m: Manifest}} */
    let got;
    try {
      let res = await this._ask(await this._storedValidators());
      answered = true;
      this._reached(res.status < 500);
      cur = await loading;
      if (res.status === 304 && !cur) res = await this._ask(null); // the stored one turned out unreadable
      if (res.status === 304) return this._exclusive(() => this._confirmed(res.headers));
      if (!res.ok) return cur;
      got = await this._read(res);
    } catch {
      if (!answered) this._reached(false);
      return cur ?? await loading;
    }
    const sig = await this._originSignature(got).catch(() => null);
    return this._exclusive(() => this._fromOrigin(got.res, got.bytes, got.m, sig));
  }

  /** @param {Response} res @returns {Promise<{res: Response, bytes: Uint8Array, m: Manifest}>} */
  async _read(res) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { res, bytes, m: manifestOf(bytes, res.headers) };
  }

  /**
   * The verified signature of the origin's signed manifest, or null. The packager writes the
   * signature just before the manifest, so a manifest and a signature of two runs are asked again once.
   * @param {{res: Response, bytes: Uint8Array, m: Manifest}} got updated when asked again
   * @returns {Promise<Uint8Array|null>}
   */
  async _originSignature(got) {
    const h = this.held;
    if (h && this.manifest?.sequence === got.m.sequence && sameBytes(h.bytes, got.bytes)) return h.sig;
    if (this._unverified && sameBytes(this._unverified, got.bytes)) return null; // asked already
    for (let i = 0; ; i++) {
      if (!this.pinned || !got.m.key || got.m.sequence <= 0) return null;
      const sig = await this._signature(got.bytes);
      if (sig) this._unverified = null;
      if (!sig && i === 1) this._unverified = got.bytes;
      if (sig || i === 1) return sig;
      const res = await this._ask(null);
      if (!res.ok) return null;
      Object.assign(got, await this._read(res));
    }
  }

  /** @param {Uint8Array} bytes @returns {Promise<Uint8Array|null>} the signature of `bytes`, if it verifies */
  async _signature(bytes) {
    const url = new URL(signatureURL(this.base), self.location.href).href;
    const res = await fetchWithin(url, { cache: 'no-store' }, this.deadline).catch(() => null);
    const sig = res && res.ok ? fromBase64(await res.text().catch(() => '')) : null;
    const ok = sig && (await openEnvelope(this.pinned, envelopeOf(sig, bytes)));
    if (!ok) debug.log?.('the origin\'s manifest is signed, but its signature did not verify: no envelope is held');
    return ok ? sig : null;
  }

  /**
   * Runs switches one at a time (an origin's answer and a peer's envelope may arrive together).
   * @template T @param {() => Promise<T>} fn @returns {Promise<T>}
   */
  _exclusive(fn) {
    const run = this._queue.then(fn);
    this._queue = run.catch(() => {});
    return run;
  }

  /**
   * The origin answered 304: the kept manifest is the origin's (unless a peer's newer one is in force),
   * and override headers it sent replace the kept ones. @param {Headers} headers
   */
  async _confirmed(headers) {
    if (this.from === 'stored') this.from = 'origin';
    const o = {
      trackers: headers.get(TRACKERS_HEADER) || this.overrides.trackers,
      iceServers: headers.get(ICE_SERVERS_HEADER) || this.overrides.iceServers,
    };
    if (!this.manifest || (o.trackers === this.overrides.trackers && o.iceServers === this.overrides.iceServers)) return this.manifest;
    this.overrides = o;
    applyOverrides(this.manifest, this._overrideHeaders());
    if (this.fallback) applyOverrides(this.fallback, this._overrideHeaders());
    const cache = await caches.open(metaCache(this.base));
    const kept = await cache.match(this.key);
    const from = this.from === 'peer' ? 'peer' : 'origin';
    if (kept) await cache.put(this.key, this._copy(new Uint8Array(await kept.arrayBuffer()), this.held?.sig ?? null, from));
    return this.manifest;
  }

  /**
   * The origin's manifest (a 200) takes over, unless it is a signed one older than the envelope held.
   * @param {Response} res @param {Uint8Array} bytes @param {Manifest} next @param {Uint8Array|null} sig
   */
  async _fromOrigin(res, bytes, next, sig) {
    const cur = this.manifest;
    const v = { etag: res.headers.get('etag') ?? '', lastModified: res.headers.get('last-modified') ?? '' };
    const was = this.validators;
    if (sig && this.held && cur && next.sequence < cur.sequence) {
      debug.log?.(`the origin's manifest (sequence ${next.sequence}) is older than the one in force (${cur.sequence}): kept`);
      return cur;
    }
    this.validators = v;
    this.overrides = { trackers: res.headers.get(TRACKERS_HEADER) ?? '', iceServers: res.headers.get(ICE_SERVERS_HEADER) ?? '' };
    if (next.disabled) return this._disable();
    if (cur && next.revision === cur.revision && next.sequence === cur.sequence && this.from !== 'peer') {
      // the same package: only what came with it (signature, overrides, validators) may have changed
      const changed = !!sig !== !!this.held || !sameOverrides(cur, next) || v.etag !== was.etag || v.lastModified !== was.lastModified;
      this.from = 'origin';
      this.manifest = next;
      this._hold(sig ? { sig, bytes } : null, !!sig !== !!this.held);
      if (changed) await this._save(bytes, sig, 'origin');
      return next;
    }
    await this._save(bytes, sig, 'origin');
    await (await caches.open(metaCache(this.base))).delete(this.fallbackKey).catch(() => false);
    this.fallback = null;
    this._take(next, sig ? { sig, bytes } : null, 'origin');
    return next;
  }

  /**
   * A peer's envelope (through the agent): taken over if it verifies under the pinned key and its
   * sequence is greater than the one in force (an unsigned manifest counts as 0). Never throws.
   * @param {Uint8Array} envelope
   * @returns {Promise<Adoption>}
   */
  adopt(envelope) {
    return this._exclusive(async () => {
      if (!this.pinned) return 'unpinned';
      const r = await checkEnvelope(this.pinned, envelope);
      if ('refused' in r) return r.refused;
      if (this.disabled) return 'disabled';
      const cur = await this.current();
      if (r.manifest.sequence <= (cur?.sequence ?? 0)) return 'sequence';
      if (r.manifest.disabled) {
        this._disable();
        return 'disabled';
      }
      const next = applyOverrides(r.manifest, this._overrideHeaders());
      const cache = await caches.open(metaCache(this.base));
      if (cur) { // (also of the same revision: a package whose files do not match it may come)
        const old = await cache.match(this.key);
        if (old) await cache.put(this.fallbackKey, old);
        this.fallback = cur;
      }
      await this._save(r.bytes, r.sig, 'peer');
      this._take(next, { sig: r.sig, bytes: r.bytes }, 'peer');
      return 'adopted';
    }).catch(() => /** @type {Adoption} */ ('invalid'));
  }

  /** @param {Manifest} next @param {Held|null} held @param {'origin'|'peer'} from */
  _take(next, held, from) {
    const prev = this.manifest;
    this.manifest = next;
    this.from = from;
    this._hold(held, true);
    this.onSwitch(next, prev);
  }

  /** @param {Held|null} held @param {boolean} changed whether the agent must hear of it */
  _hold(held, changed) {
    this.held = held;
    if (changed) this.onEnvelope();
  }

  _disable() {
    this.disabled = true;
    this.manifest = null;
    this.held = null;
    this.fallback = null;
    this.onDisabled();
    return null;
  }

  /**
   * The envelope note for the agent (protocol.js, op envelope): the pinned key ('' when none), the
   * sequence in force (what a peer's must beat) and the envelope held (a copy), or null.
   */
  envelopeNote() {
    const h = this.held;
    return {
      key: this.pinned,
      sequence: this.manifest?.sequence ?? 0,
      bytes: h ? envelopeOf(h.sig, h.bytes).buffer : null,
    };
  }

  /** The override headers in force. */
  _overrideHeaders() {
    const h = new Headers();
    if (this.overrides.trackers) h.set(TRACKERS_HEADER, this.overrides.trackers);
    if (this.overrides.iceServers) h.set(ICE_SERVERS_HEADER, this.overrides.iceServers);
    return h;
  }

  /** @param {Uint8Array} bytes @param {Uint8Array|null} sig @param {'origin'|'peer'} from */
  _copy(bytes, sig, from) {
    const headers = this._overrideHeaders();
    headers.set('content-type', 'application/json');
    headers.set('x-planktos-etag', this.validators.etag);
    headers.set('x-planktos-last-modified', this.validators.lastModified);
    headers.set(FROM_HEADER, from);
    if (sig) headers.set(SIG_HEADER, toBase64(sig));
    return new Response(/** @type {Uint8Array<ArrayBuffer>} */ (bytes), { headers });
  }

  /** Keeps the manifest in force's exact bytes. @param {Uint8Array} bytes @param {Uint8Array|null} sig @param {'origin'|'peer'} from */
  async _save(bytes, sig, from) {
    await (await caches.open(metaCache(this.base))).put(this.key, this._copy(bytes, sig, from));
  }
}

/** Whether two manifests have the same overridable fields. @param {Manifest} a @param {Manifest} b */
function sameOverrides(a, b) {
  return JSON.stringify([a.trackers, a.runtime.iceServers]) === JSON.stringify([b.trackers, b.runtime.iceServers]);
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
