// Answers the service worker's questions over the MessagePort: byte ranges of files streamed as
// chunks from the swarm (WebTorrent prioritises exactly the pieces asked for), cancellation, stats.

import { Op } from '../common/protocol.js';
import { debug } from '../common/debug.js';

/** @typedef {import('./swarm.js').Swarm} Swarm */

export class AgentServer {
  /**
   * @param {() => Promise<Swarm|null>} swarm the swarm, once the agent has started (null: none)
   * @param {() => object} stats
   * @param {(msg: any) => void} other handler of notes (stored, manifest)
   */
  constructor(swarm, stats, other) {
    this.swarm = swarm;
    this.stats = stats;
    this.other = other;
    /** @type {Map<number, any>} id → iterator */
    this.active = new Map();
    /** @type {Map<number, {credit: number, wake: (() => void)|null}>} id → flow control */
    this.flow = new Map();
    /** @type {Set<number>} reads waiting for their torrent */
    this.waiting = new Set();
  }

  /** Chunks sent ahead of what the service worker asked for. */
  static get AHEAD() { return 4; }

  /** @param {MessagePort} port */
  listen(port) {
    port.onmessage = (e) => this.onMessage(port, e.data);
    port.start();
  }

  /** @param {MessagePort} port @param {any} msg */
  onMessage(port, msg) {
    if (!msg) return;
    if (msg.op === Op.read) void this.read(port, msg);
    else if (msg.op === Op.cancel) this.cancel(msg.id);
    else if (msg.op === Op.more) this.more(msg.id);
    else if (msg.op === Op.stats) port.postMessage({ id: msg.id, stats: this.stats() });
    else this.other(msg);
  }

  /** @param {number} id */
  cancel(id) {
    this.waiting.delete(id);
    const it = this.active.get(id);
    this.active.delete(id);
    if (it) it.destroy?.();
    this.more(id);
  }

  /** The service worker read a chunk: one more may go. @param {number} id */
  more(id) {
    const f = this.flow.get(id);
    if (!f) return;
    f.credit++;
    const w = f.wake;
    f.wake = null;
    if (w) w();
  }

  /** Waits until a chunk may be sent. @param {number} id */
  async turn(id) {
    const f = this.flow.get(id);
    if (!f) return;
    while (f.credit <= 0 && this.active.has(id)) await new Promise((r) => { f.wake = () => r(undefined); });
    f.credit--;
  }

  /**
   * Streams bytes [start, end] of a file, once a connected peer (or this browser) has them: at once, or
   * within `wait` ms (the service worker waits for peers when HTTP failed); else 'unavailable'.
   * @param {MessagePort} port @param {{id: number, sha: string, start: number, end: number, wait?: number, size?: number}} msg
   */
  async read(port, { id, sha, start, end, wait = 0, size }) {
    this.waiting.add(id);
    let f = await this.swarm().then((sw) => sw?.want(sha, start, end, wait) ?? null).catch(() => null);
    // a manifest entry naming this hash with another size is not this file (its bytes would be cut)
    if (f && size != null && f.file.length !== size) f = null;
    if (!this.waiting.delete(id)) return; // cancelled meanwhile
    if (!f) {
      debug.log?.('read', sha, `[${start}, ${end}]`, 'unavailable: no connected peer has every piece', wait ? `within ${wait} ms` : 'now');
      return port.postMessage({ id, error: 'unavailable' });
    }
    const it = f.file[Symbol.asyncIterator]({ start, end });
    this.active.set(id, it);
    this.flow.set(id, { credit: AgentServer.AHEAD, wake: null });
    let sent = 0;
    try {
      for await (const chunk of it) {
        await this.turn(id);
        if (!this.active.has(id)) return;
        // one copy (the chunk is a view of a piece the chunk store keeps), transferred
        const copy = new Uint8Array(chunk.byteLength);
        copy.set(chunk);
        sent += copy.byteLength;
        port.postMessage({ id, chunk: copy.buffer }, [copy.buffer]);
      }
      if (!this.active.has(id)) return;
      // WebTorrent's iterator ends early, without an error, when a piece cannot be read
      if (sent === end - start + 1) port.postMessage({ id, done: true });
      else port.postMessage({ id, error: `short read: ${sent} of ${end - start + 1} bytes` });
    } catch (err) {
      port.postMessage({ id, error: String(err) });
    } finally {
      this.active.delete(id);
      this.flow.delete(id);
    }
  }
}
