// The page agent's side of ut_planktos (manifest/exchange.go's doc comment is the protocol): signed
// manifests between visitors. One Exchange serves every wire of every torrent the swarm joins — the
// package's torrents and the site swarm — through `wire.use(exchange.Extension)`, called from the
// torrent's 'wire' event (before bittorrent-protocol sends the extended handshake, which then names
// ut_planktos).
//
// It holds the envelope the service worker sends (op envelope: the pinned key, the sequence, the
// signature followed by the manifest's exact bytes), offers it to every peer that speaks ut_planktos
// and answers its pieces. Offered a greater sequence, it fetches that envelope from one offerer (another
// after a STALL without a piece, or below MIN_RATE), checks it (common/signed.js: the pinned key, the signature over the
// exact bytes, the manifest's own key and sequence) and hands it to the worker (onAdopt), which checks
// it again before adopting it. A peer whose envelope fails, whose offer is too big or whose data does not
// fit its offer is refused: its further offers are ignored (by peer id, on every wire).
import { EXTENSION, MAX_ENVELOPE, Msg, SIGNATURE_SIZE, decodeMessage, encodeMessage, pieceLength, pieces, PIECE_SIZE } from '../common/exchange.js';
import { checkEnvelope } from '../common/signed.js';
import { debug } from '../common/debug.js';

/** ms without a piece from the offerer being fetched from before another offerer is asked. */
export const STALL = 10000;
/**
 * Bytes a second a fetch must average (besides one STALL): a peer that trickles a piece just inside
 * every STALL is a stall too. A 25 MB envelope may take 6.5 minutes.
 */
const MIN_RATE = 64 << 10;
/** Requests in flight to the offerer (pipelining: 8 × 16 KiB ahead). */
const WINDOW = 8;
/** BitTorrent framing of one extended message: length (4), id 20, the extension's id. */
const FRAME = 6;

/** @typedef {import('../common/exchange.js').Message} Message */
/** @typedef {{sequence: number, size: number}} Offer */

/**
 * What the exchange cost and did, for the agent's stats: messages (offers, requests sent, pieces served)
 * and wire bytes both ways, connections that speak ut_planktos, envelopes handed to the worker and
 * peers refused.
 */
function newCounts() {
  return { connections: 0, offersSent: 0, offersReceived: 0, requests: 0, served: 0, bytesIn: 0, bytesOut: 0, adopted: 0, refused: 0 };
}

/** One wire's ut_planktos state; the prototype's `name` is what bittorrent-protocol registers. */
class Peer {
  /** @param {Exchange} ex @param {any} wire */
  constructor(ex, wire) {
    this.ex = ex;
    this.wire = wire;
    /** whether the peer's extended handshake named ut_planktos */
    this.speaks = false;
    /** @type {Offer|null} what the peer last offered */
    this.offer = null;
    /** the sequence last offered to the peer */
    this.sent = 0;
    /**
     * whether a fetch from this peer stalled: its offers come after every other peer's, so that a peer
     * offering a huge sequence it never sends cannot hold back a real one
     */
    this.stalled = false;
    /** whether the peer's offers are ignored */
    this.refused = false;
  }

  /** @param {any} h the peer's extended handshake */
  onExtendedHandshake(h) {
    if (this.speaks || !h || !h.m || !h.m[EXTENSION]) return;
    this.speaks = true;
    this.ex.added(this);
  }

  /** @param {Uint8Array} buf */
  onMessage(buf) {
    this.ex.onMessage(this, buf);
  }

  /** The peer's id (hex), or '' before its handshake. */
  get id() {
    return String(this.wire.peerId ?? '');
  }
}
Object.defineProperty(Peer.prototype, 'name', { value: EXTENSION });

/**
 * @typedef {object} Fetch an envelope being fetched
 * @property {Peer} peer
 * @property {number} sequence
 * @property {number} size
 * @property {Uint8Array} buf
 * @property {Uint8Array} got 1 for each piece received
 * @property {number} have pieces received
 * @property {number} next the next piece to request
 * @property {number} deadline Date.now() by which the whole envelope must have come (see MIN_RATE)
 * @property {ReturnType<typeof setTimeout>|undefined} timer
 */

export class Exchange {
  /**
   * @param {{check?: typeof checkEnvelope, stall?: number, rate?: number}} [opts] the envelope check
   *   (common/signed.js), STALL and MIN_RATE (tests change them)
   */
  constructor({ check = checkEnvelope, stall = STALL, rate = MIN_RATE } = {}) {
    this.check = check;
    this.stall = stall;
    this.rate = rate;
    /** the pinned key (base64), '' while the worker has not said: nothing is fetched without it */
    this.key = '';
    /** the sequence in force at the worker (or adopted here since), 0 for none */
    this.sequence = 0;
    /** @type {Uint8Array|null} the envelope held */
    this.bytes = null;
    /** the greatest sequence handed to the worker: never fetched again */
    this.adoptedSeq = 0;
    /** whether envelopes are offered and served (not in download-only mode) */
    this.uploads = true;
    /** @type {Set<Peer>} open wires that speak ut_planktos */
    this.peers = new Set();
    /** @type {Set<string>} ids of refused peers */
    this.refusedIds = new Set();
    /** @type {Set<string>} ids of peers a fetch from which stalled (on any of their wires) */
    this.stalledIds = new Set();
    /** @type {Fetch|null} */
    this.fetch = null;
    /** whether a whole envelope is being checked (nothing else is fetched meanwhile) */
    this.checking = false;
    /** false where this browser cannot check an envelope (no Ed25519 in WebCrypto): nothing is fetched */
    this.canCheck = true;
    /** @type {(bytes: ArrayBuffer) => void} told of every envelope that passed the check */
    this.onAdopt = () => {};
    this.counts = newCounts();
    const ex = this;
    /** The bittorrent-protocol extension, bound to this exchange: `wire.use(exchange.Extension)`. */
    this.Extension = class extends Peer {
      /** @param {any} wire */
      constructor(wire) { super(ex, wire); }
    };
  }

  /**
   * Holds an envelope (what the worker sends; a test may hold any bytes, to act as a hostile peer):
   * it is offered on every wire that was not offered this sequence yet. `sequence` is the one in force,
   * which a peer's must beat; `bytes` null: no envelope to offer.
   * @param {string} key the pinned public key (base64)
   * @param {number} sequence
   * @param {ArrayBuffer|Uint8Array|null} bytes
   */
  hold(key, sequence, bytes) {
    this.key = typeof key === 'string' ? key : '';
    this.sequence = Number.isSafeInteger(sequence) && sequence > 0 ? sequence : 0;
    this.bytes = bytes ? new Uint8Array(bytes.slice(0)) : null;
    if (this.fetch && this.fetch.sequence <= this.sequence) this.stop();
    this.offerAll();
    this.pick();
  }

  /** Lets peers fetch from here, or not (download-only): offers go out again when it turns on. @param {boolean} on */
  setUploads(on) {
    this.uploads = on;
    this.offerAll();
  }

  /** @param {any} wire a wire of a torrent the swarm joined */
  attach(wire) {
    if (!wire[EXTENSION]) wire.use(this.Extension);
  }

  /** A peer that speaks ut_planktos: offer it what is held. @param {Peer} p */
  added(p) {
    this.peers.add(p);
    this.counts.connections++;
    p.wire.once('close', () => this.gone(p));
    this.offerTo(p);
  }

  /** @param {Peer} p */
  gone(p) {
    this.peers.delete(p);
    p.offer = null;
    if (this.fetch?.peer === p) {
      this.stop();
      this.pick();
    }
  }

  offerAll() {
    for (const p of this.peers) this.offerTo(p);
  }

  /** @param {Peer} p */
  offerTo(p) {
    if (!this.bytes || !this.uploads || p.sent === this.sequence) return;
    p.sent = this.sequence;
    this.counts.offersSent++;
    this.send(p, { type: Msg.offer, sequence: this.sequence, piece: 0, size: this.bytes.length });
  }

  /** @param {Peer} p @param {Message} m */
  send(p, m) {
    if (p.wire.destroyed) return;
    const buf = encodeMessage(m);
    this.counts.bytesOut += buf.length + FRAME;
    try {
      p.wire.extended(EXTENSION, buf);
    } catch {
      // the wire closed meanwhile: its peer asks elsewhere
    }
  }

  /** @param {Peer} p @param {Uint8Array} buf */
  onMessage(p, buf) {
    this.counts.bytesIn += buf.length + FRAME;
    const m = decodeMessage(buf);
    if (!m) return;
    if (m.type === Msg.offer) this.onOffer(p, m);
    else if (m.type === Msg.request) this.onRequest(p, m);
    else if (m.type === Msg.data) this.onData(p, m);
    else if (m.type === Msg.reject) this.onReject(p, m);
  }

  /** @param {Peer} p @param {Message} m */
  onOffer(p, m) {
    this.counts.offersReceived++;
    if (this.refused(p)) return;
    if (m.size <= SIGNATURE_SIZE || m.size > MAX_ENVELOPE) return this.refuse(p, `an offer of ${m.size} bytes`);
    p.offer = { sequence: m.sequence, size: m.size };
    this.pick();
  }

  /** @param {Peer} p @param {Message} m */
  onRequest(p, m) {
    const len = this.bytes ? pieceLength(this.bytes.length, m.piece) : 0;
    if (!this.bytes || !this.uploads || m.sequence !== this.sequence || len === 0) {
      return this.send(p, { type: Msg.reject, sequence: m.sequence, piece: m.piece, size: 0 });
    }
    this.counts.served++;
    const start = m.piece * PIECE_SIZE;
    this.send(p, { type: Msg.data, sequence: this.sequence, piece: m.piece, size: this.bytes.length, data: this.bytes.subarray(start, start + len) });
  }

  /** @param {Peer} p @param {Message} m */
  onData(p, m) {
    const f = this.fetch;
    if (!f || f.peer !== p || m.sequence !== f.sequence) return; // late, after a switch: harmless
    const data = /** @type {Uint8Array} */ (m.data);
    if (m.size !== f.size || m.piece >= f.next || data.length !== pieceLength(f.size, m.piece)) {
      return this.refuse(p, `piece ${m.piece} (${data.length} bytes of ${m.size}) does not fit its offer of ${f.size}`);
    }
    if (f.got[m.piece]) return;
    f.got[m.piece] = 1;
    f.have++;
    f.buf.set(data, m.piece * PIECE_SIZE);
    this.request(f);
    if (f.have === f.got.length) void this.done(f);
  }

  /** @param {Peer} p @param {Message} m */
  onReject(p, m) {
    const f = this.fetch;
    if (!f || f.peer !== p || m.sequence !== f.sequence) return;
    p.offer = null; // it no longer holds that sequence
    this.stop();
    this.pick();
  }

  /** The sequence above which offers are worth fetching. */
  floor() {
    return Math.max(this.sequence, this.adoptedSeq);
  }

  /** @param {Peer} p */
  refused(p) {
    return p.refused || this.refusedIds.has(p.id);
  }

  /**
   * Starts fetching the greatest sequence offered above the floor by a peer that never stalled (by one
   * that did if none other offers), unless a fetch of that sequence (or a check) is under way.
   */
  pick() {
    if (!this.key || !this.canCheck || this.checking) return;
    /** @type {(p: Peer) => [number, number]} an offer's rank: from a peer that never stalled, then its sequence */
    const rank = (p) => [p.stalled || this.stalledIds.has(p.id) ? 0 : 1, p.offer?.sequence ?? 0];
    /** @type {Peer|null} */
    let best = null;
    for (const p of this.peers) {
      if (!p.offer || p.offer.sequence <= this.floor() || this.refused(p)) continue;
      const [a, b] = [rank(p), best ? rank(best) : [0, 0]];
      if (!best || a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) best = p;
    }
    if (!best?.offer || (this.fetch && this.fetch.sequence >= best.offer.sequence)) return;
    this.stop();
    const { sequence, size } = best.offer;
    const n = pieces(size);
    this.fetch = { peer: best, sequence, size, buf: new Uint8Array(size), got: new Uint8Array(n), have: 0, next: 0,
      deadline: Date.now() + this.stall + (size / this.rate) * 1000, timer: undefined };
    debug.log?.('ut_planktos: fetching sequence', sequence, `(${size} bytes) from`, best.id, 'held:', this.sequence);
    this.request(this.fetch);
  }

  /**
   * Keeps WINDOW requests in flight, and the stall timer running: STALL without a piece, or the
   * fetch's deadline, whichever comes first.
   * @param {Fetch} f
   */
  request(f) {
    while (f.next < f.got.length && f.next - f.have < WINDOW) {
      this.counts.requests++;
      this.send(f.peer, { type: Msg.request, sequence: f.sequence, piece: f.next++, size: 0 });
    }
    clearTimeout(f.timer);
    if (f.have < f.got.length) {
      f.timer = setTimeout(() => {
        if (this.fetch !== f) return;
        debug.log?.('ut_planktos: sequence', f.sequence, 'stalled at', f.peer.id, `(${f.have} of ${f.got.length} pieces): asking another`);
        f.peer.stalled = true;
        if (f.peer.id) this.stalledIds.add(f.peer.id);
        this.stop();
        this.pick();
      }, Math.max(0, Math.min(this.stall, f.deadline - Date.now())));
    }
  }

  stop() {
    if (this.fetch) clearTimeout(this.fetch.timer);
    this.fetch = null;
  }

  /** The envelope is whole: check it, then hold it and hand it to the worker. @param {Fetch} f */
  async done(f) {
    this.stop();
    this.checking = true;
    const r = await this.check(this.key, f.buf).finally(() => { this.checking = false; });
    if ('refused' in r && r.refused === 'unsupported') {
      this.canCheck = false;
      return;
    }
    if ('refused' in r) return this.refuse(f.peer, `its envelope of sequence ${f.sequence}: ${r.refused}`);
    const seq = r.manifest.sequence;
    if (seq !== f.sequence || seq <= this.floor()) return this.refuse(f.peer, `its envelope says sequence ${seq}, offered ${f.sequence}, held ${this.floor()}`);
    this.counts.adopted++;
    this.adoptedSeq = seq;
    debug.log?.('ut_planktos: sequence', seq, 'from', f.peer.id, 'verifies: handing it to the worker');
    this.hold(this.key, seq, f.buf); // a copy: the worker is handed f.buf's own buffer
    this.onAdopt(/** @type {ArrayBuffer} */ (f.buf.buffer));
  }

  /** Ignores a peer's further offers. @param {Peer} p @param {string} why */
  refuse(p, why) {
    debug.log?.('ut_planktos: refusing peer', p.id, 'for', why);
    this.counts.refused++;
    p.refused = true;
    if (p.id) this.refusedIds.add(p.id);
    p.offer = null;
    if (this.fetch?.peer === p) this.stop();
    this.pick();
  }

  /** The counters, for the agent's stats. */
  stats() {
    return { ...this.counts, held: this.sequence };
  }
}
