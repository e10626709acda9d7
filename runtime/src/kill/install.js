// Kill-switch install script (served as planktos/install.js when planktos is disabled): has the
// browser fetch the kill-switch service worker at once (it replaces planktos's, which then stops
// answering and writing), unregisters planktos's service worker and deletes its storage.
// Registers nothing.
import { uninstall } from '../common/cleanup.js';

(() => {
  const s = /** @type {HTMLScriptElement|null} */ (document.currentScript);
  const base = new URL('..', s ? s.src : location.href).pathname;
  const run = async () => {
    const sw = navigator.serviceWorker;
    for (const r of await sw.getRegistrations()) {
      if (new URL(r.scope).pathname === base) await r.update().catch(() => {});
    }
    return uninstall(base);
  };
  /** @type {any} */ (window).planktos = {
    base,
    ready: Promise.resolve(false),
    stats: () => Promise.resolve({ controlled: false, disabled: true }),
    uninstall: () => run().catch(() => false),
  };
  try {
    if (navigator.serviceWorker) void run().catch(() => false);
  } catch {
    // nothing to remove where service workers are unavailable
  }
})();
