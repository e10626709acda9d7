// A revision from peers took over (the worker tells every page: window message revision, see
// protocol.js): a page the visitor has not used yet reloads, so it shows the new revision at once; a
// page in use keeps what it shows, and the next navigation shows the new revision. Runs in every tab,
// leading or not.
import { WIN_REVISION } from '../common/protocol.js';

/** What counts as using the page (a scroll by wheel too: the visitor is reading). */
const USE = ['pointerdown', 'keydown', 'wheel', 'touchstart'];

/**
 * Follows the worker's revision messages for the site at `base`.
 * @param {string} base
 * @param {ServiceWorkerContainer} sw
 */
export function reloadOnRevision(base, sw = navigator.serviceWorker) {
  let used = false;
  const mark = () => {
    used = true;
    for (const e of USE) removeEventListener(e, mark, true);
  };
  for (const e of USE) addEventListener(e, mark, { capture: true, passive: true });
  sw.addEventListener('message', (e) => {
    const d = e.data;
    if (!d || d.planktos !== WIN_REVISION || typeof d.revision !== 'string') return;
    // an activation before this script ran (it loads when the page is idle) counts too
    if (used || /** @type {any} */ (navigator).userActivation?.hasBeenActive) return;
    // once per revision and tab, so that a page reloaded into that revision never reloads again
    const key = `planktos:${base}:reloaded-for`;
    try {
      if (sessionStorage.getItem(key) === d.revision) return;
      sessionStorage.setItem(key, d.revision);
    } catch {
      return; // no storage to keep that in: no reload rather than a loop
    }
    void fetchFirst(location.href).finally(() => location.reload());
  });
}

/**
 * Asks the worker for the page under the new revision while this page, and so its agent, still lives:
 * the reload then finds it stored, rather than racing a new agent for peers (and falling back to the
 * previous revision's copy). Bounded: the reload comes within 10 s whatever happens.
 * @param {string} url
 */
async function fetchFirst(url) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 10000);
  try {
    await (await fetch(url, { signal: ac.signal })).arrayBuffer();
  } catch {
    // the reload asks again
  } finally {
    clearTimeout(t);
  }
}
