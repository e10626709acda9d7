// Reports from visitors, for the owner's dashboard (runtime.report = true only; off for a visitor who
// opted out of peers). The leading page agent sends, every 30 s and when its page goes away
// (pagehide), the bytes moved since its last report to each tracker of the manifest: a POST by
// navigator.sendBeacon (text/plain: no CORS preflight) to the tracker's HTTP form with the path
// /planktos/report (ws://h/announce → http://h/planktos/report, wss → https), body
//   {"v":1,"site":"<location.origin + base>","peers":N,"store":N,"http":N,"uploaded":N}
// (the figures of common/figures.js, as deltas; no URL, no address). Nothing is sent while no byte
// moved. The contract with the tracker's side is tracker/report.go's.
//
// What was reported is kept in localStorage (names.js reportedKey) per source counter, so that the next
// page's agent carries on where this one stopped: nothing is reported twice, and bytes a page could not
// report (it crashed) go with the next report. A counter found lower than reported (the worker's stats
// are saved every 5 s and a stopped worker may lose the last ones) only moves the mark down.
import { reportedKey } from '../common/names.js';
import { workerCounts } from '../common/figures.js';
import { optedOut } from './policy.js';

/** @typedef {import('../common/manifest.js').Manifest} Manifest */
/** @typedef {import('../common/figures.js').AgentCounts} AgentCounts */
/** @typedef {{peers: number, ahttp: number, uploaded: number, store: number, whttp: number}} Marks per source */

/** ms between two reports. */
export const REPORT_EVERY = 30000;
/** ms between two reads of the worker's counters: a pagehide report cannot wait for them. */
export const WORKER_EVERY = 5000;
/** The most one source may add in one report (the tracker refuses more than 2^40 per figure). */
const MAX = 2 ** 39;
/** The tracker's limit on a report's body. */
const MAX_BODY = 1024;
const SOURCES = /** @type {Array<keyof Marks>} */ (['peers', 'ahttp', 'uploaded', 'store', 'whttp']);

/**
 * The report URL of a WebSocket tracker's announce URL; null for any other tracker.
 * @param {string} announce
 */
export function reportURL(announce) {
  let u;
  try {
    u = new URL(announce);
  } catch {
    return null;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return null;
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}/planktos/report`;
}

export class Reporter {
  /**
   * @param {object} o
   * @param {string} o.base the site's base path
   * @param {string} o.site location.origin + base
   * @param {() => Manifest|null} o.manifest the manifest in force
   * @param {() => AgentCounts} o.agent the agent's counters now
   * @param {() => Promise<any>} o.stats what planktos.stats() answers (the worker's counters)
   * @param {(url: string, body: string) => boolean} o.send navigator.sendBeacon
   * @param {Storage|null} o.storage where the marks are kept (localStorage)
   */
  constructor(o) {
    this.o = o;
    /** @type {{store: number, http: number}|null} the worker's counters as last read */
    this.worker = null;
    /** @type {Marks} what was reported so far */
    this.marks = this.load();
  }

  /** Whether reports are on: the site's setting, unless the visitor opted out of peers. */
  on() {
    const m = this.o.manifest();
    return !!m && m.runtime.report && !optedOut(this.o.base);
  }

  /** Reads the worker's counters (they come with the next report). */
  async refresh() {
    if (!this.on()) return;
    const w = workerCounts(await this.o.stats().catch(() => null));
    if (w) this.worker = w;
  }

  /**
   * Sends the bytes moved since the last report to every tracker, at once (it also runs on pagehide).
   * @returns {boolean} whether a report went
   */
  report() {
    const m = this.o.manifest();
    if (!m || !this.on()) return false;
    const urls = [...new Set(m.trackers.map(reportURL))].filter((u) => u !== null);
    if (urls.length === 0) return false;
    const { next, d } = this.deltas();
    if (SOURCES.every((k) => d[k] === 0)) {
      this.marks = next; // only marks moved down
      return false;
    }
    const body = JSON.stringify({ v: 1, site: this.o.site, peers: d.peers, store: d.store, http: d.ahttp + d.whttp, uploaded: d.uploaded });
    if (body.length > MAX_BODY) return false;
    let sent = false;
    for (const u of urls) sent = this.o.send(/** @type {string} */ (u), body) || sent;
    if (!sent) return false;
    this.marks = next;
    this.save();
    return true;
  }

  /** What each source moved since its mark, and the marks after reporting it. */
  deltas() {
    const a = this.o.agent();
    const w = this.worker;
    /** @type {Record<keyof Marks, number|undefined>} undefined: not known (no worker read yet) */
    const now = { peers: a.peers, ahttp: a.http, uploaded: a.uploaded, store: w?.store, whttp: w?.http };
    const next = { ...this.marks };
    const d = /** @type {Marks} */ ({ peers: 0, ahttp: 0, uploaded: 0, store: 0, whttp: 0 });
    for (const k of SOURCES) {
      const v = now[k];
      if (v === undefined) continue;
      if (v < next[k]) next[k] = v; // the counter restarted lower: its lost bytes were reported already
      d[k] = Math.min(v - next[k], MAX);
      next[k] += d[k];
    }
    return { next, d };
  }

  /** Reports every REPORT_EVERY ms and on pagehide; reads the worker's counters every WORKER_EVERY ms. */
  start() {
    void this.refresh();
    setInterval(() => void this.refresh(), WORKER_EVERY);
    setInterval(() => void this.refresh().then(() => this.report()), REPORT_EVERY);
    addEventListener('pagehide', () => this.report());
  }

  /** @returns {Marks} */
  load() {
    /** @type {Marks} */
    const m = { peers: 0, ahttp: 0, uploaded: 0, store: 0, whttp: 0 };
    try {
      const saved = JSON.parse(this.o.storage?.getItem(reportedKey(this.o.base)) ?? '{}');
      for (const k of SOURCES) if (Number.isSafeInteger(saved[k]) && saved[k] > 0) m[k] = saved[k];
    } catch {
      // nothing reported yet
    }
    return m;
  }

  save() {
    try {
      this.o.storage?.setItem(reportedKey(this.o.base), JSON.stringify(this.marks));
    } catch {
      // storage blocked: the next agent reports from zero (the tracker's totals count some bytes twice)
    }
  }
}

/**
 * Starts the page agent's reports (they follow the manifest: nothing goes while it says report = false).
 * @param {string} base
 * @param {() => Manifest|null} manifest
 * @param {() => AgentCounts} agent
 */
export function startReports(base, manifest, agent) {
  /** @type {Storage|null} */
  let storage = null;
  try {
    storage = localStorage;
  } catch {
    // blocked: marks live as long as the page
  }
  const r = new Reporter({
    base,
    site: location.origin + base,
    manifest,
    agent,
    stats: () => /** @type {any} */ (window).planktos?.stats() ?? Promise.resolve(null),
    send: (url, body) => navigator.sendBeacon(url, body),
    storage,
  });
  r.start();
  return r;
}
