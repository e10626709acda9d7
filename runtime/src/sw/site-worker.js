// The site's own service worker, run inside planktos's. A scope has one service worker; when a site
// registers its own, the packager lists it at the top of planktos.sw.js (`self.planktosSite`) and
// install.js answers the site's register() call with planktos's registration. Here its script is
// imported so that what it does besides fetching keeps working: push, notificationclick, sync,
// message and its own routes for URLs planktos does not answer.
//
// Its install and activate handlers do not run: they precache the site (planktos's prefetch does
// that, from peers) and delete caches they do not know (planktos's among them).

/**
 * What the packager writes at the top of planktos.sw.js.
 * @typedef {object} SiteConfig
 * @property {string[]} workers URLs of the site's service worker scripts, to import (possibly none)
 * @property {string=} key the public key (base64) a signed site's manifests must verify under: pinned
 *   here, it changes only with this script (see manifest.js)
 */

/**
 * @typedef {object} SiteWorker
 * @property {string[]} imported the scripts that were imported
 * @property {string=} error why importing failed (its handlers then do not run)
 * @property {Array<(e: any) => unknown>} fetch the site's fetch handlers
 * @property {number} skipped install and activate handlers that were not run
 * @property {any=} scope the worker's global scope, `this` for the handlers
 */

const HELD = ['fetch', 'install', 'activate'];

/**
 * Imports the site's workers named by `config`. Their fetch handlers are held back for
 * {@link siteFetch}; install and activate handlers are dropped; every other listener is added as is.
 * Call it once, while the worker script is first evaluated (importScripts works only then).
 * @param {any} g the worker's global scope
 * @param {SiteConfig|undefined} config
 * @returns {SiteWorker}
 */
export function importSite(g, config) {
  /** @type {SiteWorker} */
  const site = { imported: [], fetch: [], skipped: 0 };
  const urls = (config && config.workers) || [];
  if (!urls.length) return site;
  site.scope = g;
  const add = g.addEventListener;
  /** @param {string} type @param {any} fn */
  const hold = (type, fn) => {
    if (type === 'fetch' && fn) site.fetch.push(typeof fn === 'function' ? fn : (e) => fn.handleEvent(e));
    else if (fn) site.skipped++;
  };
  g.addEventListener = (/** @type {string} */ type, /** @type {any} */ fn, /** @type {any} */ opts) =>
    HELD.includes(type) ? hold(type, fn) : add.call(g, type, fn, opts);
  for (const type of HELD) {
    Object.defineProperty(g, 'on' + type, { configurable: true, get: () => null, set: (fn) => hold(type, fn) });
  }
  try {
    g.importScripts(...urls);
    site.imported = urls;
  } catch (err) {
    site.error = String(err);
  } finally {
    g.addEventListener = add;
    for (const type of HELD) delete g['on' + type];
  }
  return site;
}

/**
 * Offers a request planktos does not answer to the site's fetch handlers, as a fetch event would.
 * Resolves to the response one of them gave through respondWith, or null when none did.
 * @param {SiteWorker} site
 * @param {FetchEvent} e the real event; its respondWith has already been called by planktos
 * @param {(p: Promise<unknown>) => void} keepAlive where the handlers' waitUntil promises go
 * @returns {Promise<Response|null>}
 */
export async function siteFetch(site, e, keepAlive) {
  if (!site.fetch.length) return null;
  /** @type {Promise<Response>|null} */
  let answer = null;
  const ev = {
    type: 'fetch',
    request: e.request,
    clientId: e.clientId,
    resultingClientId: e.resultingClientId,
    preloadResponse: Promise.resolve(undefined),
    handled: Promise.resolve(undefined),
    respondWith(/** @type {Response|Promise<Response>} */ r) {
      if (answer) throw new DOMException('respondWith was already called', 'InvalidStateError');
      answer = Promise.resolve(r);
    },
    waitUntil: (/** @type {Promise<unknown>} */ p) => keepAlive(Promise.resolve(p)),
  };
  for (const h of site.fetch) {
    try {
      h.call(site.scope, ev);
    } catch (err) {
      reportLater(err);
    }
  }
  return answer;
}

/**
 * Offers a request planktos leaves to the browser to the site's handlers, with the real event (they
 * may call its respondWith, as in their own worker).
 * @param {SiteWorker} site @param {FetchEvent} e
 */
export function passThrough(site, e) {
  for (const h of site.fetch) {
    try {
      h.call(site.scope, e);
    } catch (err) {
      reportLater(err);
    }
  }
}

/** Reports a handler's exception the way the browser would, without stopping the others. @param {unknown} err */
function reportLater(err) {
  setTimeout(() => { throw err; });
}
