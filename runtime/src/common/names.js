// Names shared by the service worker, the page agent and the install/kill scripts. Everything planktos
// keeps in the browser is named after the site's base path, so two planktos sites on one origin
// (user.github.io/a/ and /b/) never touch each other's data.

/** Schema of what is kept in CacheStorage; bump it to drop old data on upgrade. */
export const SCHEMA = 'v1';

/** Prefix of every cache of the site at `base`. @param {string} base */
export const cachePrefix = (base) => `planktos:${base}:`;
/** Cache holding the content-addressed files. @param {string} base */
export const filesCache = (base) => `${cachePrefix(base)}files:${SCHEMA}`;
/**
 * Cache holding pieces from peers (SHA-1-checked by WebTorrent) of files not yet whole, so a navigation
 * or an agent restart never downloads them twice. @param {string} base
 */
export const piecesCache = (base) => `${cachePrefix(base)}pieces:${SCHEMA}`;
/** Cache holding the current manifest and counters. @param {string} base */
export const metaCache = (base) => `${cachePrefix(base)}meta:${SCHEMA}`;
/**
 * localStorage key of the visitor's P2P opt-out ("1"): kept apart from planktos's caches, so that it
 * survives an uninstall, a runtime update and a schema change. @param {string} base
 */
export const optOutKey = (base) => `planktos:${base}:opt-out`;
/** localStorage key of the page agent's counters, kept across navigations. @param {string} base */
export const agentCountsKey = (base) => `planktos:${base}:agent-counts`;
/** localStorage key of the counters the page agent last reported to the trackers (agent/report.js). @param {string} base */
export const reportedKey = (base) => `planktos:${base}:reported`;
/** localStorage key of the visitor's dismissal of the offload badge ("1"). @param {string} base */
export const badgeDismissedKey = (base) => `planktos:${base}:badge-dismissed`;
/**
 * localStorage key of the time (ms) peers last proved unreachable: the trackers named some, but no
 * connection formed (no STUN, a strict NAT). While it is recent, no read waits for peers.
 * @param {string} base
 */
export const unreachableKey = (base) => `planktos:${base}:peers-unreachable`;
/** Web Lock held by the page agent that leads (one per site). @param {string} base */
export const agentLock = (base) => `planktos-agent:${base}`;
/** URL (below the base) of the content-addressed copy of a file. @param {string} base @param {string} sha */
export const fileURL = (base, sha) => `${base}planktos/files/${sha}`;
/** URL of the manifest. @param {string} base */
export const manifestURL = (base) => `${base}planktos/manifest.json`;
/** URL of the manifest's detached signature (signed packages only). @param {string} base */
export const signatureURL = (base) => `${base}planktos/manifest.sig`;
/** URL of the visitor's offload badge module. @param {string} base */
export const badgeURL = (base) => `${base}planktos/badge.js`;
/**
 * The URL of a manifest key below the base (each segment percent-encoded).
 * @param {string} key
 * @param {string} base
 */
export function keyURL(key, base) {
  return base + key.split('/').map(encodeURIComponent).join('/');
}
