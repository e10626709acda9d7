// Range and precondition handling for one file, modelled line by line on Go's net/http.ServeContent
// (go1.26 fs.go: checkPreconditions, parseRange, serveContent) so a page sees the same answers from the
// service worker as from a Go origin. Only single ranges are served here; several ranges are reported
// as `multi` and the caller lets the network (or a plain 200) answer them.

/** @typedef {{start: number, length: number}} ByteRange */
/**
 * @typedef {object} Plan
 * @property {number} status 200, 206, 304, 412 or 416
 * @property {number} start first byte to send
 * @property {number} length number of bytes to send (0 for 304/412/416)
 * @property {string=} contentRange value of Content-Range, when one is due
 * @property {string=} error plain-text body of an error answer (as Go's http.Error writes it)
 * @property {boolean=} multi several ranges were asked for; the caller decides how to answer
 */

const INT64_MAX = (1n << 63n) - 1n;

/** Go's textproto.TrimString: trims ASCII space, tab, CR and LF. @param {string} s */
function trim(s) {
  return s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

/**
 * Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 bounds. null on error.
 * @param {string} s
 * @returns {bigint|null}
 */
function parseInt64(s) {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const v = BigInt(s);
  if (v > INT64_MAX || v < -INT64_MAX - 1n) return null;
  return v;
}

/**
 * Parses a Range header like Go's parseRange.
 * @param {string} s header value ('' when absent)
 * @param {number} size
 * @returns {{ranges: ByteRange[]} | {error: string, noOverlap?: boolean}}
 */
export function parseRange(s, size) {
  if (s === '') return { ranges: [] };
  const b = 'bytes=';
  if (!s.startsWith(b)) return { error: 'invalid range' };
  const big = BigInt(size);
  /** @type {ByteRange[]} */
  const ranges = [];
  let noOverlap = false;
  for (let ra of s.slice(b.length).split(',')) {
    ra = trim(ra);
    if (ra === '') continue;
    const dash = ra.indexOf('-');
    if (dash < 0) return { error: 'invalid range' };
    const start = trim(ra.slice(0, dash));
    const end = trim(ra.slice(dash + 1));
    let rs, rl;
    if (start === '') {
      if (end === '' || end[0] === '-') return { error: 'invalid range' };
      let i = parseInt64(end);
      if (i === null || i < 0n) return { error: 'invalid range' };
      if (i > big) i = big;
      rs = big - i;
      rl = big - rs;
    } else {
      const i = parseInt64(start);
      if (i === null || i < 0n) return { error: 'invalid range' };
      if (i >= big) {
        noOverlap = true;
        continue;
      }
      rs = i;
      if (end === '') {
        rl = big - rs;
      } else {
        let e = parseInt64(end);
        if (e === null || rs > e) return { error: 'invalid range' };
        if (e >= big) e = big - 1n;
        rl = e - rs + 1n;
      }
    }
    ranges.push({ start: Number(rs), length: Number(rl) });
  }
  if (noOverlap && ranges.length === 0) {
    return { error: 'invalid range: failed to overlap', noOverlap: true };
  }
  return { ranges };
}

/**
 * Splits an entity-tag list the way Go's scanETag does for one element. Returns the tag (with its
 * quotes and any W/ prefix) and the rest, or null when the text is not an entity tag.
 * @param {string} s
 * @returns {{tag: string, rest: string} | null}
 */
function scanETag(s) {
  s = s.replace(/^[ \t\r\n]+/, '');
  let start = 0;
  if (s.startsWith('W/')) start = 2;
  if (s.length - start < 2 || s[start] !== '"') return null;
  for (let i = start + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80) continue;
    if (c === 0x22) return { tag: s.slice(0, i + 1), rest: s.slice(i + 1) };
    return null;
  }
  return null;
}

/** @param {string} a @param {string} b */
const strongMatch = (a, b) => a === b && a !== '' && a[0] === '"';
/** @param {string} a @param {string} b */
const weakMatch = (a, b) => a.replace(/^W\//, '') === b.replace(/^W\//, '');

/**
 * Walks a comma-separated entity-tag list (If-Match / If-None-Match) like Go's checkIf(None)Match.
 * @param {string} header
 * @param {string} etag
 * @param {(a: string, b: string) => boolean} match
 * @returns {boolean} whether any listed tag (or `*`) matches
 */
function listMatches(header, etag, match) {
  let buf = header;
  for (;;) {
    buf = buf.replace(/^[ \t\r\n]+/, '');
    if (buf.length === 0) return false;
    if (buf[0] === ',') {
      buf = buf.slice(1);
      continue;
    }
    if (buf[0] === '*') return true;
    const t = scanETag(buf);
    if (!t) return false;
    if (match(t.tag, etag)) return true;
    buf = t.rest;
  }
}

/**
 * Plans the answer for a GET or HEAD of a file of `size` bytes whose strong ETag is `etag`, given the
 * request's headers. Mirrors ServeContent with a zero modtime (the service worker sends no
 * Last-Modified), so date-valued If-Range never matches and If-(Un)Modified-Since are ignored.
 * @param {{get(name: string): string|null}} headers request headers
 * @param {number} size
 * @param {string} etag quoted strong ETag, e.g. "\"ab12…\""
 * @returns {Plan}
 */
export function planResponse(headers, size, etag) {
  const h = (/** @type {string} */ n) => headers.get(n) ?? '';
  const im = h('if-match');
  if (im !== '' && !listMatches(im, etag, strongMatch)) {
    return { status: 412, start: 0, length: 0 };
  }
  const inm = h('if-none-match');
  if (inm !== '' && listMatches(inm, etag, weakMatch)) {
    return { status: 304, start: 0, length: 0 };
  }
  let rangeHeader = h('range');
  const ir = h('if-range');
  if (rangeHeader !== '' && ir !== '') {
    const t = scanETag(ir);
    if (!t || !strongMatch(t.tag, etag)) rangeHeader = '';
  }
  const parsed = parseRange(rangeHeader, size);
  if ('error' in parsed) {
    if (parsed.noOverlap && size === 0) return { status: 200, start: 0, length: 0 };
    return {
      status: 416, start: 0, length: 0, error: parsed.error + '\n',
      contentRange: parsed.noOverlap ? `bytes */${size}` : undefined,
    };
  }
  let { ranges } = parsed;
  if (ranges.reduce((n, r) => n + r.length, 0) > size) ranges = [];
  if (ranges.length === 1) {
    const r = ranges[0];
    return {
      status: 206, start: r.start, length: r.length,
      contentRange: `bytes ${r.start}-${r.start + r.length - 1}/${size}`,
    };
  }
  if (ranges.length > 1) return { status: 206, start: 0, length: size, multi: true };
  return { status: 200, start: 0, length: size };
}

/** Longest answer to a media element's open-ended range (see boundForMedia). */
export const MEDIA_SLICE = 256 << 10;

/**
 * Bounds the answer to an open-ended range (`bytes=N-`) to the next multiple of `slice` after N (at
 * least half a slice, and never past the file): a 206 whose Content-Range ends before the file does.
 * Media elements (Chromium, Firefox, WebKit) ask for the next range when such an answer ends, so
 * each answer is read to its end instead of being cancelled mid-stream when the element has buffered
 * enough or seeks (Firefox logs every cancelled service-worker stream as an error), and no source is
 * asked for a whole file the element may never play. Any other plan is returned as is.
 * @param {Plan} plan from planResponse
 * @param {string} range the request's Range header ('' when absent)
 * @param {number} size
 * @param {number} [slice] bytes, a power of two
 * @returns {Plan}
 */
export function boundForMedia(plan, range, size, slice = MEDIA_SLICE) {
  if (plan.status !== 206 || plan.multi || !/^bytes=[ \t]*[0-9]+[ \t]*-[ \t]*$/.test(range)) return plan;
  const end = Math.min(size, (Math.floor((plan.start + slice / 2) / slice) + 1) * slice);
  if (end >= plan.start + plan.length) return plan;
  return { ...plan, length: end - plan.start, contentRange: `bytes ${plan.start}-${end - 1}/${size}` };
}
