// A WebTorrent chunk store backed by the planktos store: pieces are read from the verified files the
// browser already keeps (so everything in the store is seeded, whichever way it arrived), and pieces
// downloaded from peers are held in memory until a whole file is there, verified by SHA-256 and kept.

/**
 * @typedef {object} FileStore what the chunk store needs of the local store
 * @property {(sha: string) => Promise<Blob|null>} get
 * @property {(sha: string, blob: Blob) => Promise<void>} put
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

/**
 * Makes the store class WebTorrent instantiates per torrent (`new Store(chunkLength, {files, length})`).
 * @param {FileStore} files
 * @param {(data: Uint8Array<ArrayBuffer>, sha: string) => Promise<boolean>} verify
 * @param {(sha: string) => void} onCommit told when a file downloaded from peers was kept
 */
export function chunkStoreClass(files, verify, onCommit) {
  return class PlanktosChunkStore {
    /**
     * @param {number} chunkLength
     * @param {{length: number, files: Array<{name: string, offset: number, length: number}>}} opts
     */
    constructor(chunkLength, opts) {
      this.chunkLength = chunkLength;
      this.length = opts.length;
      this.lastIndex = Math.max(0, Math.ceil(this.length / chunkLength) - 1);
      /** @type {Span[]} */
      this.spans = opts.files.map((f) => ({ sha: f.name, offset: f.offset, length: f.length }));
      /** @type {Map<number, Uint8Array>} pieces not yet part of a kept file */
      this.mem = new Map();
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
     * read from the store once and kept for the blocks that follow.
     * @param {number} index @param {{offset?: number, length?: number}} opts
     */
    async read(index, opts) {
      const off = opts.offset || 0;
      const len = opts.length ?? this.pieceLength(index) - off;
      const m = this.mem.get(index);
      if (m) return m.subarray(off, off + len);
      let p = this.recent.get(index);
      if (!p) {
        p = this.readStored(index);
        this.recent.set(index, p);
        p.catch(() => this.recent.delete(index));
        for (const k of this.recent.keys()) {
          if (this.recent.size <= RECENT) break;
          this.recent.delete(k);
        }
      }
      return (await p).subarray(off, off + len);
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
      const from = index * this.chunkLength;
      for (const s of this.overlapping(from, from + this.pieceLength(index))) {
        if (this.blobs.has(s.sha)) continue;
        const first = Math.floor(s.offset / this.chunkLength);
        const last = Math.floor((s.offset + s.length - 1) / this.chunkLength);
        const pieces = [];
        for (let i = first; i <= last; i++) {
          const p = this.mem.get(i);
          if (!p) break;
          pieces.push(p);
        }
        if (pieces.length !== last - first + 1) continue;
        const all = concat(pieces);
        const start = s.offset - first * this.chunkLength;
        const data = all.slice(start, start + s.length);
        if (!(await verify(data, s.sha))) continue;
        const blob = new Blob([data]);
        await files.put(s.sha, blob);
        this.blobs.set(s.sha, blob);
        onCommit(s.sha);
      }
      this.release();
    }

    /** Drops pieces lying wholly inside kept files. */
    release() {
      for (const i of this.mem.keys()) {
        const from = i * this.chunkLength;
        const over = this.overlapping(from, from + this.pieceLength(i));
        if (over.length > 0 && over.every((s) => this.blobs.has(s.sha))) this.mem.delete(i);
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
