// A WebTorrent chunk store backed by the planktos store: pieces are read from the verified files the
// browser already keeps (so everything in the store is seeded, whichever way it arrived), and pieces
// downloaded from peers — handed over by WebTorrent only after their SHA-1 check — are kept (see
// common/pieces.js), so that a navigation or an agent restart never downloads them again. Once a
// file's pieces are all there, the file is checked against its SHA-256 and kept in the store, and the
// pieces lying wholly inside kept files are dropped.
//
// Costs, per byte a peer sends (measured in Chromium, issue 12): a CacheStorage write costs nearly as
// much per entry as per byte at piece sizes, so pieces are written in runs — what arrived within
// BATCH_MS, or BATCH_BYTES, as one entry per run of consecutive pieces — and at once when the page is
// hidden or goes away (pagehide, visibilitychange) or the torrent is closed. Pieces whose file was kept
// before their run was due are never written. Seeding, a stored file is read READ_AHEAD bytes at a
// time for the pieces peers ask next, not a Blob read per piece.

/**
 * @typedef {object} FileStore what the chunk store needs of the local store
 * @property {(sha: string) => Promise<Blob|null>} get
 * @property {(sha: string, blob: Blob) => Promise<void>} put
 */
/**
 * @typedef {object} Pieces what the chunk store needs of the piece store
 * @property {(ih: string, index: number, pieceLength?: number) => Promise<Uint8Array|null>} get
 * @property {(ih: string, index: number, buf: Uint8Array) => Promise<void>} put
 * @property {((ih: string, first: number, bufs: Uint8Array[]) => Promise<void>)=} putRun consecutive
 *   pieces as one write; with it, the store writes in batches, else each piece at once
 * @property {(ih: string, index: number) => Promise<void>} drop
 */
/** @typedef {{sha: string, offset: number, length: number}} Span */
/** @typedef {(err: Error|null, buf?: Uint8Array) => void} Callback */

/** Whole pieces kept for the blocks peers ask next (at least). */
const RECENT = 8;
/** Bytes of a stored file read at once for the pieces peers ask next. */
const READ_AHEAD = 1 << 20;
/** ms a piece from a peer may wait in memory to be written with the pieces that follow it. */
export const BATCH_MS = 250;
/** Bytes of pieces written as one batch at most. */
export const BATCH_BYTES = 1 << 20;
/**
 * Files of at least this many bytes are checked and kept after WebTorrent was told their last piece
 * is stored (hashing and writing 50 MiB takes most of a second, which would hold back that piece's
 * reader); smaller ones before.
 */
const LATE_COMMIT = 1 << 20;

/** @param {Uint8Array[]} parts */
function concat(parts) {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Pieces nowhere kept: what a store without a piece store uses. @type {Pieces} */
const noPieces = { get: async () => null, put: async () => {}, drop: async () => {} };

/**
 * Makes the store class WebTorrent instantiates per torrent (`new Store(chunkLength, opts)`; opts has
 * the torrent's `files`, `length` and `torrent.infoHash`, and `kept`: the indices of pieces the piece
 * store holds for it, which this store keeps up to date).
 * @param {FileStore} files
 * @param {(data: Uint8Array<ArrayBuffer>, sha: string) => Promise<boolean>} verify
 * @param {(sha: string) => void} onCommit told when a file downloaded from peers was kept
 * @param {Pieces} pieces
 */
export function chunkStoreClass(files, verify, onCommit, pieces = noPieces) {
  return class PlanktosChunkStore {
    /**
     * @param {number} chunkLength
     * @param {{length: number, files: Array<{name: string, offset: number, length: number}>,
     *   torrent?: {infoHash: string}, kept?: Set<number>}} opts
     */
    constructor(chunkLength, opts) {
      this.chunkLength = chunkLength;
      this.length = opts.length;
      this.ih = opts.torrent?.infoHash ?? '';
      this.lastIndex = Math.max(0, Math.ceil(this.length / chunkLength) - 1);
      /** @type {Span[]} */
      this.spans = opts.files.map((f) => ({ sha: f.name, offset: f.offset, length: f.length }));
      /** @type {Map<number, Uint8Array>} pieces not yet part of a kept file, this session */
      this.mem = new Map();
      /** @type {Set<number>} pieces in the piece store */
      this.kept = opts.kept ?? new Set();
      /** @type {Map<number, Promise<void>>} piece writes under way */
      this.writing = new Map();
      /** @type {Map<string, Blob>} */
      this.blobs = new Map();
      /** @type {Map<number, Promise<Uint8Array>>} whole pieces read lately, for the blocks that follow */
      this.recent = new Map();
      this.recentMax = Math.max(RECENT, 2 * Math.floor(READ_AHEAD / chunkLength));
      /** @type {Map<number, Uint8Array>} pieces from peers waiting for their batch to be written */
      this.pending = new Map();
      this.pendingBytes = 0;
      /** @type {ReturnType<typeof setTimeout>|undefined} */
      this.flushTimer = undefined;
      /** @type {Set<string>} files being checked and kept */
      this.assembling = new Set();
      this.closed = false;
      this.batched = !!(this.ih && pieces.putRun);
      // the page goes away, or is hidden or frozen (and may be discarded unseen): write what waits, now.
      // (In a hidden page the batch timer may fire up to about a second late: timers are throttled.)
      this.onHide = () => void this.flush();
      this.onVisibility = () => { if (globalThis.document?.visibilityState === 'hidden') void this.flush(); };
      if (this.batched) {
        globalThis.addEventListener?.('pagehide', this.onHide);
        globalThis.document?.addEventListener?.('visibilitychange', this.onVisibility);
        globalThis.document?.addEventListener?.('freeze', this.onHide);
      }
    }

    /** @param {number} index */
    pieceLength(index) {
      return index === this.lastIndex ? this.length - index * this.chunkLength : this.chunkLength;
    }

    /** Files overlapping bytes [from, to). @param {number} from @param {number} to */
    overlapping(from, to) {
      return this.spans.filter((s) => s.length > 0 && s.offset < to && s.offset + s.length > from);
    }

    /** Files overlapping piece `index`. @param {number} index */
    filesOf(index) {
      const from = index * this.chunkLength;
      return this.overlapping(from, from + this.pieceLength(index));
    }

    /** Whether every piece of file `s` is here (this session's or kept). @param {Span} s */
    complete(s) {
      const first = Math.floor(s.offset / this.chunkLength);
      const last = Math.floor((s.offset + s.length - 1) / this.chunkLength);
      for (let i = first; i <= last; i++) if (!this.mem.has(i) && !this.kept.has(i)) return false;
      return true;
    }

    /** @param {number} index @param {Uint8Array} buf @param {(err: Error|null) => void=} cb */
    put(index, buf, cb = () => {}) {
      if (this.closed) return queueMicrotask(() => cb(new Error('storage is closed')));
      this.mem.set(index, buf);
      if (this.ih && !this.kept.has(index)) this.keep(index, buf);
      const late = this.filesOf(index).some((s) => s.length >= LATE_COMMIT && !this.blobs.has(s.sha) && this.complete(s));
      const c = this.commit(index);
      if (late) cb(null);
      else c.then(() => cb(null), () => cb(null));
    }

    /** Writes a piece from a peer to the piece store: in the next batch, or at once. @param {number} index @param {Uint8Array} buf */
    keep(index, buf) {
      if (!this.batched) {
        const w = pieces.put(this.ih, index, buf).then(() => { this.kept.add(index); }, () => {});
        this.writing.set(index, w);
        void w.finally(() => { if (this.writing.get(index) === w) this.writing.delete(index); });
        return;
      }
      if (!this.pending.has(index)) this.pendingBytes += buf.length;
      this.pending.set(index, buf);
      if (this.pendingBytes >= BATCH_BYTES) void this.flush();
      else if (!this.flushTimer) this.flushTimer = setTimeout(() => void this.flush(false), BATCH_MS);
    }

    /** Whether piece `index` lies wholly inside kept files. @param {number} index */
    inKept(index) {
      const over = this.filesOf(index);
      return over.length > 0 && over.every((s) => this.blobs.has(s.sha));
    }

    /**
     * Writes the pieces waiting, one entry per run of consecutive pieces. When their time is up while
     * a file is being kept (`urgent` false), they wait for it: its pieces need no writing then.
     * @param {boolean} urgent
     */
    async flush(urgent = true) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      if (this.pending.size === 0) return;
      if (!urgent && this.assembling.size > 0) {
        this.flushTimer = setTimeout(() => void this.flush(false), BATCH_MS);
        return;
      }
      const bufs = this.pending;
      this.pending = new Map();
      this.pendingBytes = 0;
      const idx = [...bufs.keys()].filter((i) => !this.inKept(i)).sort((a, b) => a - b);
      const writes = [];
      for (let i = 0; i < idx.length;) {
        let j = i;
        while (j + 1 < idx.length && idx[j + 1] === idx[j] + 1) j++;
        const run = idx.slice(i, j + 1);
        i = j + 1;
        const put = /** @type {NonNullable<Pieces['putRun']>} */ (pieces.putRun);
        const w = put.call(pieces, this.ih, run[0], run.map((k) => /** @type {Uint8Array} */ (bufs.get(k))))
          .then(() => { for (const k of run) if (this.writing.get(k) === w) this.kept.add(k); }, () => {});
        for (const k of run) this.writing.set(k, w);
        void w.finally(() => { for (const k of run) if (this.writing.get(k) === w) this.writing.delete(k); });
        writes.push(w);
      }
      await Promise.all(writes);
    }

    /**
     * @param {number} index @param {any} opts @param {Callback=} cb
     * @returns {void}
     */
    get(index, opts, cb) {
      if (typeof opts === 'function') return this.get(index, null, opts);
      const done = cb || (() => {});
      if (this.closed) return queueMicrotask(() => done(new Error('storage is closed')));
      this.read(index, opts || {}).then((b) => done(null, b), (e) => done(e));
    }

    /**
     * Bytes of a piece. Peers ask for a piece in 16 KiB blocks, one after another: the whole piece is
     * read once and kept for the blocks that follow.
     * @param {number} index @param {{offset?: number, length?: number}} opts
     */
    async read(index, opts) {
      const off = opts.offset || 0;
      const len = opts.length ?? this.pieceLength(index) - off;
      const m = this.mem.get(index);
      if (m) return m.subarray(off, off + len);
      let p = this.recent.get(index);
      if (!p) {
        this.readAhead(index);
        p = /** @type {Promise<Uint8Array>} */ (this.recent.get(index));
        for (const k of this.recent.keys()) {
          if (this.recent.size <= this.recentMax) break;
          this.recent.delete(k);
        }
      }
      return (await p).subarray(off, off + len);
    }

    /**
     * Reads piece `index` into `recent` — with the pieces after it, up to READ_AHEAD bytes, when they
     * lie in the same stored file (peers ask for a file's pieces mostly in order).
     * @param {number} index
     */
    readAhead(index) {
      /** @param {number} k @param {Promise<Uint8Array>} p */
      const hold = (k, p) => {
        this.recent.set(k, p);
        p.catch(() => { if (this.recent.get(k) === p) this.recent.delete(k); });
      };
      const over = this.filesOf(index);
      const cl = this.chunkLength;
      let last = index;
      if (over.length === 1 && !this.kept.has(index)) {
        const end = over[0].offset + over[0].length;
        const n = Math.floor(READ_AHEAD / cl);
        while (last + 1 <= this.lastIndex && last + 1 - index < n && (last + 1) * cl + this.pieceLength(last + 1) <= end &&
          !this.recent.has(last + 1) && !this.mem.has(last + 1) && !this.kept.has(last + 1)) last++;
      }
      if (last === index) return hold(index, this.whole(index));
      const s = over[0];
      const from = index * cl;
      const to = last * cl + this.pieceLength(last);
      const all = this.blob(s.sha, s.length).then(async (blob) => {
        if (!blob) throw new Error('chunk not in store');
        return new Uint8Array(await blob.slice(from - s.offset, to - s.offset).arrayBuffer());
      });
      for (let k = index; k <= last; k++) {
        const at = (k - index) * cl;
        const len = this.pieceLength(k);
        hold(k, all.then((b) => b.subarray(at, at + len)));
      }
    }

    /** A whole piece: this session's, a kept one, or from the files in the store. @param {number} index */
    async whole(index) {
      const m = this.mem.get(index);
      if (m) return m;
      if (this.kept.has(index)) {
        const b = await pieces.get(this.ih, index, this.chunkLength).catch(() => null);
        if (b && b.length === this.pieceLength(index)) return b;
      }
      return this.readStored(index);
    }

    /** A whole piece, from the files in the store. @param {number} index */
    async readStored(index) {
      const from = index * this.chunkLength;
      const to = from + this.pieceLength(index);
      const parts = [];
      for (const s of this.overlapping(from, to)) {
        const blob = await this.blob(s.sha, s.length);
        if (!blob) throw new Error('chunk not in store');
        const a = Math.max(from, s.offset) - s.offset;
        const b = Math.min(to, s.offset + s.length) - s.offset;
        parts.push(new Uint8Array(await blob.slice(a, b).arrayBuffer()));
      }
      return concat(parts);
    }

    /** The stored content of a file, if complete. @param {string} sha @param {number} size */
    async blob(sha, size) {
      let b = this.blobs.get(sha);
      if (!b) {
        const got = await files.get(sha).catch(() => null);
        if (!got || got.size !== size) return null;
        b = got;
        this.blobs.set(sha, b);
      }
      return b;
    }

    /** Keeps every file the piece `index` completes. @param {number} index */
    async commit(index) {
      /** @type {Span[]} */
      const kept = [];
      const from = index * this.chunkLength;
      for (const s of this.overlapping(from, from + this.pieceLength(index))) {
        if (this.blobs.has(s.sha) || this.assembling.has(s.sha) || !this.complete(s)) continue;
        this.assembling.add(s.sha);
        try {
          const data = await this.assemble(s);
          if (!data || !(await verify(data, s.sha))) continue;
          if (this.blobs.has(s.sha)) continue; // kept meanwhile
          const blob = new Blob([data]);
          await files.put(s.sha, blob);
          this.blobs.set(s.sha, blob);
          kept.push(s);
          onCommit(s.sha);
        } finally {
          this.assembling.delete(s.sha);
        }
      }
      for (const s of kept) await this.release(s);
    }

    /**
     * A file's bytes from its pieces (this session's or kept), copied once; null if one is missing.
     * @param {Span} s
     * @returns {Promise<Uint8Array<ArrayBuffer>|null>}
     */
    async assemble(s) {
      const cl = this.chunkLength;
      const first = Math.floor(s.offset / cl);
      const last = Math.floor((s.offset + s.length - 1) / cl);
      const data = new Uint8Array(s.length);
      for (let i = first; i <= last; i++) {
        const p = this.mem.get(i) ?? await pieces.get(this.ih, i, cl).catch(() => null);
        if (!p || p.length !== this.pieceLength(i)) return null;
        const at = i * cl;
        const a = Math.max(at, s.offset);
        const b = Math.min(at + p.length, s.offset + s.length);
        data.set(p.subarray(a - at, b - at), a - s.offset);
      }
      return data;
    }

    /**
     * Drops the pieces of file `f` (just kept) that lie wholly inside kept files, from memory and from
     * the piece store.
     * @param {Span} f
     */
    async release(f) {
      const first = Math.floor(f.offset / this.chunkLength);
      const last = Math.floor((f.offset + f.length - 1) / this.chunkLength);
      const inFile = (/** @type {number} */ i) => i >= first && i <= last;
      /** @param {number} i */
      const done = async (i) => {
        const from = i * this.chunkLength;
        const over = this.overlapping(from, from + this.pieceLength(i));
        for (const s of over) if (!this.blobs.has(s.sha) && !(await this.blob(s.sha, s.length))) return false;
        return over.length > 0;
      };
      for (const i of [...this.mem.keys()]) if (inFile(i) && await done(i)) this.mem.delete(i);
      for (const [i, b] of [...this.pending]) {
        if (!inFile(i) || !(await done(i))) continue;
        if (this.pending.delete(i)) this.pendingBytes -= b.length; // never written
      }
      for (const i of new Set([...this.kept, ...this.writing.keys()])) {
        if (!inFile(i) || !(await done(i))) continue;
        this.kept.delete(i);
        const w = this.writing.get(i) ?? Promise.resolve();
        await w.then(() => { this.kept.delete(i); return pieces.drop(this.ih, i); }).catch(() => {});
      }
    }

    /** @param {(err: Error|null) => void=} cb */
    close(cb = () => {}) {
      if (this.batched) {
        void this.flush();
        globalThis.removeEventListener?.('pagehide', this.onHide);
        globalThis.document?.removeEventListener?.('visibilitychange', this.onVisibility);
        globalThis.document?.removeEventListener?.('freeze', this.onHide);
      }
      this.closed = true;
      this.mem.clear();
      this.recent.clear();
      this.blobs.clear();
      queueMicrotask(() => cb(null));
    }

    /** @param {(err: Error|null) => void=} cb */
    destroy(cb) {
      this.close(cb);
    }
  };
}
