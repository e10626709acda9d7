// Maps a request URL to a manifest key the way a static web server maps it to a file: the site base
// (scope path) is stripped, the path is percent-decoded, `dir/` means `dir/index.html`, a directory
// asked for without its slash is redirected, and the query string plays no part.

/**
 * @typedef {object} Route
 * @property {string=} key the manifest key to answer with
 * @property {string=} redirect an absolute URL to redirect to (a directory without its slash)
 */

/**
 * Whether a path below the base belongs to planktos itself (service worker, install script, page agent,
 * manifest, torrents, the content-addressed store). Those always go to the network untouched.
 * @param {string} rel path relative to the base, still percent-encoded
 */
export function isInternal(rel) {
  return rel === 'planktos.sw.js' || rel === 'planktos' || rel.startsWith('planktos/');
}

/**
 * Percent-decodes a URL path; null when it is malformed.
 * @param {string} p
 */
function decodePath(p) {
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}

/**
 * Returns the path of `url` relative to `base` (still encoded), or null when outside the base.
 * @param {URL} url
 * @param {string} base the site's base path, starting and ending with '/'
 */
export function relativePath(url, base) {
  const p = url.pathname;
  if (p.startsWith(base)) return p.slice(base.length);
  if (p + '/' === base) return '';
  return null;
}

/**
 * Resolves `url` against the manifest's files.
 * @param {URL} url the request URL
 * @param {string} base the site's base path ('/' or '/project/')
 * @param {Record<string, unknown>} files the manifest's files
 * @returns {Route|null} null when the URL is not a packaged file (the network answers)
 */
export function resolve(url, base, files) {
  const rel = relativePath(url, base);
  if (rel === null || isInternal(rel)) return null;
  if (url.pathname + '/' === base) return { redirect: new URL(base + url.search, url).href };
  const dec = decodePath(rel);
  if (dec === null) return null;
  const has = (/** @type {string} */ k) => Object.prototype.hasOwnProperty.call(files, k);
  if (dec === '' || dec.endsWith('/')) {
    const key = dec + 'index.html';
    return has(key) ? { key } : null;
  }
  if (has(dec)) return { key: dec };
  if (has(dec + '/index.html')) {
    const to = new URL(url.href);
    to.pathname += '/';
    to.hash = '';
    return { redirect: to.href };
  }
  return null;
}

export { keyURL } from '../common/names.js';

/**
 * The manifest keys of the 404 pages to try for a missing path: the language's own (`en/404.html`
 * for `/en/…`, as Hugo writes one per language) before the site's `404.html`.
 * @param {string|null} rel path relative to the base
 * @param {Record<string, unknown>} files
 * @returns {string[]}
 */
export function notFoundKeys(rel, files) {
  const out = [];
  const first = rel && decodePath(rel)?.split('/')[0];
  if (first && Object.prototype.hasOwnProperty.call(files, first + '/404.html')) out.push(first + '/404.html');
  if (Object.prototype.hasOwnProperty.call(files, '404.html')) out.push('404.html');
  return out;
}
