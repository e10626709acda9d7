// Removes what planktos keeps in this browser for the site at `base`: its caches and any IndexedDB
// database of its, and (from a page) its service-worker registration. Used by `planktos.uninstall()`
// and by the kill switch.
import { cachePrefix } from './names.js';

/** Deletes this site's caches and planktos databases. @param {string} base */
export async function clearStorage(base) {
  if (!self.caches) return;
  for (const name of await caches.keys()) {
    if (name.startsWith(cachePrefix(base))) await caches.delete(name);
  }
  const idb = self.indexedDB;
  if (idb && idb.databases) {
    for (const d of await idb.databases()) {
      if (d.name && d.name.startsWith(`planktos:${base}`)) idb.deleteDatabase(d.name);
    }
  }
}

/**
 * From a page: unregisters the planktos service worker of `base`, then clears its storage.
 * @param {string} base
 * @returns {Promise<boolean>} whether a registration was removed
 */
export async function uninstall(base) {
  let removed = false;
  const sw = navigator.serviceWorker;
  if (sw) {
    for (const r of await sw.getRegistrations()) {
      const w = r.active || r.waiting || r.installing;
      if (new URL(r.scope).pathname === base && w && /\/planktos\.sw\.js$/.test(new URL(w.scriptURL).pathname)) {
        removed = (await r.unregister()) || removed;
      }
    }
  }
  await clearStorage(base);
  return removed;
}
