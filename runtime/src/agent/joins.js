// Which torrents the page agent joins. A site may have hundreds (see the packager's sharding), and each
// joined torrent costs tracker announces and WebRTC connections per peer; so, unless the site has at
// most JOIN_ALL torrents (then all are joined at once: cheap, and no read waits for a join), the agent
// joins the torrents of files it keeps (to seed them) and those of files asked for, at most MAX_JOINED
// at once, leaving the least recently used idle one to make room.

/** @typedef {import('../common/manifest.js').Manifest} Manifest */
/** @typedef {import('../common/manifest.js').TorrentEntry} TorrentEntry */

/** Torrents joined at once, at most. */
export const MAX_JOINED = 24;

/** Sites with at most this many torrents have them all joined from the start. */
export const JOIN_ALL = 8;

/**
 * @param {Manifest} m
 * @returns {Map<string, TorrentEntry>} file hash → the torrent carrying it
 */
export function torrentsByHash(m) {
  /** @type {Map<string, TorrentEntry>} */
  const out = new Map();
  for (const f of Object.values(m.files)) {
    if (f.torrent >= 0) out.set(f.sha256, m.torrents[f.torrent]);
  }
  return out;
}

/**
 * The torrents to join from the start: all of them on a site of at most JOIN_ALL; otherwise those holding
 * a stored file, in random order (so that, on a site with more torrents than a visitor joins, visitors
 * together still seed them all). At most `cap`.
 * @param {Map<string, TorrentEntry>} where from torrentsByHash
 * @param {Set<string>} stored hashes in the store
 * @param {number} cap
 * @param {() => number} rand
 * @returns {TorrentEntry[]}
 */
export function seedSet(where, stored, cap, rand = Math.random) {
  /** @type {Map<string, TorrentEntry>} */
  const set = new Map();
  const all = new Set(where.values());
  if (all.size <= JOIN_ALL) return [...all].slice(0, cap);
  for (const sha of stored) {
    const t = where.get(sha);
    if (t) set.set(t.infohash, t);
  }
  const list = [...set.values()];
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list.slice(0, cap);
}

/**
 * The joined torrent to leave to make room: the least recently used one that serves no read. null when
 * every one is busy.
 * @param {Map<string, {used: number, busy: number}>} joined infohash → use
 * @returns {string|null}
 */
export function leastUsed(joined) {
  let best = null;
  let at = Infinity;
  for (const [ih, u] of joined) {
    if (u.busy === 0 && u.used < at) { best = ih; at = u.used; }
  }
  return best;
}

/**
 * What the trackers said about a swarm: how many other peers are in it. Trackers count the announcer
 * itself in `complete + incomplete`.
 */
export class Presence {
  /** @param {number} trackers how many trackers the torrent announces to */
  constructor(trackers) {
    this.trackers = trackers;
    /** @type {Map<string, number>} tracker URL → other peers it knows */
    this.replies = new Map();
  }

  /** @param {{announce: string, complete: number, incomplete: number}} r a tracker's reply */
  update(r) {
    this.replies.set(r.announce, Math.max(0, (r.complete || 0) + (r.incomplete || 0) - 1));
  }

  /** Other peers known, at most (0 until a tracker answered). */
  get others() {
    let n = 0;
    for (const v of this.replies.values()) n = Math.max(n, v);
    return n;
  }

  /** Whether every tracker answered and none knows another peer: nobody to ask. */
  get alone() {
    return this.trackers === 0 || (this.replies.size >= this.trackers && this.others === 0);
  }
}
