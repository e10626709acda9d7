// planktos/install.js: loaded by every page (`<script src="<base>planktos/install.js" defer>`).
// Registers the service worker at the site's base, loads the page agent as soon as the registration
// exists and the page is idle (at once when the worker asks for it: it needs peers), answers the site's
// own register() calls with planktos's registration, and exposes `window.planktos` ({base, ready, stats(), uninstall(), optOut(on = true)}). Where service
// workers are unsupported or disabled it does nothing and logs nothing.
import { uninstall } from './common/cleanup.js';
import { optOutKey } from './common/names.js';
import { WIN_NEED_AGENT, WIN_POLICY, WIN_STATS, WIN_UPDATE } from './common/protocol.js';

(() => {
  const s = /** @type {HTMLScriptElement|null} */ (document.currentScript);
  const root = new URL('..', s ? s.src : location.href);
  const base = root.pathname;
  /** @type {ServiceWorkerContainer|undefined} */
  let sw;
  try {
    sw = navigator.serviceWorker;
  } catch {
    // access can throw where storage is blocked
  }
  /** @param {boolean} ok */
  let done = (ok) => {};
  const ready = new Promise((r) => { done = r; });
  /** @type {any} */ (window).planktos = {
    base,
    ready,
    stats: () => new Promise((resolve) => {
      const c = sw && sw.controller;
      if (!c) return resolve({ controlled: false });
      const ch = new MessageChannel();
      ch.port1.onmessage = (e) => resolve(e.data);
      c.postMessage({ planktos: WIN_STATS }, [ch.port2]);
      setTimeout(() => resolve({ controlled: true, timeout: true }), 3000);
    }),
    uninstall: () => uninstall(base),
    // no WebRTC from now on, in every tab and after restarts, until optOut(false); the site still
    // works (and offline) over HTTP
    optOut: (on = true) => {
      try {
        if (on) localStorage.setItem(optOutKey(base), '1');
        else localStorage.removeItem(optOutKey(base));
      } catch { /* storage blocked: nothing was running either */ }
      sw?.controller?.postMessage({ planktos: WIN_POLICY });
    },
  };
  if (!sw) return done(false);
  const c = sw;
  const own = root.href + 'planktos.sw.js';
  const registered = c.register(own, { scope: base, updateViaCache: 'none' });
  // a site's own service worker runs inside planktos's (sw/site-worker.js): its register() gets
  // planktos's registration, so that the scope never flips between the two
  const reg = c.register.bind(c);
  /** @type {any} */ (c).register = (/** @type {string|URL} */ u, /** @type {any} */ o) =>
    (new URL(u, location.href).href === own ? reg(u, o) : registered);
  let started = false;
  const agent = () => {
    if (started) return;
    started = true;
    const e = document.createElement('script');
    e.src = root.href + 'planktos/peer.js';
    e.async = true;
    document.head.appendChild(e);
  };
  c.addEventListener('message', (e) => {
    const d = e.data && e.data.planktos;
    // the service worker saw a new runtime published: have the browser fetch it now
    if (d === WIN_UPDATE) registered.then((r) => r.update()).catch(() => {});
    if (d === WIN_NEED_AGENT) agent();
  });
  c.startMessages();
  registered.then((reg) => {
    // the agent needs no controller to start its swarm: on a first visit it starts while the worker installs
    /** @type {any} */ (self.requestIdleCallback || setTimeout)(agent, { timeout: 200 });
    if (c.controller) return done(true);
    const w = reg.installing || reg.waiting;
    if (!w) return done(false);
    c.addEventListener('controllerchange', () => done(true));
    w.addEventListener('statechange', () => { if (w.state === 'redundant') done(false); });
  }, () => done(false));
})();
