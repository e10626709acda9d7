// Counters of what the service worker served, by source, kept across service-worker restarts.
import { metaCache } from '../common/names.js';

/** @typedef {'store'|'peers'|'http'|'network'} Source */

export class Stats {
  /** @param {string} base */
  constructor(base) {
    this.base = base;
    /** @type {Record<Source, {bytes: number, requests: number}>} */
    this.served = {
      store: { bytes: 0, requests: 0 },
      peers: { bytes: 0, requests: 0 },
      http: { bytes: 0, requests: 0 },
      network: { bytes: 0, requests: 0 },
    };
    /** requests that waited for peers because HTTP failed: how many, how long in all, how many got them */
    this.waits = { requests: 0, ms: 0, served: 0 };
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.timer = null;
    this.loaded = this._load();
  }

  get key() {
    return new URL(`${this.base}planktos/stats`, self.location.href).href;
  }

  async _load() {
    try {
      const res = await (await caches.open(metaCache(this.base))).match(this.key);
      const saved = res ? await res.json() : null;
      const w = saved?.waits;
      if (w && Number.isFinite(w.ms)) {
        this.waits.requests += w.requests | 0;
        this.waits.ms += w.ms;
        this.waits.served += w.served | 0;
      }
      for (const k of /** @type {Source[]} */ (Object.keys(this.served))) {
        const s = saved?.[k];
        if (s && Number.isFinite(s.bytes)) {
          this.served[k].bytes += s.bytes;
          this.served[k].requests += s.requests | 0;
        }
      }
    } catch {
      // counters start from zero
    }
  }

  /**
   * Counts one answer.
   * @param {Source} source
   * @param {number} bytes
   */
  add(source, bytes) {
    this.served[source].bytes += bytes;
    this.served[source].requests++;
    this.changed();
  }

  /**
   * Counts a request that waited for peers.
   * @param {number} ms
   * @param {boolean} served whether peers then answered it
   */
  waited(ms, served) {
    this.waits.requests++;
    this.waits.ms += ms;
    if (served) this.waits.served++;
    this.changed();
  }

  changed() {
    if (!this.timer) this.timer = setTimeout(() => { this.timer = null; void this.save(); }, 5000);
  }

  async save() {
    try {
      await this.loaded;
      const body = JSON.stringify({ ...this.served, waits: this.waits });
      await (await caches.open(metaCache(this.base))).put(this.key, new Response(body));
    } catch {
      // counters are best effort
    }
  }
}
