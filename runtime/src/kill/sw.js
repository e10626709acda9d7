// Kill-switch service worker (served as planktos.sw.js when planktos is disabled). The browser's
// update check installs it over the planktos service worker; it deletes planktos's storage and
// unregisters itself. It has no fetch handler, so pages go straight to the network meanwhile.
import { clearStorage } from '../common/cleanup.js';

/** @type {any} */
const sw = self;
const base = new URL(sw.registration.scope).pathname;

sw.addEventListener('install', () => sw.skipWaiting());
sw.addEventListener('activate', (/** @type {ExtendableEvent} */ e) => {
  e.waitUntil(clearStorage(base).catch(() => {}).then(() => sw.registration.unregister()));
});
