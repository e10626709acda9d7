// What a visitor's browser does with peers: the site's `p2p` setting, narrowed by the visitor. An
// opt-out (planktos.optOut()) turns P2P off: no WebRTC, so no peer learns the visitor's IP address. A
// connection that asks to save data, or a cellular one (where the browser tells), never uploads.
import { optOutKey } from '../common/names.js';

/** @typedef {'on'|'download-only'|'off'} Mode */

/**
 * @param {Mode} site the manifest's runtime.p2p
 * @param {boolean} optedOut
 * @param {{saveData?: boolean, type?: string}|undefined} conn navigator.connection
 * @returns {Mode}
 */
export function p2pMode(site, optedOut, conn) {
  if (site === 'off' || optedOut) return 'off';
  if (site === 'download-only' || meteredConnection(conn)) return 'download-only';
  return 'on';
}

/**
 * Whether the connection asks to save data, or is cellular (where the browser tells): no upload, no
 * prefetch.
 * @param {{saveData?: boolean, type?: string}|undefined} conn navigator.connection
 */
export function meteredConnection(conn) {
  return !!(conn?.saveData || conn?.type === 'cellular');
}

/** Whether the visitor opted out of P2P on the site at `base`. @param {string} base */
export function optedOut(base) {
  try {
    return localStorage.getItem(optOutKey(base)) === '1';
  } catch {
    return false;
  }
}
