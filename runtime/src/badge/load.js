// Loads the offload badge (planktos/badge.js) into the page when the site's manifest says badge = true;
// otherwise nothing more is fetched: the manifest is read from the service worker's cache, never from
// the network. Runs in every page of the site (bundled into peer.js; the agent leads in one page only).
// Once decided (and the module ran, when on) it leaves the performance mark 'planktos:badge', detail
// {on}.
import { badgeURL, manifestURL, metaCache } from '../common/names.js';

/** @param {string} base */
async function keptManifest(base) {
  const res = await (await caches.open(metaCache(base))).match(new URL(manifestURL(base), location.href).href);
  return res ? res.json() : null;
}

/**
 * @param {string} base the site's base path
 * @param {Promise<boolean>|undefined} ready planktos.ready: a first visit's worker keeps the manifest once it controls the page
 */
export async function loadBadge(base, ready) {
  let m = await keptManifest(base);
  if (!m && (await ready)) m = await keptManifest(base);
  // the rule of common/manifest.js's parseManifest, without parsing every file entry again
  const on = m?.runtime?.badge === true;
  if (on) await import(new URL(badgeURL(base), location.href).href);
  // decided (and, when on, the badge module ran): what tests wait on
  performance.mark('planktos:badge', { detail: { on } });
}
