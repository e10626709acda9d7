// planktos page agent (planktos/peer.js), loaded by install.js once the service worker is registered
// and the page is idle — or at once when the service worker needs peers. One tab per site
// leads, through the Web Locks API: a new tab queues behind the leader and never steals it. The leader
// runs WebTorrent, serves the service worker's requests for peers' bytes, seeds the local store and
// prefetches the site per the configured policy. On a first visit it also asks again, through the
// service worker, for the page's images and stylesheets that failed before it took control.
import { Store } from '../common/store.js';
import { agentCountsKey, agentLock, metaCache, manifestURL, fileURL, keyURL } from '../common/names.js';
import { verify } from '../common/verify.js';
import { manifestFrom } from '../common/manifest.js';
import { AgentServer } from './server.js';
import { prefetchPlan, pool } from './prefetch.js';
import { meteredConnection, optedOut, p2pMode } from './policy.js';
import { Swarm } from './swarm.js';
import { Exchange } from './exchange.js';
import { repairOnControl } from './repair.js';
import { Op, WIN_AGENT, WIN_NEED_AGENT } from '../common/protocol.js';
import { reloadOnRevision } from './revision.js';
import { debug, debugWanted } from '../common/debug.js';
import { startReports } from './report.js';
import { loadBadge } from '../badge/load.js';

/** @typedef {import('../common/manifest.js').Manifest} Manifest */
/** @typedef {{peers: number, http: number, uploaded: number}} Counts */

const loadedAt = performance.now();
const script = /** @type {HTMLScriptElement|null} */ (document.currentScript);
const base = new URL('..', script ? script.src : location.href).pathname;

class Agent {
  constructor() {
    this.store = new Store(base);
    /** @type {Manifest|null} */
    this.manifest = null;
    /** @type {Swarm|null} */
    this.swarm = null;
    /** signed manifests between peers (ut_planktos); a test may `hold` any bytes to act as a hostile peer */
    this.exchange = new Exchange();
    this.exchange.onAdopt = (bytes) => this.port?.postMessage({ op: Op.adopt, bytes }, [bytes]);
    /** @type {Counts} bytes from peers, over HTTP and uploaded, across this site's agents */
    this.counts = loadCounts();
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.saveTimer = undefined;
    /** @type {MessagePort|null} */
    this.port = null;
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.prefetchTimer = undefined;
    /** @type {Promise<void>|null} */
    this.prefetching = null;
    this.again = false;
    this.peersStalled = false;
    /** whether the origin answers, as the service worker last said (see protocol.js op origin) */
    this.originUp = true;
    /** @type {() => void} */
    this.originKnown = () => {};
    /** resolves once the service worker said whether the origin answers */
    this.originNote = new Promise((r) => { this.originKnown = () => r(undefined); });
    /** @type {(v?: unknown) => void} */
    this.started = () => {};
    /** resolves once the first manifest was followed: the swarm exists, or there is none */
    this.ready = new Promise((r) => { this.started = r; });
    this.server = new AgentServer(() => this.ready.then(() => this.swarm), () => this.stats(), (m) => this.onNote(m));
  }

  async start() {
    debug.who = 'agent';
    debug.set(debugWanted());
    const sw = navigator.serviceWorker;
    sw.addEventListener('message', (e) => { if (e.data && e.data.planktos === WIN_NEED_AGENT) void this.connect(); });
    addEventListener('pagehide', () => {
      saveCounts(this.counts);
      this.port?.postMessage({ op: Op.bye });
    });
    /** @type {any} */ (navigator).connection?.addEventListener?.('change', () => void this.reload(true).catch(() => {}));
    // reports to the trackers' dashboards, while the manifest says report = true (see report.js)
    startReports(base, () => this.manifest, () => this.counts);
    // the swarm starts while the service worker still installs (a first visit): it waits for nobody
    void this.connect().catch(() => {});
    await this.reload().finally(() => this.started());
    // the mode also follows what no event reports reliably (an opt-out in another tab whose note the
    // service worker could not pass on, a connection's save-data that fired no change)
    let last = this.mode();
    setInterval(() => {
      const now = this.mode();
      if (now !== last) void this.reload(true).catch(() => {});
      last = now;
    }, 2000);
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  }

  /** Hands the service worker a fresh port to this agent. */
  async connect() {
    const reg = await navigator.serviceWorker.ready;
    if (!reg.active) return;
    const ch = new MessageChannel();
    this.server.listen(ch.port1);
    this.port?.close();
    this.port = ch.port1;
    reg.active.postMessage({ planktos: WIN_AGENT }, [ch.port2]);
    this.port.postMessage({ op: Op.debug, on: debug.on });
    if (this.swarm?.firstPeerAt != null) this.port.postMessage({ op: Op.reach, ok: true });
  }

  /** Reads the manifest the service worker keeps (or, failing that, the origin's), with a preview's overrides. */
  async loadManifest() {
    const key = new URL(manifestURL(base), location.href).href;
    return manifestFrom(await (await caches.open(metaCache(base))).match(key) ?? await fetch(key));
  }

  /**
   * The P2P mode in force: the site's setting, the visitor's opt-out, the connection; 'unsupported'
   * where the browser has no WebRTC.
   * @returns {'on'|'download-only'|'off'|'unsupported'}
   */
  mode() {
    const site = this.manifest ? this.manifest.runtime.p2p : 'off';
    const mode = p2pMode(site, optedOut(base), /** @type {any} */ (navigator).connection);
    return mode !== 'off' && typeof RTCPeerConnection !== 'function' ? 'unsupported' : mode;
  }

  /** The counters changed: keep them soon. */
  counted() {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => { this.saveTimer = undefined; saveCounts(this.counts); }, 1000);
  }

  /**
   * Follows the current manifest (torrents to join or leave, files to prefetch) and the P2P mode.
   * @param {boolean} force also when the revision did not change (the visitor's choice or connection did)
   */
  async reload(force = false) {
    const m = await this.loadManifest();
    if (!force && this.manifest && this.manifest.revision === m.revision) return;
    this.manifest = m;
    const mode = this.mode();
    const p2p = (mode === 'on' || mode === 'download-only') && m.torrents.length > 0;
    if (!p2p && this.swarm) {
      this.swarm.destroy();
      this.swarm = null;
    }
    if (p2p && !this.swarm) {
      this.swarm = new Swarm(base, this.store, m, this.counts, this.exchange);
      this.swarm.originUp = this.originUp;
      this.swarm.onPeer = () => this.schedulePrefetch();
      // the service worker waits for peers only where they proved reachable (see sw/agent-link.js)
      this.swarm.onReach = (ok) => this.port?.postMessage({ op: Op.reach, ok });
      this.swarm.onCount = () => this.counted();
    }
    this.swarm?.setUploads(mode === 'on');
    this.started();
    // the worker says at once (on the agent's port) whether the origin answers: joining before that
    // could fetch .torrent files from an origin that is down
    await Promise.race([this.originNote, new Promise((r) => setTimeout(r, 1000))]);
    if (this.swarm) await this.swarm.sync(m);
    await this.prefetch(m);
  }

  /** Prefetches again soon (a new peer may have what HTTP could not give). */
  schedulePrefetch() {
    clearTimeout(this.prefetchTimer);
    this.prefetchTimer = setTimeout(() => {
      if (this.manifest) void this.prefetch(this.manifest).catch(() => {});
    }, 500);
  }

  /** @param {any} msg */
  onNote(msg) {
    if (msg.op === Op.stored) this.swarm?.rescan(msg.sha);
    if (msg.op === Op.origin) {
      const was = this.originUp;
      this.originUp = msg.up !== false;
      this.originKnown();
      if (this.swarm) this.swarm.originUp = this.originUp;
      // back online: join what could not be joined without the origin
      if (this.originUp && !was && this.swarm && this.manifest) void this.swarm.sync(this.manifest).catch(() => {});
      if (this.originUp && !was) this.schedulePrefetch();
    }
    if (msg.op === Op.manifest) void this.reload().catch(() => {});
    if (msg.op === Op.envelope) this.exchange.hold(msg.key, msg.sequence, msg.bytes);
    if (msg.op === Op.policy) void this.reload(true).catch(() => {});
  }

  /** Runs one prefetch pass at a time. @param {Manifest} m */
  prefetch(m) {
    if (this.prefetching) {
      this.again = true;
      return this.prefetching;
    }
    this.prefetching = this.prefetchPass(m).finally(() => {
      this.prefetching = null;
      if (this.again && this.manifest) {
        this.again = false;
        void this.prefetch(this.manifest);
      }
    });
    return this.prefetching;
  }

  /** @param {Manifest} m */
  async prefetchPass(m) {
    this.peersStalled = false;
    const items = prefetchPlan(m, await this.store.list(), meteredConnection(/** @type {any} */ (navigator).connection));
    await pool(items, 3, async (item) => {
      if (this.manifest !== m) return;
      if (await this.fromPeers(item.sha, item.size)) return;
      if (!this.originUp) return; // (each fetch would fail, and log): the origin's return prefetches again
      for (const url of [fileURL(base, item.sha), keyURL(item.key, base)]) {
        if (await this.fromHTTP(url, item.sha, item.size).catch(() => false)) return;
      }
    });
  }

  /**
   * Downloads a whole file from peers (the chunk store verifies and keeps it), if a connected peer has
   * it — waiting for the first connection only while the swarm is young and peers are not known to be
   * unreachable (see Swarm.patience). Gives up when no byte comes for 3 s (peers that choke us, as
   * download-only visitors do, or that left); after such a stall the rest of this pass goes over HTTP.
   * @param {string} sha @param {number} size
   */
  async fromPeers(sha, size) {
    if (this.peersStalled || !this.swarm) return false;
    const f = await this.swarm.want(sha, 0, size - 1, this.swarm.patience());
    if (!f) {
      debug.log?.('prefetch', sha, 'over HTTP: no connected peer has it', this.swarm.info());
      return false;
    }
    const it = f.file[Symbol.asyncIterator]();
    let got = 0;
    for (;;) {
      /** @type {ReturnType<typeof setTimeout>|undefined} */
      let t;
      const stall = new Promise((r) => { t = setTimeout(() => r(null), 3000); });
      const step = /** @type {IteratorResult<Uint8Array>|null} */ (await Promise.race([it.next(), stall]));
      clearTimeout(t);
      if (!step) {
        it.destroy();
        this.peersStalled = true;
        return false;
      }
      if (step.done) break;
      got += step.value.length;
    }
    // every piece came, checked; the chunk store checks the file's SHA-256 and keeps it — for a big file
    // after the last piece was reported, so it may not be in the store yet: never fetch it again for that
    return got === size;
  }

  /**
   * Downloads a file over HTTP, verifies and keeps it.
   * @param {string} url @param {string} sha @param {number} size
   * @returns {Promise<boolean>} whether it was kept
   */
  async fromHTTP(url, sha, size) {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), 10000 + size / 25);
    try {
      const res = await fetch(url, { signal: ac.signal, cache: 'no-cache' });
      if (res.status !== 200) return false;
      const buf = await res.arrayBuffer();
      if (buf.byteLength !== size || !(await verify(buf, sha))) return false;
      await this.store.put(sha, new Blob([buf]));
      this.counts.http += size;
      this.counted();
      this.swarm?.rescan(sha);
      return true;
    } finally {
      clearTimeout(t);
    }
  }

  stats() {
    const sw = this.swarm;
    const s = sw ? sw.info() : { torrents: 0, peers: 0, others: 0 };
    const ms = (/** @type {number|null|undefined} */ t) => (t == null ? null : Math.round(t));
    return {
      leader: true,
      p2p: this.mode(),
      torrents: s.torrents,
      peers: s.peers,
      // peers the trackers named, and whether peers proved unreachable (no connection formed)
      named: s.others,
      unreachable: sw ? sw.unreachable() : false,
      // ms from this page's navigation start to its agent's first peer connection and first peer byte
      firstPeer: ms(sw?.firstPeerAt),
      firstPeerByte: ms(sw?.firstByteAt),
      // ms from navigation start: this script ran, its swarm started, a torrent was ready, a tracker replied
      timeline: { script: ms(loadedAt), swarm: ms(sw?.times.start), ready: ms(sw?.times.ready), tracker: ms(sw?.times.tracker) },
      downloaded: { peers: this.counts.peers, http: this.counts.http },
      uploaded: this.counts.uploaded,
      // ut_planktos: offers, requests, wire bytes both ways, envelopes handed to the worker, peers refused
      exchange: this.exchange.stats(),
    };
  }
}

/** The counters kept by this site's earlier agents. @returns {Counts} */
function loadCounts() {
  /** @type {Counts} */
  const c = { peers: 0, http: 0, uploaded: 0 };
  try {
    const saved = JSON.parse(localStorage.getItem(agentCountsKey(base)) ?? '{}');
    for (const k of /** @type {Array<keyof Counts>} */ (['peers', 'http', 'uploaded'])) {
      if (Number.isSafeInteger(saved[k]) && saved[k] > 0) c[k] = saved[k];
    }
  } catch {
    // counters start from zero
  }
  return c;
}

/** @param {Counts} c */
function saveCounts(c) {
  try {
    localStorage.setItem(agentCountsKey(base), JSON.stringify(c));
  } catch {
    // counters are best effort
  }
}

function main() {
  if (!('serviceWorker' in navigator) || !navigator.locks) return;
  // in every page, leading or not: the badge shows this browser's figures (nothing loads when it is off)
  void loadBadge(base, /** @type {any} */ (window).planktos?.ready).catch(() => {});
  repairOnControl();
  reloadOnRevision(base); // before the lock: every tab follows a revision from peers
  void navigator.locks.request(agentLock(base), async () => {
    const agent = new Agent();
    /** @type {any} */ (window).planktosAgent = agent;
    await agent.start().catch(() => {});
    await new Promise(() => {}); // lead while this page lives
  }).catch(() => {}); // locks refused (storage blocked): the page works without its agent
}

try {
  main();
} catch {
  // the page works without its agent
}
