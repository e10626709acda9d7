// planktos's debug log, off by default. `localStorage['planktos:debug'] = '1'` in a page of the site
// (then a reload) turns it on: the page agent logs why it dropped a peer, why a read got no peer, what
// the trackers said; the service worker (its own console: DevTools → Application → Service workers)
// logs where each request went and why. The agent passes the switch on to the worker (see
// protocol.js, op `debug`), which keeps it across restarts. Off, a call costs one property read: callers
// write `debug.log?.(…)`, which evaluates no argument when the log is off.

/** localStorage key of the switch, for every planktos site of the origin. */
export const DEBUG_KEY = 'planktos:debug';

export class Debug {
  /** @param {string} who the log's prefix: "agent" or "worker" */
  constructor(who = 'page') {
    this.who = who;
    /** @type {((...args: unknown[]) => void)|undefined} set while the log is on */
    this.log = undefined;
  }

  /** Turns the log on or off. @param {boolean} on */
  set(on) {
    const tag = `[planktos ${this.who}]`;
    this.log = on ? (...args) => console.debug(tag, ...args) : undefined;
  }

  get on() {
    return this.log !== undefined;
  }
}

/** Whether the page's switch is on (false where localStorage is blocked). */
export function debugWanted() {
  try {
    return globalThis.localStorage?.getItem(DEBUG_KEY) === '1';
  } catch {
    return false;
  }
}

/** The log of this bundle (the worker's or the agent's: each sets `who`). */
export const debug = new Debug();
