// Builds the service worker's answer for one manifest file: preconditions and Range as Go's
// http.ServeContent, headers from the manifest (Content-Type, Content-Length, ETag = the hash,
// Accept-Ranges), and a streamed body from the first verified source. A media element's open-ended
// range is answered in bounded slices (boundForMedia).
import { boundForMedia, MEDIA_SLICE, planResponse } from './range.js';

/** @typedef {import('./manifest.js').Manifest} Manifest */
/** @typedef {import('./fetcher.js').Fetcher} Fetcher */
/** @typedef {import('./stats.js').Stats} Stats */

/**
 * @param {Request} req
 * @param {Manifest} m
 * @param {string} key
 * @param {{fetcher: Fetcher, stats: Stats, status?: number, stored?: boolean}} ctx `status` forces a
 *   plain full answer with that status (the 404 page); `stored`: only from this browser's store
 *   (a fallback revision's copy)
 * @returns {Promise<Response|null>} null when no verified source answered (the network should)
 */
export async function serveFile(req, m, key, { fetcher, stats, status, stored }) {
  const file = m.files[key];
  const etag = `"${file.sha256}"`;
  let plan = status ? { status, start: 0, length: file.size } : planResponse(req.headers, file.size, etag);
  if (req.destination === 'video' || req.destination === 'audio') {
    const pl = m.torrents[file.torrent]?.pieceLength ?? 0;
    plan = boundForMedia(plan, req.headers.get('range') ?? '', file.size, Math.max(MEDIA_SLICE, pl));
  }
  if (plan.status === 412 || plan.status === 304) {
    return new Response(null, { status: plan.status, headers: { etag } });
  }
  if (plan.status === 416) {
    /** @type {Record<string, string>} */
    const h = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };
    if (plan.contentRange) h['content-range'] = plan.contentRange;
    return new Response(plan.error, { status: 416, headers: h });
  }
  if ('multi' in plan && plan.multi) {
    try {
      return await fetch(req);
    } catch {
      plan = { status: 200, start: 0, length: file.size };
    }
  }
  const headers = new Headers({
    'content-type': file.type,
    'content-length': String(plan.length),
    'accept-ranges': 'bytes',
    etag,
  });
  if (plan.status === 206 && 'contentRange' in plan && plan.contentRange) headers.set('content-range', plan.contentRange);
  if (req.method === 'HEAD') return new Response(null, { status: plan.status, headers });
  const opened = stored
    ? await fetcher.stored(m, key, plan.start, plan.length)
    : await fetcher.open(m, key, plan.start, plan.length, req.mode === 'navigate');
  if (!opened) return null;
  headers.set('x-planktos-source', opened.source);
  stats.add(opened.source, plan.length);
  return new Response(opened.body, { status: plan.status, headers });
}
