// The page agent's WebTorrent client: joins the manifest's torrents with the manifest's trackers and
// ICE servers, seeds from the local store (see chunk-store.js), downloads from peers only (HTTP is
// planktos's own path, verified by SHA-256, so web seeds are off here) and counts bytes.
import WebTorrent from 'webtorrent/dist/webtorrent.min.js';
import { chunkStoreClass } from './chunk-store.js';
import { verify } from '../common/verify.js';
import { metaCache } from '../common/names.js';

/** @typedef {import('../sw/manifest.js').Manifest} Manifest */
/** @typedef {import('../common/store.js').Store} Store */

export class Swarm {
  /**
   * @param {string} base
   * @param {Store} store
   * @param {Manifest} m
   * @param {{peers: number, uploaded: number}} counts
   */
  constructor(base, store, m, counts) {
    this.base = base;
    this.counts = counts;
    this.uploads = m.runtime.p2p === 'on';
    this.client = new WebTorrent({
      dht: false, lsd: false, webSeeds: false, natUpnp: false, natPmp: false,
      tracker: { rtcConfig: { iceServers: m.runtime.iceServers } },
    });
    this.client.on('error', () => {});
    /** @type {Map<string, any>} infohash → torrent */
    this.torrents = new Map();
    this.store = store;
    this.Store = chunkStoreClass(store, verify, () => {});
    /** @type {() => void} */
    this.onPeer = () => {};
  }

  /**
   * Resolves once a peer is connected to one of the torrents (true), or after `ms` (false).
   * @param {number} ms
   * @returns {Promise<boolean>}
   */
  firstPeer(ms) {
    if (this.info().peers > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (/** @type {boolean} */ v) => { clearTimeout(t); resolve(v); };
      const t = setTimeout(() => done(false), ms);
      for (const tr of this.torrents.values()) tr.once('wire', () => setTimeout(() => done(true), 300));
    });
  }

  /** Joins the torrents of `m` and leaves those it no longer lists. @param {Manifest} m */
  async sync(m) {
    const want = new Set(m.torrents.map((t) => t.infohash));
    for (const [ih, t] of this.torrents) {
      if (!want.has(ih)) { this.torrents.delete(ih); t.destroy(); }
    }
    await Promise.all(m.torrents.map((t) => (this.torrents.has(t.infohash) ? null : this.join(m, t).catch(() => {}))));
  }

  /**
   * @param {Manifest} m
   * @param {import('../sw/manifest.js').TorrentEntry} entry
   */
  async join(m, entry) {
    const buf = await this.torrentFile(entry);
    const stored = await this.store.list();
    if (this.torrents.has(entry.infohash)) return;
    // Pieces lying in files of the store need no SHA-1 pass on every page load: those files were
    // checked against the manifest's SHA-256. skipVerify marks every piece verified; on 'ready' —
    // before WebTorrent looks at its bitfield, tells peers or selects anything — the pieces touching
    // a file not in the store are unmarked.
    const t = this.client.add(buf, {
      announce: m.trackers, store: this.Store, deselect: true, storeCacheSlots: 0, destroyStoreOnDestroy: false,
      skipVerify: true,
    });
    t.once('ready', () => {
      for (const f of t.files) {
        if (stored.has(f.name)) continue;
        for (let i = f._startPiece; i <= f._endPiece; i++) if (t.bitfield.get(i)) t._markUnverified(i);
      }
    });
    this.torrents.set(entry.infohash, t);
    t.on('error', () => this.torrents.delete(entry.infohash));
    t.on('infoHash', () => { if (t.infoHash !== entry.infohash) t.destroy(); });
    t.on('download', (/** @type {number} */ n) => { this.counts.peers += n; });
    t.on('upload', (/** @type {number} */ n) => { this.counts.uploaded += n; });
    t.on('wire', (/** @type {any} */ wire) => {
      this.onPeer();
      if (this.uploads) return;
      wire.unchoke = () => {};
      wire.choke();
    });
  }

  /**
   * A .torrent, kept in the site's meta cache: its URL names its infohash, so a kept copy never goes
   * stale, and the swarm can be joined (and the store seeded) while the origin is down.
   * @param {import('../sw/manifest.js').TorrentEntry} entry
   */
  async torrentFile(entry) {
    const url = new URL(entry.url, location.origin + this.base).href;
    const cache = await caches.open(metaCache(this.base));
    let res = await cache.match(url);
    if (!res) {
      res = await fetch(url);
      if (!res.ok) throw new Error(`torrent ${entry.infohash}: HTTP ${res.status}`);
      await cache.put(url, res.clone());
    }
    return new Uint8Array(await res.arrayBuffer());
  }

  /** The torrent file holding `sha`, once its torrent is ready. @param {string} sha */
  find(sha) {
    for (const t of this.torrents.values()) {
      if (!t.ready) continue;
      const file = t.files.find((/** @type {any} */ f) => f.name === sha);
      if (file) return { torrent: t, file };
    }
    return null;
  }

  /**
   * Whether bytes [start, end] of `sha` can come from here: every piece they touch is local or held
   * by a connected peer. (A piece that also covers a neighbouring file nobody here has cannot be had,
   * so a stream is not started that would stall at its end.)
   * @param {string} sha @param {number} start @param {number} end
   */
  canServe(sha, start, end) {
    const f = this.find(sha);
    if (!f) return null;
    const t = f.torrent;
    const pl = t.pieceLength;
    const first = Math.floor((f.file.offset + start) / pl);
    const last = Math.floor((f.file.offset + end) / pl);
    const wires = t.wires.filter((/** @type {any} */ w) => w.peerPieces);
    for (let i = first; i <= last; i++) {
      if (!t.bitfield.get(i) && !wires.some((/** @type {any} */ w) => w.peerPieces.get(i))) return null;
    }
    return f;
  }

  /** Re-reads the pieces of a file that arrived outside WebTorrent, to seed it. @param {string} sha */
  rescan(sha) {
    for (const t of this.torrents.values()) {
      const file = t.ready && t.files.find((/** @type {any} */ f) => f.name === sha);
      if (!file) continue;
      /** @type {number[]} */
      const pieces = [];
      for (let i = file._startPiece; i <= file._endPiece; i++) if (!t.bitfield.get(i)) pieces.push(i);
      if (pieces.length === 0 || typeof t._verifyPiecesUsingHash !== 'function') continue;
      t._verifyPiecesUsingHash(pieces, () => {
        for (const i of pieces) if (t.bitfield.get(i)) for (const w of t.wires) w.have(i);
        t._checkDone?.();
      });
    }
  }

  /** @returns {{torrents: number, peers: number}} */
  info() {
    let peers = 0;
    for (const t of this.torrents.values()) peers += t.numPeers || 0;
    return { torrents: this.torrents.size, peers };
  }

  destroy() {
    this.client.destroy(() => {});
  }
}
