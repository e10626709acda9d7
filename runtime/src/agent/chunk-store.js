// A WebTorrent chunk store backed by the planktos store: pieces are read from the verified files the
// browser already keeps (so everything in the store is seeded, whichever way it arrived), and pieces
// downloaded from peers — handed over by WebTorrent only after their SHA-1 check — are kept at once
// (see common/pieces.js), so that a navigation or an agent restart never downloads them again. Once a
// file's pieces are all there, the file is checked against its SHA-256 and kept in the store, and the
// pieces lying wholly inside kept files are dropped.

/**
 * @typedef {object} FileStore what the chunk store needs of the local store
 * @property {(sha: string) => Promise<Blob|null>} get
 * @property {(sha: string, blob: Blob) => Promise<void>} put
 */
/**
 * @typedef {object} Pieces what the chunk store needs of the piece store
 * @property {(ih: string, index: number) => Promise<Uint8Array|null>} get
 * @property {(ih: string, index: number, buf: Uint8Array) => Promise<void>} put
 * @property {(ih: string, index: number) => Promise<void>} drop
 */
/** @typedef {{sha: string, offset: number, length: number}} Span */
/** @typedef {(err: Error|null, buf?: Uint8Array) => void} Callback */

/** Whole pieces kept for the blocks peers ask next. */
const RECENT = 8;

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
      this.closed = false;
    }

    /** @param {number} index */
    pieceLength(index) {
      return index === this.lastIndex ? this.length - index * this.chunkLength : this.chunkLength;
    }

    /** Files overlapping bytes [from, to). @param {number} from @param {number} to */
    overlapping(from, to) {
      return this.spans.filter((s) => s.length > 0 && s.offset < to && s.offset + s.length > from);
    }

    /** @param {number} index @param {Uint8Array} buf @param {(err: Error|null) => void=} cb */
    put(index, buf, cb = () => {}) {
      if (this.closed) return queueMicrotask(() => cb(new Error('storage is closed')));
      this.mem.set(index, buf);
      if (this.ih && !this.kept.has(index)) {
        const w = pieces.put(this.ih, index, buf).then(() => { this.kept.add(index); }, () => {});
        this.writing.set(index, w);
        void w.finally(() => { if (this.writing.get(index) === w) this.writing.delete(index); });
      }
      this.commit(index).then(() => cb(null), () => cb(null));
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
        p = this.whole(index);
        this.recent.set(index, p);
        p.catch(() => this.recent.delete(index));
        for (const k of this.recent.keys()) {
          if (this.recent.size <= RECENT) break;
          this.recent.delete(k);
        }
      }
      return (await p).subarray(off, off + len);
    }

    /** A whole piece: this session's, a kept one, or from the files in the store. @param {number} index */
    async whole(index) {
      const m = this.mem.get(index);
      if (m) return m;
      if (this.kept.has(index)) {
        const b = await pieces.get(this.ih, index).catch(() => null);
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
        if (this.blobs.has(s.sha)) continue;
        const first = Math.floor(s.offset / this.chunkLength);
        const last = Math.floor((s.offset + s.length - 1) / this.chunkLength);
        let complete = true;
        for (let i = first; i <= last && complete; i++) complete = this.mem.has(i) || this.kept.has(i);
        if (!complete) continue;
        const parts = [];
        for (let i = first; i <= last; i++) {
          const p = this.mem.get(i) ?? await pieces.get(this.ih, i).catch(() => null);
          if (!p) break;
          parts.push(p);
        }
        if (parts.length !== last - first + 1) continue;
        const all = concat(parts);
        const start = s.offset - first * this.chunkLength;
        const data = all.slice(start, start + s.length);
        if (!(await verify(data, s.sha))) continue;
        if (this.blobs.has(s.sha)) continue; // kept meanwhile, by a commit of another of its pieces
        const blob = new Blob([data]);
        await files.put(s.sha, blob);
        this.blobs.set(s.sha, blob);
        kept.push(s);
        onCommit(s.sha);
      }
      for (const s of kept) await this.release(s);
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
      for (const i of new Set([...this.kept, ...this.writing.keys()])) {
        if (!inFile(i) || !(await done(i))) continue;
        this.kept.delete(i);
        const w = this.writing.get(i) ?? Promise.resolve();
        await w.then(() => { this.kept.delete(i); return pieces.drop(this.ih, i); }).catch(() => {});
      }
    }

    /** @param {(err: Error|null) => void=} cb */
    close(cb = () => {}) {
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
