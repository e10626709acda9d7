// The service worker's side of the channel to the page agent (the tab that runs WebTorrent). The
// agent hands the service worker a MessagePort; a restarted service worker has lost it, and a page
// that navigated took its agent along: the worker then asks the open windows for one (a page starts
// its agent at once when asked). Every wait has a deadline: a dead or slow agent costs at most that.

import { Op, WIN_NEED_AGENT } from '../common/protocol.js';

/** @typedef {import('../common/protocol.js').Reply} AgentReply */

/** ms a read waits for peers before HTTP while peers proved reachable lately (see AgentLink.patience). */
export const REACHED_WAIT = 2500;
/** How long a connection to a peer counts as proof that peers are reachable (ms). */
const REACHED_FOR = 10 * 60 * 1000;

export class AgentLink {
  /**
   * @param {object} opts
   * @param {number=} opts.firstByte ms to wait for the first chunk of an answer (after `wait`)
   * @param {number=} opts.stall ms to wait between two chunks before giving up
   */
  constructor({ firstByte = 1500, stall = 10000 } = {}) {
    /** @type {MessagePort|null} */
    this.port = null;
    this.firstByte = firstByte;
    this.stall = stall;
    this.lastAsk = 0;
    this.seq = 0;
    /** consecutive answers that missed the first-byte deadline */
    this.misses = 0;
    /** when an agent last connected to a peer (ms), 0 when peers proved unreachable since */
    this.reachedAt = 0;
    /** @type {Map<number, (m: AgentReply) => void>} */
    this.pending = new Map();
    /** @type {Array<() => void>} */
    this.waiters = [];
    /** @type {Promise<boolean>|null} the windows being asked for an agent (false: there are none) */
    this.asking = null;
    /** @type {(on: boolean) => void} told when an agent turns the debug log on or off */
    this.onDebug = () => {};
    /** @type {(envelope: ArrayBuffer) => void} given a peer's envelope (op adopt) */
    this.onAdopt = () => {};
  }

  /** Adopts a port sent by a leading page agent. @param {MessagePort} port */
  adopt(port) {
    if (this.port && this.port !== port) this.port.close();
    this.port = port;
    this.misses = 0;
    port.onmessage = (e) => this._onReply(e.data);
    port.start();
    for (const w of this.waiters.splice(0)) w();
  }

  /** Forgets a port (its tab went away or stopped answering). @param {MessagePort|null} port */
  drop(port) {
    if (port && this.port === port) {
      this.port = null;
      port.close();
    }
  }

  /**
   * ms a read may wait for peers before HTTP: REACHED_WAIT while an agent of this site connected to a
   * peer lately (the next page's agent reconnects in about a second), else 0 — peers never seen, or
   * proved unreachable, cost nothing.
   */
  patience() {
    return this.reachedAt > 0 && Date.now() - this.reachedAt < REACHED_FOR ? REACHED_WAIT : 0;
  }

  /** @param {AgentReply} m */
  _onReply(m) {
    const op = m && /** @type {any} */ (m).op;
    if (op === Op.bye) return this.drop(this.port);
    if (op === Op.debug) return this.onDebug(!!(/** @type {any} */ (m).on));
    if (op === Op.adopt) {
      const bytes = /** @type {any} */ (m).bytes;
      return bytes instanceof ArrayBuffer ? this.onAdopt(bytes) : undefined;
    }
    if (op === Op.reach) {
      this.reachedAt = /** @type {any} */ (m).ok ? Date.now() : 0;
      return;
    }
    const cb = m && this.pending.get(m.id);
    if (cb) cb(m);
  }

  /**
   * A port to the agent. Without one, the open windows are asked to start or reconnect their agent
   * (at most once a second; concurrent callers share one ask), and the port is awaited up to `ms`
   * (0: not at all).
   * @param {number} ms
   * @returns {Promise<MessagePort|null>}
   */
  async get(ms) {
    if (this.port) return this.port;
    if (!this.asking && Date.now() - this.lastAsk >= 1000) {
      this.lastAsk = Date.now();
      this.asking = this.askWindows().finally(() => { this.asking = null; });
    }
    const asking = this.asking;
    if (asking && !(await asking)) return null;
    if (ms <= 0 || this.port) return this.port;
    await new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => { clearTimeout(t); resolve(undefined); });
    });
    return this.port;
  }

  /** Asks the open windows to start or reconnect their agent; false when there are none. */
  async askWindows() {
    const wins = await /** @type {any} */ (self).clients.matchAll({ type: 'window' });
    for (const w of wins) w.postMessage({ planktos: WIN_NEED_AGENT });
    return wins.length > 0;
  }

  /**
   * Sends a one-way note to the agent, if there is one; without a port the windows are asked to
   * reconnect their agent (the note is lost: the agent follows its own state too).
   * @param {object} msg
   */
  notify(msg) {
    try {
      if (this.port) this.port.postMessage(msg);
      else void this.get(0).catch(() => {});
    } catch {
      this.port = null;
    }
  }

  /**
   * Asks the agent a question with one answer (stats).
   * @param {object} msg
   * @param {number} ms
   * @returns {Promise<AgentReply|null>}
   */
  async ask(msg, ms) {
    const port = await this.get(ms / 2);
    if (!port) return null;
    const id = ++this.seq;
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.pending.delete(id); resolve(null); }, ms);
      this.pending.set(id, (m) => { clearTimeout(t); this.pending.delete(id); resolve(m); });
      port.postMessage({ ...msg, id });
    });
  }

  /**
   * Opens bytes [start, end] of file `sha` through the agent (from peers, verified piece by piece).
   * Resolves to a stream once the first chunk arrived, or null when the agent cannot serve it in time:
   * with `wait` 0 only a connected peer (or this browser) that has the bytes counts; with `wait`, an
   * agent is started if none runs, and it waits that long for peers.
   * Flow control: the agent sends a few chunks ahead, then one more for each chunk the page reads.
   * @param {string} sha
   * @param {number} start
   * @param {number} end inclusive
   * @param {number} wait ms
   * @param {number} [size] the file's size per the manifest: a file of that hash but another size is refused
   * @returns {Promise<ReadableStream<Uint8Array>|null>}
   */
  async open(sha, start, end, wait = 0, size = undefined) {
    const t0 = Date.now();
    const port = await this.get(wait);
    if (!port) return null;
    const patience = Math.max(0, wait - (Date.now() - t0));
    const id = ++this.seq;
    return new Promise((resolve) => {
      /** @type {Uint8Array[]} chunks arrived, not yet read */
      const queue = [];
      let done = false;
      /** @type {Error|null} */
      let failed = null;
      /** @type {(() => void)|null} a read waiting for a chunk */
      let waiting = null;
      let started = false;
      const wake = () => { const w = waiting; waiting = null; if (w) w(); };
      // a late first byte is the swarm's fault (peers slow or choking), not a dead agent's — until
      // it happens three times in a row
      let timer = setTimeout(() => fail('first byte deadline', ++this.misses >= 3), patience + this.firstByte);
      const arm = () => { clearTimeout(timer); timer = setTimeout(() => fail('stalled', false), this.stall); };
      const finish = () => { clearTimeout(timer); this.pending.delete(id); };
      /** @param {string} why @param {boolean} dead */
      const fail = (why, dead) => {
        finish();
        this.notify({ op: Op.cancel, id });
        if (dead) this.drop(port);
        failed = new Error(`planktos agent: ${why}`);
        if (!started) resolve(null);
        wake();
      };
      const stream = new ReadableStream({
        pull: (c) => new Promise((r) => {
          const deliver = () => {
            if (queue.length > 0) {
              c.enqueue(/** @type {Uint8Array} */ (queue.shift()));
              this.notify({ op: Op.more, id });
            } else if (failed) c.error(failed);
            else if (done) c.close();
            else return void (waiting = deliver);
            r(undefined);
          };
          deliver();
        }),
        cancel: () => { finish(); this.notify({ op: Op.cancel, id }); },
      }, { highWaterMark: 0 });
      this.pending.set(id, (m) => {
        if (m.error) return fail(m.error, false);
        if (m.chunk) { arm(); queue.push(new Uint8Array(m.chunk)); }
        if (m.done) { finish(); done = true; }
        if (!started) { started = true; this.misses = 0; resolve(stream); }
        wake();
      });
      port.postMessage({ op: Op.read, id, sha, start, end, wait: patience, size });
    });
  }
}
