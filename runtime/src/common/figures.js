// The four figures a visitor's browser shows (badge) and reports (agent/report.js), from what
// planktos.stats() answers: one definition, so that the badge, the reports and the tests agree.
//   peers     bytes the page agent downloaded from peers (piece bytes, SHA-1-checked)
//   store     bytes the service worker served from the local store
//   http      bytes of the site's files fetched over HTTP: the worker's answers from the network and
//             the agent's prefetch (planktos's own runtime files and pages outside the package are not counted)
//   uploaded  bytes the page agent uploaded to peers

/** @typedef {{peers: number, store: number, http: number, uploaded: number}} Figures */
/** @typedef {{peers: number, http: number, uploaded: number}} AgentCounts what the agent keeps (index.js Counts) */

const n = (/** @type {unknown} */ v) => (Number.isSafeInteger(v) && /** @type {number} */ (v) > 0 ? /** @type {number} */ (v) : 0);

/**
 * The agent's counters in a stats() answer, or null when no agent answered.
 * @param {any} s what planktos.stats() answers
 * @returns {AgentCounts|null}
 */
export function agentCounts(s) {
  const a = s && s.agent;
  if (!a) return null;
  return { peers: n(a.downloaded?.peers), http: n(a.downloaded?.http), uploaded: n(a.uploaded) };
}

/**
 * The worker's part of the figures (bytes it served from the store and over HTTP), or null when the
 * page is not controlled (no worker answered).
 * @param {any} s what planktos.stats() answers
 * @returns {{store: number, http: number}|null}
 */
export function workerCounts(s) {
  const v = s && s.served;
  if (!v) return null;
  return { store: n(v.store?.bytes), http: n(v.http?.bytes) };
}

/**
 * @param {{store: number, http: number}|null} w the worker's part (null: unknown, counted 0)
 * @param {AgentCounts|null} a the agent's counters (null: unknown, counted 0)
 * @returns {Figures}
 */
export function figures(w, a) {
  return {
    peers: a ? a.peers : 0,
    store: w ? w.store : 0,
    http: (w ? w.http : 0) + (a ? a.http : 0),
    uploaded: a ? a.uploaded : 0,
  };
}
