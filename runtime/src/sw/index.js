// planktos service worker: answers same-origin GET/HEAD requests inside its scope for files in the
// manifest from verified sources, and lets everything else — and every failure — go to the network.
import { Store } from '../common/store.js';
import { cachePrefix, filesCache, metaCache, piecesCache } from '../common/names.js';
import { PieceStore } from '../common/pieces.js';
import { ManifestKeeper } from './manifest.js';
import { AgentLink } from './agent-link.js';
import { Fetcher } from './fetcher.js';
import { Stats } from './stats.js';
import { serveFile } from './serve.js';
import { mediaOfClaimed, noteUncontrolled } from './claimed.js';
import { isInternal, notFoundKeys, relativePath, resolve } from './routing.js';
import { importSite, passThrough, siteFetch } from './site-worker.js';
import { debug } from '../common/debug.js';
import { Op, WIN_AGENT, WIN_POLICY, WIN_STATS, WIN_UPDATE } from '../common/protocol.js';
import { tellEnvelope, wireSigned } from './signed.js';

/** @type {any} */
const sw = self;
/** The runtime build (see build.mjs). */
// @ts-ignore: defined by the build
const BUILD = typeof __PLANKTOS_BUILD__ === 'string' ? __PLANKTOS_BUILD__ : 'dev';
const base = new URL(sw.registration.scope).pathname;
const store = new Store(base);
const agent = new AgentLink();
const stats = new Stats(base);
const fetcher = new Fetcher({ base, store, agent });
/** The pinned public key of a signed site (the packager's prelude), '' when none. */
const pinned = typeof sw.planktosSite?.key === 'string' ? sw.planktosSite.key : '';
// GC keeps what the manifest in force and its fallback (a peer's manifest replaced it) reference
const manifests = new ManifestKeeper(base, (next) => {
  agent.notify({ op: Op.manifest, revision: next.revision });
  const keep = manifests.referenced();
  fetcher.hot.retain(keep);
  background(store.retain(keep));
  background(dropOldTorrents());
  background(new PieceStore(base).retain(manifests.torrents()));
}, { key: pinned });

/** Deletes kept .torrent files neither the manifest in force nor its fallback lists. */
async function dropOldTorrents() {
  const cache = await caches.open(metaCache(base));
  const listed = [manifests.manifest, manifests.fallback].flatMap((m) => (m ? m.torrents : []));
  const keep = new Set(listed.map((t) => new URL(t.url, sw.registration.scope).href));
  for (const req of await cache.keys()) {
    if (req.url.includes('/planktos/torrents/') && !keep.has(req.url)) await cache.delete(req);
  }
}

/** @type {Array<Promise<unknown>>} */
let pending = [];
/** Keeps the worker alive for work that outlives a response. @param {Promise<unknown>} p */
function background(p) {
  pending.push(p.catch(() => {}));
}
fetcher.background = background;
wireSigned({ sw, base, manifests, agent, stats, background, settled: () => Promise.all(pending) });

debug.who = 'worker';
/** The debug switch, kept across worker restarts (an agent sets it: see common/debug.js). */
const debugKey = new URL(`${base}planktos/debug`, sw.location.href).href;
agent.onDebug = (/** @type {boolean} */ on) => {
  debug.set(on);
  background((async () => {
    const c = await caches.open(metaCache(base));
    if (on) await c.put(debugKey, new Response('1'));
    else await c.delete(debugKey);
  })());
};
// (async: storage that throws must not stop this script, see TestRuntimeThrows)
background((async () => {
  if (await (await caches.open(metaCache(base))).match(debugKey)) debug.set(true);
})());

manifests.onOrigin = (/** @type {boolean} */ up) => agent.notify({ op: Op.origin, up });
fetcher.waited = (/** @type {number} */ ms, /** @type {boolean} */ got) => stats.waited(ms, got);

/** @param {ExtendableEvent} e */
function flush(e) {
  const ps = pending;
  pending = [];
  if (ps.length) e.waitUntil(Promise.all(ps));
}

/** Deletes this site's caches of other schema versions. */
async function dropOldCaches() {
  const keep = [filesCache(base), metaCache(base), piecesCache(base)];
  for (const name of await caches.keys()) {
    if (name.startsWith(cachePrefix(base)) && !keep.includes(name)) await caches.delete(name);
  }
}

/** When install.js was last refreshed: at most every 3 s, off the way of quick navigations. */
let lastRefresh = 0;

/** The runtime's own files, kept with the service worker that came with them (so pages load offline). */
const RUNTIME = ['planktos/install.js', 'planktos/peer.js'];

/** Fetches and keeps this runtime's files; called when this service worker version installs. */
async function keepRuntime() {
  const cache = await caches.open(metaCache(base));
  await Promise.all(RUNTIME.map(async (f) => {
    const res = await fetch(base + f, { cache: 'no-cache' });
    if (res.ok) await cache.put(base + f, res);
  }));
}

/** The badge, loaded only by sites with badge = true; kept like the runtime's files, so it shows offline. */
const BADGE = 'planktos/badge.js';

/**
 * Keeps this version's badge where the manifest shows it, and drops an earlier version's otherwise;
 * called when this service worker version installs.
 * @param {boolean} on
 */
async function keepBadge(on) {
  const cache = await caches.open(metaCache(base));
  if (!on) return void await cache.delete(base + BADGE);
  const res = await fetch(base + BADGE, { cache: 'no-cache' });
  if (res.ok) await cache.put(base + BADGE, res);
}

/**
 * A runtime file: the kept copy at once; the network when nothing is kept. install.js is refreshed
 * in the background on every page load: it is small, and it tells when a new runtime was published.
 * @param {Request} req
 */
async function runtimeFile(req) {
  const cache = await caches.open(metaCache(base));
  const kept = await cache.match(req.url);
  if (!kept) {
    // the badge of a site that turned it on after this worker installed: kept from its first load
    const res = await fetch(req);
    if (res.ok && req.url.endsWith('/' + BADGE)) await cache.put(req.url, res.clone());
    return res;
  }
  if (req.url.endsWith('/install.js') && Date.now() - lastRefresh > 3000) {
    lastRefresh = Date.now();
    background(refreshRuntime(cache, req.url, kept.clone()));
  }
  return kept;
}

/**
 * Refreshes a kept runtime file. Every build's files differ (they carry the build id), so a changed
 * file means a new runtime — or the kill switch — was published: the browser is asked to update the
 * service worker now, rather than at its next occasional check.
 * @param {Cache} cache @param {string} url @param {Response} kept
 */
async function refreshRuntime(cache, url, kept) {
  const res = await fetch(url, { cache: 'no-cache' });
  if (!res.ok) return;
  const [a, b] = await Promise.all([res.clone().text(), kept.text()]);
  if (a === b) return;
  await cache.put(url, res);
  // The pages ask the browser to update: Chromium delays a service worker's update() of itself (by
  // 30 s and more), and such a pending update holds back the kill switch's unregister().
  for (const w of await sw.clients.matchAll({ type: 'window' })) w.postMessage({ planktos: WIN_UPDATE });
}

sw.addEventListener('install', (/** @type {ExtendableEvent} */ e) => {
  const badge = manifests.revalidate().catch(() => null)
    .then(async () => keepBadge((await manifests.current())?.runtime?.badge === true));
  e.waitUntil(Promise.all([
    badge.catch(() => null),
    keepRuntime().catch(() => null),
  ]).then(() => sw.skipWaiting()));
});

sw.addEventListener('activate', (/** @type {ExtendableEvent} */ e) => {
  e.waitUntil((async () => {
    await noteUncontrolled(sw.clients).catch(() => {});
    await sw.clients.claim();
    await dropOldCaches().catch(() => {});
    if (await manifests.current()) await store.retain(manifests.referenced()).catch(() => {});
  })());
});

sw.addEventListener('message', (/** @type {ExtendableMessageEvent} */ e) => {
  const d = e.data;
  if (d && d.planktos === WIN_POLICY) return agent.notify({ op: Op.policy }); // a visitor opted out or in
  const port = e.ports && e.ports[0];
  if (!d || !port) return;
  if (d.planktos === WIN_AGENT) {
    agent.adopt(port);
    agent.notify({ op: Op.origin, up: manifests.originUp }); // null: not asked yet
    e.waitUntil(tellEnvelope(manifests, agent).catch(() => {}));
  }
  if (d.planktos === WIN_STATS) e.waitUntil(report(port));
});

/** Answers `planktos.stats()`. @param {MessagePort} port */
async function report(port) {
  await stats.loaded;
  const m = await manifests.current();
  const a = await agent.ask({ op: Op.stats }, 1600); // a restarted worker asks the page for a new port first
  port.postMessage({
    controlled: true,
    build: BUILD,
    base,
    revision: m ? m.revision : null,
    manifest: m ? { revision: m.revision, sequence: m.sequence, from: manifests.from } : null,
    signed: stats.signed,
    served: stats.served,
    waits: stats.waits,
    stored: m ? (await store.list()).size : 0,
    agent: a ? a.stats : null,
    site: site.imported.length || site.error ? { imported: site.imported, error: site.error, skipped: site.skipped } : undefined,
  });
}

/**
 * A request planktos does not answer: the site's own worker's answer if it gives one, else the network.
 * @param {FetchEvent} e
 */
async function notOurs(e) {
  const res = await siteFetch(site, e, background);
  if (res) debug.log?.(e.request.url, "→ the site's own worker answered");
  return res ?? network(e.request);
}

/** The plain network, counted. @param {Request} req */
async function network(req) {
  const res = await fetch(req);
  stats.add('network', Number(res.headers.get('content-length')) || 0);
  return res;
}

/**
 * @param {FetchEvent} e
 * @param {URL} url
 * @param {string} rel
 */
async function handle(e, url, rel) {
  const req = e.request;
  const nav = req.mode === 'navigate';
  const m = nav ? await manifests.revalidate() : await manifests.current();
  if (!m) {
    debug.log?.(req.url, '→ network: no manifest yet');
    return notOurs(e);
  }
  const route = resolve(url, base, m.files);
  if (route && route.redirect) return Response.redirect(route.redirect, 301);
  if (!route || !route.key) {
    debug.log?.(req.url, '→ network: not in the package');
    return nav ? missingPage(e, m, rel) : notOurs(e);
  }
  const res = await serveFile(req, m, route.key, { fetcher, stats }) ?? await fromFallback(req, url);
  if (!res) debug.log?.(req.url, '→ network: no verified source answered for', route.key);
  return res ?? network(req);
}

/**
 * The fallback revision's stored copy of a path (a peer's manifest is in force, and its file could
 * not be had: no peer has it, its bytes failed their hash, the origin is down), or null.
 * @param {Request} req @param {URL} url
 */
async function fromFallback(req, url) {
  const fb = manifests.fallback;
  const route = fb && resolve(url, base, fb.files);
  if (!fb || !route || !route.key) return null;
  const res = await serveFile(req, fb, route.key, { fetcher, stats, stored: true });
  if (res) debug.log?.(req.url, '→ the previous revision\'s stored copy of', route.key);
  return res;
}

/**
 * A page not in the manifest: the site worker's or the network's answer, else (offline) the site's 404 page.
 * @param {FetchEvent} e
 * @param {import('./manifest.js').Manifest} m
 * @param {string} rel
 */
async function missingPage(e, m, rel) {
  const req = e.request;
  try {
    return await notOurs(e);
  } catch (err) {
    for (const key of notFoundKeys(rel, m.files)) {
      const res = await serveFile(req, m, key, { fetcher, stats, status: 404 }).catch(() => null);
      if (res) return res;
    }
    throw err;
  }
}

sw.addEventListener('fetch', (/** @type {FetchEvent} */ e) => {
  const req = e.request;
  const url = new URL(req.url);
  if ((req.method !== 'GET' && req.method !== 'HEAD') || url.origin !== sw.location.origin) return passThrough(site, e);
  const rel = relativePath(url, base);
  if (rel !== null && req.method === 'GET' && (RUNTIME.includes(rel) || rel === BADGE)) {
    e.respondWith(runtimeFile(req).catch(() => fetch(req)).finally(() => flush(e)));
    return;
  }
  if (rel === null) return passThrough(site, e);
  if (isInternal(rel) || mediaOfClaimed(e)) return; // (a claimed window's media: see claimed.js)
  e.respondWith(handle(e, url, rel).catch(() => fetch(req)).finally(() => flush(e)));
});

// The site's own service worker, if it has one (see site-worker.js). Its listeners are added after
// planktos's, so planktos's message handler sees planktos's messages first.
const site = importSite(sw, sw.planktosSite);
// a broken site worker must not go unnoticed: nothing of it runs (planktos does)
if (site.error) console.warn(`planktos: the site's own service worker ${sw.planktosSite.workers.join(', ')} failed to load, so none of it runs: ${site.error}`);
