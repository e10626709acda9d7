// planktos/badge.js: the visitor's offload badge, loaded by the page agent (badge/load.js) only where
// the site's manifest says badge = true. A small note fixed in the page's corner showing what this
// browser got from peers, from its own store and over HTTP, and what it uploaded (common/figures.js,
// from planktos.stats(), every 3 s while the page is visible), with a button that turns peers off for
// the site, or back on (planktos.optOut(), README "Privacy and visitor choices").
//
// It is `position: fixed`, added after the page loaded and its figures known, and each figure has a
// fixed width, so nothing moves, neither the page nor the badge (no layout shift); it lives in a
// shadow root: the page's styles do not reach it. The figures are a polite live
// region (role status); × or Escape dismisses it for good (localStorage, names.js badgeDismissedKey).
// Tests find it as #planktos-badge, each figure as [data-figure=NAME] with its bytes in data-bytes.
import { badgeDismissedKey } from '../common/names.js';
import { agentCounts, figures, workerCounts } from '../common/figures.js';
import { optedOut } from '../agent/policy.js';
import { human, LINES, optLabel } from './view.js';

const CSS = `.b{display:flex;flex-wrap:wrap;align-items:center;gap:6px 10px;max-width:min(30em,calc(100vw - 24px));
box-sizing:border-box;padding:8px 10px;border-radius:6px;background:#111;color:#fff;font:13px/1.4 system-ui,sans-serif;
box-shadow:0 2px 8px #0006}.f{margin:0;display:flex;flex-wrap:wrap;gap:0 10px}
b{font-weight:600;display:inline-block;min-width:4.4em;text-align:end;font-variant-numeric:tabular-nums}
button{font:inherit;color:#111;background:#fff;border:0;border-radius:4px;padding:2px 8px;cursor:pointer}
button:focus-visible{outline:2px solid #ffbf47;outline-offset:2px}`;

(() => {
  /** @type {any} */
  const p = /** @type {any} */ (window).planktos;
  if (!p || document.getElementById('planktos-badge')) return;
  const base = p.base;
  const key = badgeDismissedKey(base);
  try {
    // (the mark says so to whoever waits on the badge: tests)
    if (localStorage.getItem(key) === '1') return void performance.mark('planktos:badge-dismissed');
  } catch {
    // storage blocked: shown, and dismissed for this page only
  }
  const host = document.createElement('planktos-badge');
  host.id = 'planktos-badge';
  host.setAttribute('style', 'all:initial!important;position:fixed!important;right:12px!important;bottom:12px!important;z-index:2147483647!important');
  const root = host.attachShadow({ mode: 'open' });
  root.innerHTML = `<style>${CSS}</style><aside class="b" aria-label="How this site reached you">` +
    `<p class="f" role="status" aria-live="polite">${LINES.map(([k, label]) =>
      `<span data-figure="${k}" data-bytes="0">${label} <b>0 B</b></span>`).join('')}</p>` +
    '<button type="button" data-act="opt"></button><button type="button" data-act="close" aria-label="Dismiss">×</button></aside>';
  const q = (/** @type {string} */ s) => /** @type {HTMLElement} */ (root.querySelector(s));
  const opt = q('[data-act=opt]');
  const label = () => { opt.textContent = optLabel(optedOut(base)); };
  label();
  opt.onclick = () => { p.optOut(!optedOut(base)); label(); };
  /** @type {ReturnType<typeof setInterval>} */
  let timer;
  const dismiss = () => {
    clearInterval(timer);
    host.remove();
    try {
      localStorage.setItem(key, '1');
    } catch {
      // storage blocked: gone from this page only
    }
  };
  q('[data-act=close]').onclick = dismiss;
  q('.b').addEventListener('keydown', (e) => { if (e.key === 'Escape') dismiss(); });
  /** the last counters known: a stats() answer may lack the agent (it restarts) or the worker */
  /** @type {any} */
  let known = { w: null, a: null };
  const update = async () => {
    if (document.hidden) return;
    const s = await p.stats().catch(() => null);
    known = { w: workerCounts(s) ?? known.w, a: agentCounts(s) ?? known.a };
    const f = figures(known.w, known.a);
    for (const [k] of LINES) {
      const el = q(`[data-figure=${k}]`);
      if (el.dataset.bytes === String(f[k])) continue; // unchanged: nothing to announce
      el.dataset.bytes = String(f[k]);
      /** @type {HTMLElement} */ (el.lastChild).textContent = human(f[k]);
    }
    label();
  };
  // shown once it has its first figures; they then change within fixed widths: the box keeps its size
  void update().finally(() => {
    document.body.appendChild(host);
    timer = setInterval(() => void update(), 3000);
  });
})();
