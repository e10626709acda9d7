// Counters of what the service worker served, by source, and of the signed manifests peers offered
// it, kept across service-worker restarts.
import { metaCache } from '../common/names.js';

/** @typedef {'store'|'peers'|'http'|'network'} Source */
/** @typedef {import('./manifest.js').Adoption} Adoption */
/** @typedef {Exclude<Adoption, 'adopted'|'disabled'>} Refusal */

/** Why a peer's envelope was refused (sw/manifest.js's Adoption, common/signed.js's Refusal). */
const REFUSALS = /** @type {Refusal[]} */ (['signature', 'sequence', 'invalid', 'unpinned', 'unsupported']);

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
    /**
     * peers' envelopes (op adopt): taken over, kill switches obeyed, and refusals by reason
     * @type {{adopted: number, disabled: number, refused: Record<Refusal, number>}}
     */
    this.signed = {
      adopted: 0,
      disabled: 0,
      refused: /** @type {Record<Refusal, number>} */ (Object.fromEntries(REFUSALS.map((r) => [r, 0]))),
    };
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.timer = null;
    this.stopped = false;
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
      const sg = saved?.signed;
      if (sg) {
        this.signed.adopted += sg.adopted | 0;
        this.signed.disabled += sg.disabled | 0;
        for (const r of REFUSALS) this.signed.refused[r] += sg.refused?.[r] | 0;
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

  /** Counts what became of a peer's envelope. @param {Adoption} a */
  adoption(a) {
    if (a === 'adopted' || a === 'disabled') this.signed[a]++;
    else this.signed.refused[a]++;
    this.changed();
  }

  /** Stops keeping the counters (planktos is being removed: nothing may write its caches again). */
  stop() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  changed() {
    if (this.stopped) return;
    if (!this.timer) this.timer = setTimeout(() => { this.timer = null; void this.save(); }, 5000);
  }

  async save() {
    try {
      await this.loaded;
      if (this.stopped) return;
      const body = JSON.stringify({ ...this.served, waits: this.waits, signed: this.signed });
      await (await caches.open(metaCache(this.base))).put(this.key, new Response(body));
    } catch {
      // counters are best effort
    }
  }
}
