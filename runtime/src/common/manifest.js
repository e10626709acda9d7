// The manifest's schema on the browser side: parseManifest checks and reads what the Go manifest
// package writes (test/manifest-golden.test.js decodes its golden manifest, manifest/testdata/golden.json,
// as manifest/manifest_test.go does with manifest.Parse). Shared by the service worker and the page agent.

/**
 * @typedef {object} FileEntry
 * @property {string} sha256
 * @property {number} size
 * @property {string} type
 * @property {number} torrent index into torrents, -1 when the file is in no torrent
 */
/** @typedef {{infohash: string, url: string, pieceLength: number, length: number}} TorrentEntry */
/**
 * @typedef {object} RuntimeConfig
 * @property {'all'|'visited'|'none'} prefetch
 * @property {number} prefetchLimit bytes, 0 = no limit
 * @property {'on'|'download-only'|'off'} p2p
 * @property {RTCIceServer[]} iceServers
 * @property {boolean} badge show the visitor's offload badge (planktos/badge.js)
 * @property {boolean} report send aggregate counters to the trackers
 */
/**
 * @typedef {object} Manifest
 * @property {number} version
 * @property {string} revision
 * @property {string} base
 * @property {string[]} trackers
 * @property {TorrentEntry[]} torrents
 * @property {Record<string, FileEntry>} files
 * @property {RuntimeConfig} runtime
 * @property {number} sequence the signed package's number, 0 when unsigned
 * @property {string} key base64 Ed25519 public key that signed it, '' when unsigned
 * @property {boolean} disabled the kill-switch package
 */

const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;
const isObj = (/** @type {unknown} */ v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSize = (/** @type {unknown} */ v) => Number.isSafeInteger(v) && /** @type {number} */ (v) >= 0;

/**
 * Checks a parsed manifest and fills defaults. Throws on anything the runtime could trip over, so a
 * corrupt manifest is refused whole and the previous one (or the plain network) stays in charge.
 * @param {any} m
 * @returns {Manifest}
 */
export function parseManifest(m) {
  if (!isObj(m) || m.version !== 1) throw new Error('manifest: unsupported version');
  if (typeof m.revision !== 'string' || m.revision === '') throw new Error('manifest: no revision');
  if (!isObj(m.files)) throw new Error('manifest: no files');
  const torrents = Array.isArray(m.torrents) ? m.torrents : [];
  for (const t of torrents) {
    if (!isObj(t) || !HEX40.test(t.infohash) || typeof t.url !== 'string') throw new Error('manifest: bad torrent');
  }
  for (const [k, f] of Object.entries(m.files)) {
    if (k === '' || k.startsWith('/') || !isObj(f)) throw new Error(`manifest: bad entry ${k}`);
    if (!HEX64.test(f.sha256) || !isSize(f.size) || typeof f.type !== 'string') throw new Error(`manifest: bad entry ${k}`);
    const ti = f.torrent ?? -1;
    if (!Number.isInteger(ti) || ti < -1 || ti >= torrents.length) throw new Error(`manifest: bad torrent index for ${k}`);
    f.torrent = ti;
  }
  const rt = isObj(m.runtime) ? m.runtime : {};
  return {
    version: 1,
    revision: m.revision,
    base: typeof m.base === 'string' ? m.base : '/',
    trackers: Array.isArray(m.trackers) ? m.trackers.filter((/** @type {unknown} */ t) => typeof t === 'string') : [],
    torrents,
    files: m.files,
    runtime: {
      prefetch: ['all', 'visited', 'none'].includes(rt.prefetch) ? rt.prefetch : 'all',
      prefetchLimit: isSize(rt.prefetchLimit) ? rt.prefetchLimit : 0,
      p2p: ['on', 'download-only', 'off'].includes(rt.p2p) ? rt.p2p : 'on',
      iceServers: Array.isArray(rt.iceServers) ? rt.iceServers : [],
      badge: rt.badge === true,
      report: rt.report === true,
    },
    sequence: isSize(m.sequence) ? m.sequence : 0,
    key: typeof m.key === 'string' ? m.key : '',
    disabled: m.disabled === true,
  };
}

/** @param {Manifest} m @returns {Set<string>} every hash the manifest references */
export function referencedHashes(m) {
  return new Set(Object.values(m.files).map((f) => f.sha256));
}

/**
 * The preview's overrides (`planktos serve` with its own tracker): a signed manifest is served as it
 * is, so its signature holds, and what the preview changes comes in these response headers, each a
 * JSON array that replaces the manifest's field: the trackers, and the ICE servers (runtime.iceServers).
 * The service worker keeps them with the manifest it stores, under the same names.
 */
export const TRACKERS_HEADER = 'x-planktos-trackers';
export const ICE_SERVERS_HEADER = 'x-planktos-ice-servers';

/**
 * Applies the override headers to `m` (in place); a missing or malformed header changes nothing.
 * @param {Manifest} m
 * @param {Headers} headers
 * @returns {Manifest}
 */
export function applyOverrides(m, headers) {
  const trackers = jsonArray(headers.get(TRACKERS_HEADER));
  if (trackers && trackers.every((t) => typeof t === 'string')) m.trackers = trackers;
  const ice = jsonArray(headers.get(ICE_SERVERS_HEADER));
  if (ice && ice.every(isObj)) m.runtime.iceServers = /** @type {RTCIceServer[]} */ (ice);
  return m;
}

/** @param {string|null} s @returns {unknown[]|null} */
function jsonArray(s) {
  if (!s) return null;
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * The manifest of its exact bytes, with the overrides of `headers` applied. Throws when it is not one.
 * @param {Uint8Array} bytes
 * @param {Headers} headers
 * @returns {Manifest}
 */
export function manifestOf(bytes, headers) {
  return applyOverrides(parseManifest(JSON.parse(new TextDecoder().decode(bytes))), headers);
}

/**
 * Reads a manifest response — the origin's, or the copy the service worker keeps in the meta cache
 * (the same bytes, the overrides in the same headers). Rejects when it is not a manifest.
 * @param {Response} res
 * @returns {Promise<Manifest>}
 */
export async function manifestFrom(res) {
  return manifestOf(new Uint8Array(await res.arrayBuffer()), res.headers);
}
