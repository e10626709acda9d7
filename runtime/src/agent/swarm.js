// The page agent's WebTorrent client: joins the manifest's torrents that it needs (see joins.js) with
// the manifest's trackers and ICE servers, seeds from the local store (see chunk-store.js), downloads
// from peers only (HTTP is planktos's own path, verified by SHA-256, so web seeds are off here) and
// counts bytes. It also learns whether peers can be reached at all: when the trackers name peers but no
// connection forms (no STUN server, a strict NAT), it says so (see unreachable), and nothing waits for
// peers until one connects.
//
// Signed manifests travel on every wire it opens (ut_planktos, see exchange.js), and a signed site's
// agent also joins its site swarm (siteSwarm of the manifest's key): a torrent without metadata, never
// counted as joined, where visitors on different revisions (no torrent in common) and the Go seeder
// meet. A torrent whose .torrent is not kept while the origin does not answer (a revision that came
// from peers while the origin is down) is joined by infohash; its metadata comes from peers (BEP 9, checked
// against the infohash) and is kept as a fetched .torrent is.
import WebTorrent from 'webtorrent/dist/webtorrent.min.js';
import { chunkStoreClass } from './chunk-store.js';
import { MAX_JOINED, Presence, leastUsed, seedSet, torrentsByHash } from './joins.js';
import { verify } from '../common/verify.js';
import { metaCache, unreachableKey } from '../common/names.js';
import { PieceStore } from '../common/pieces.js';
import { allow, markMissing, onBadPiece, pieceSpan, refuse, rescanPieces } from './webtorrent.js';
import { debug } from '../common/debug.js';
import { siteSwarm } from '../common/exchange.js';

/**
 * ms a background download (prefetch) waits for peers after the swarm was joined, while the trackers
 * name other peers: time for the first connection (about 1 s with STUN in the field).
 */
export const PEER_GRACE = 3000;
/** ms after the trackers first named other peers with no connection formed: peers are unreachable. */
const UNREACHABLE_AFTER = 4000;
/** How long an "unreachable" verdict holds for the next agents (ms). */
const UNREACHABLE_FOR = 10 * 60 * 1000;
/**
 * Offers sent per announce (WebTorrent sends 5): each is a WebRTC connection gathering candidates, on
 * every joined torrent; a swarm of a site's visitors is small, and more peers come from their offers.
 */
const OFFERS = 2;
/**
 * ms that following a manifest (sync) waits for the metadata of torrents joined by infohash; later, once
 * it arrives, onPeer says so (a prefetch goes again).
 */
const METADATA_WAIT = PEER_GRACE;

/** @typedef {import('../common/manifest.js').Manifest} Manifest */
/** @typedef {import('../common/store.js').Store} Store */

/** localStorage, or null where it is blocked. */
function local() {
  try {
    return self.localStorage;
  } catch {
    return null;
  }
}

export class Swarm {
  /**
   * @param {string} base
   * @param {Store} store
   * @param {Manifest} m
   * @param {{peers: number, uploaded: number}} counts
   * @param {import('./exchange.js').Exchange|null} exchange ut_planktos, put on every wire
   */
  constructor(base, store, m, counts, exchange = null) {
    this.base = base;
    this.counts = counts;
    this.exchange = exchange;
    /** @type {{id: string, torrent: any}|null} the site swarm joined: its key and trackers, and torrent */
    this.site = null;
    /** whether peers may download from here (see setUploads) */
    this.uploads = true;
    this.client = new WebTorrent({
      dht: false, lsd: false, webSeeds: false, natUpnp: false, natPmp: false,
      tracker: { rtcConfig: { iceServers: m.runtime.iceServers }, getAnnounceOpts: () => ({ numwant: OFFERS }) },
    });
    this.client.on('error', () => {});
    /** @type {Map<string, any>} infohash → torrent */
    this.torrents = new Map();
    /** @type {Map<string, {used: number, busy: number, joined: number, presence: Presence}>} */
    this.use = new Map();
    /** @type {Map<string, Promise<void>>} infohash → a join under way */
    this.joining = new Map();
    this.m = m;
    this.where = torrentsByHash(m);
    this.store = store;
    this.pieces = new PieceStore(base);
    /** @type {Promise<Map<string, Set<number>>>} pieces kept from earlier sessions, by infohash */
    this.kept = this.pieces.all().catch(() => new Map());
    this.Store = chunkStoreClass(store, verify, () => {}, this.pieces);
    /** @type {() => void} */
    this.onPeer = () => {};
    /** @type {() => void} told when a byte counter changed */
    this.onCount = () => {};
    /** @type {(ok: boolean) => void} told when a peer first connected (true) or peers proved unreachable */
    this.onReach = () => {};
    this.started = Date.now();
    /** performance.now() of the first peer connection and of the first byte from a peer, or null */
    this.firstPeerAt = /** @type {number|null} */ (null);
    this.firstByteAt = /** @type {number|null} */ (null);
    /** performance.now() of the swarm's start, its first torrent ready, the trackers' first reply */
    this.times = { start: performance.now(), ready: /** @type {number|null} */ (null), tracker: /** @type {number|null} */ (null) };
    /** @type {ReturnType<typeof setTimeout>|undefined} */
    this.reachTimer = undefined;
    /** connections refused because the peer sent a bad piece before */
    this.refused = 0;
    /**
     * whether the origin answers (the service worker tells, see protocol.js op origin): while it does
     * not, only torrents whose .torrent is kept are joined
     */
    this.originUp = true;
  }

  /**
   * Whether peers proved unreachable lately (here or in an earlier agent of this site) and none
   * connected since: then nothing should wait for them.
   */
  unreachable() {
    if (this.firstPeerAt !== null) return false;
    const at = Number(local()?.getItem(unreachableKey(this.base)));
    return at > 0 && Date.now() - at < UNREACHABLE_FOR;
  }

  /** ms a background download may still wait for peers (0: go over HTTP now). */
  patience() {
    if (this.unreachable()) return 0;
    return Math.max(0, this.started + PEER_GRACE - Date.now());
  }

  /** The trackers named other peers: if none connects in time, they are unreachable. */
  othersNamed() {
    if (this.firstPeerAt !== null || this.reachTimer) return;
    this.reachTimer = setTimeout(() => {
      if (this.firstPeerAt !== null) return;
      local()?.setItem(unreachableKey(this.base), String(Date.now()));
      debug.log?.(`peers unreachable: the trackers named some, none connected in ${UNREACHABLE_AFTER} ms ` +
        '(no STUN server in ice_servers, or strict NATs); reads go over HTTP for the next 10 minutes');
      this.onReach(false);
    }, UNREACHABLE_AFTER);
  }

  /** A peer connected. */
  connected() {
    if (this.firstPeerAt !== null) return;
    this.firstPeerAt = performance.now();
    clearTimeout(this.reachTimer);
    local()?.removeItem(unreachableKey(this.base));
    this.onReach(true);
  }

  /**
   * Follows manifest `m`: leaves the torrents it no longer lists and joins those of the stored files
   * (to seed them), at most MAX_JOINED.
   * @param {Manifest} m
   */
  async sync(m) {
    this.m = m;
    this.where = torrentsByHash(m);
    void this.joinSite(m).catch(() => {});
    const want = new Set(m.torrents.map((t) => t.infohash));
    for (const ih of this.torrents.keys()) if (!want.has(ih)) this.leave(ih);
    const seed = seedSet(this.where, await this.store.list(), MAX_JOINED - this.torrents.size);
    await Promise.all(seed.map((t) => within(this.join(t).catch(() => {}), METADATA_WAIT)));
  }

  /**
   * Joins the site swarm of the manifest's key with its trackers (leaving the one of another key or
   * trackers); an unsigned manifest has none.
   * @param {Manifest} m
   */
  async joinSite(m) {
    const id = m.key ? JSON.stringify([m.key, m.trackers]) : '';
    if (this.site?.id === id || (!this.site && !id)) return;
    this.site?.torrent?.destroy();
    this.site = id ? { id, torrent: null } : null;
    if (!id || !this.exchange) return;
    const ih = await siteSwarm(m.key);
    if (this.site?.id !== id || this.client.destroyed) return;
    const t = this.client.add(`magnet:?xt=urn:btih:${ih}`, { announce: m.trackers, deselect: true });
    this.site.torrent = t;
    t.on('error', () => {});
    t.on('wire', (/** @type {any} */ wire) => {
      debug.log?.('peer connected', wire.remoteAddress, wire.type, 'in the site swarm', ih);
      this.exchange?.attach(wire);
      if (!this.uploads) refuse(wire);
    });
  }

  /**
   * Joins a torrent of the current manifest, leaving the least recently used idle one if MAX_JOINED
   * are joined. Resolves once the torrent is ready (its files known) or failed.
   * @param {import('../common/manifest.js').TorrentEntry} entry
   */
  async join(entry) {
    const ih = entry.infohash;
    const pending = this.joining.get(ih);
    if (pending) return pending;
    if (this.torrents.has(ih)) return;
    const p = this._join(entry).finally(() => this.joining.delete(ih));
    this.joining.set(ih, p);
    return p;
  }

  /** @param {import('../common/manifest.js').TorrentEntry} entry */
  async _join(entry) {
    const m = this.m;
    const [buf, stored, keptAll] = await Promise.all([this.torrentFile(entry), this.store.list(), this.kept]);
    let kept = keptAll.get(entry.infohash);
    if (!kept) keptAll.set(entry.infohash, (kept = new Set()));
    if (this.torrents.has(entry.infohash) || this.m !== m) return;
    while (this.torrents.size >= MAX_JOINED) {
      const old = leastUsed(this.use);
      if (!old) break;
      this.leave(old);
    }
    // Pieces lying in files of the store need no SHA-1 pass on every page load: those files were
    // checked against the manifest's SHA-256; nor do pieces kept from peers (checked before they were
    // kept). skipVerify marks every piece verified; on 'ready' — before WebTorrent looks at its
    // bitfield, tells peers or selects anything — the other pieces touching a file not in the store
    // are unmarked.
    const t = this.client.add(buf ?? `magnet:?xt=urn:btih:${entry.infohash}`, {
      announce: m.trackers, store: this.Store, deselect: true, storeCacheSlots: 0, destroyStoreOnDestroy: false,
      skipVerify: true, storeOpts: { kept },
    });
    // a file's iterator waits on the torrent's events: several reads of one torrent at once are normal
    t.setMaxListeners?.(64);
    const presence = new Presence(m.trackers.length);
    this.torrents.set(entry.infohash, t);
    this.use.set(entry.infohash, { used: Date.now(), busy: 0, joined: Date.now(), presence });
    const ready = new Promise((resolve) => {
      t.once('ready', () => {
        /** @type {Map<string, any>} */
        const byName = new Map();
        for (const f of t.files) {
          byName.set(f.name, f);
          if (stored.has(f.name)) continue;
          const [first, last] = pieceSpan(t, f);
          for (let i = first; i <= last; i++) if (t.bitfield.get(i) && !kept.has(i)) markMissing(t, i);
        }
        t.planktosFiles = byName;
        this.times.ready ??= performance.now();
        t.discovery?.tracker?.on('update', (/** @type {any} */ r) => {
          this.times.tracker ??= performance.now();
          presence.update(r);
          debug.log?.('tracker', r.announce, 'for', entry.infohash, `${r.complete} seeders, ${r.incomplete} leechers`);
          if (presence.others > 0) this.othersNamed();
        });
        resolve(undefined);
      });
      t.once('close', () => resolve(undefined));
    });
    // WebTorrent drops a piece that fails its SHA-1 check but keeps asking the peer that sent it: the
    // peers that sent blocks of a failed piece are disconnected here, and not met again in this torrent
    /** @type {Map<number, Set<any>>} piece → wires that sent blocks of it, until it is verified */
    const senders = new Map();
    /** @type {Set<string>} peer ids of peers that sent a bad piece */
    const banned = new Set();
    t.on('verified', (/** @type {number} */ i) => senders.delete(i));
    onBadPiece(t, (i) => {
      for (const w of senders.get(i) ?? []) {
        debug.log?.('dropping peer', w.remoteAddress, w.peerId, `for good: it sent blocks of piece ${i} of`,
          entry.infohash, 'which failed its SHA-1 check');
        if (w.peerId) banned.add(w.peerId);
        w.destroy();
      }
      senders.delete(i);
    });
    if (!buf) {
      debug.log?.('joining', entry.infohash, 'by infohash: its .torrent is neither kept nor fetched; metadata from peers');
      t.once('metadata', () => void this.keepTorrent(entry, t.torrentFile).catch(() => {}));
      t.once('ready', () => this.onPeer()); // files that could not come from peers before may now
    }
    t.on('error', () => this.leave(entry.infohash));
    t.on('infoHash', () => { if (t.infoHash !== entry.infohash) this.leave(entry.infohash); });
    t.on('wire', (/** @type {any} */ wire) => {
      if (wire.peerId && banned.has(wire.peerId)) { // 'wire' comes after the handshake
        debug.log?.('refusing peer', wire.peerId, 'again: it sent a bad piece of', entry.infohash);
        this.refused++;
        return void wire.destroy();
      }
      debug.log?.('peer connected', wire.remoteAddress, wire.type, 'in', entry.infohash);
      this.exchange?.attach(wire);
      wire.once('close', () => debug.log?.('peer left', wire.remoteAddress, 'of', entry.infohash));
      wire.on('piece', (/** @type {number} */ i) => {
        let s = senders.get(i);
        if (!s) senders.set(i, (s = new Set()));
        s.add(wire);
      });
      // the wire's own events count piece bytes only (the torrent's count every protocol byte too)
      wire.on('download', (/** @type {number} */ n) => {
        if (this.firstByteAt === null) this.firstByteAt = performance.now();
        this.counts.peers += n;
        this.onCount();
      });
      wire.on('upload', (/** @type {number} */ n) => { this.counts.uploaded += n; this.onCount(); });
      this.connected();
      this.onPeer();
      if (!this.uploads) refuse(wire);
    });
    await ready;
  }

  /**
   * Lets peers download from here, or not (download-only: every peer stays choked).
   * @param {boolean} on
   */
  setUploads(on) {
    this.exchange?.setUploads(on);
    if (on === this.uploads) return;
    this.uploads = on;
    for (const t of [...this.torrents.values(), this.site?.torrent]) {
      if (!t) continue;
      for (const w of t.wires) {
        if (on) allow(w);
        else refuse(w);
      }
    }
  }

  /** Leaves a torrent (its files stay in the store). @param {string} ih */
  leave(ih) {
    const t = this.torrents.get(ih);
    this.torrents.delete(ih);
    this.use.delete(ih);
    if (t && !t.destroyed) t.destroy();
  }

  /**
   * A .torrent, kept in the site's meta cache: its URL names its infohash, so a kept copy never goes
   * stale, and the swarm can be joined (and the store seeded) while the origin is down. null when it is
   * not kept and the origin does not answer: the torrent is joined by infohash. Throws when the origin
   * answers with an error (a package that lacks it: nobody has it to join).
   * @param {import('../common/manifest.js').TorrentEntry} entry
   * @returns {Promise<Uint8Array|null>}
   */
  async torrentFile(entry) {
    const url = this.torrentURL(entry);
    const cache = await caches.open(metaCache(this.base));
    let res = await cache.match(url);
    if (!res) {
      if (!this.originUp) return null; // fetching would fail, and log on the page's console
      res = await fetch(url).catch(() => undefined);
      if (!res) return null;
      if (!res.ok) throw new Error(`torrent ${entry.infohash}: HTTP ${res.status}`);
      await cache.put(url, res.clone());
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  /** @param {import('../common/manifest.js').TorrentEntry} entry */
  torrentURL(entry) {
    return new URL(entry.url, location.origin + this.base).href;
  }

  /**
   * Keeps a .torrent whose metadata came from peers, as a fetched one is kept.
   * @param {import('../common/manifest.js').TorrentEntry} entry @param {Uint8Array} buf
   */
  async keepTorrent(entry, buf) {
    const cache = await caches.open(metaCache(this.base));
    await cache.put(this.torrentURL(entry), new Response(new Uint8Array(buf), { headers: { 'content-type': 'application/x-bittorrent' } }));
  }

  /** The torrent file holding `sha`, if its torrent is joined and ready. @param {string} sha */
  find(sha) {
    const entry = this.where.get(sha);
    const t = entry && this.torrents.get(entry.infohash);
    const file = t?.ready && t.planktosFiles?.get(sha);
    return file ? { torrent: t, file } : null;
  }

  /**
   * Like canServe, but, given time (`wait` ms), joins the torrent of `sha` if need be and waits for a
   * peer that has the bytes — unless the trackers say nobody else is there (null at once).
   * @param {string} sha @param {number} start @param {number} end @param {number} wait
   */
  async want(sha, start, end, wait = 0) {
    const entry = this.where.get(sha);
    if (!entry) return null;
    // nothing to wait for: a torrent joined now has no peer yet (and costs announces and offers)
    if (wait <= 0 && !this.torrents.has(entry.infohash)) return null;
    const deadline = Date.now() + wait;
    await within(this.join(entry).catch(() => {}), wait); // a join by infohash waits for its metadata
    const u = this.use.get(entry.infohash);
    if (!u) return null;
    u.used = Date.now();
    u.busy++;
    try {
      for (;;) {
        const f = this.canServe(sha, start, end);
        if (f || u.presence.alone || !this.torrents.has(entry.infohash) || Date.now() >= deadline) return f;
        await new Promise((r) => setTimeout(r, 40));
      }
    } finally {
      u.busy--;
    }
  }

  /**
   * Whether bytes [start, end] of `sha` can come from here: every piece they touch is local or held
   * by a connected peer that does not choke us (a download-only visitor chokes everyone). (A piece that
   * also covers a neighbouring file nobody here has cannot be had, so a stream is not started that
   * would stall at its end.)
   * @param {string} sha @param {number} start @param {number} end
   */
  canServe(sha, start, end) {
    const f = this.find(sha);
    if (!f) return null;
    const t = f.torrent;
    const pl = t.pieceLength;
    const first = Math.floor((f.file.offset + start) / pl);
    const last = Math.floor((f.file.offset + end) / pl);
    const wires = t.wires.filter((/** @type {any} */ w) => w.peerPieces && !w.peerChoking);
    for (let i = first; i <= last; i++) {
      if (!t.bitfield.get(i) && !wires.some((/** @type {any} */ w) => w.peerPieces.get(i))) return null;
    }
    return f;
  }

  /**
   * Seeds a file that arrived outside WebTorrent: joins its torrent (whose stored files count as had),
   * or, if joined, re-reads its pieces.
   * @param {string} sha @param {boolean} again whether to look again after a join under way
   */
  rescan(sha, again = true) {
    const entry = this.where.get(sha);
    if (!entry) return;
    const t = this.torrents.get(entry.infohash);
    if (!t || !t.ready) {
      // a join under way may have listed the store before this file arrived: look again once it is ready
      if (again) void this.join(entry).then(() => this.rescan(sha, false)).catch(() => {});
      return;
    }
    const file = t.planktosFiles?.get(sha);
    if (!file) return;
    /** @type {number[]} */
    const pieces = [];
    const [first, last] = pieceSpan(t, file);
    for (let i = first; i <= last; i++) if (!t.bitfield.get(i)) pieces.push(i);
    if (pieces.length > 0) rescanPieces(t, pieces, () => {});
  }

  /** @returns {{torrents: number, peers: number, others: number}} others: peers the trackers named */
  info() {
    let peers = 0;
    let others = 0;
    for (const t of this.torrents.values()) peers += t.numPeers || 0;
    for (const u of this.use.values()) others = Math.max(others, u.presence.others);
    return { torrents: this.torrents.size, peers, others };
  }

  destroy() {
    clearTimeout(this.reachTimer);
    this.site = null;
    this.client.destroy(() => {});
  }
}

/** Resolves when p does, or after ms at most. @param {Promise<unknown>} p @param {number} ms */
function within(p, ms) {
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let t;
  return Promise.race([p, new Promise((r) => { t = setTimeout(r, ms); })]).finally(() => clearTimeout(t));
}
