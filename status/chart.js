// @ts-check
// The dashboard's live part: reads /planktos/status/events (server-sent events, one Snapshot per
// interval), updates every [data-field] element and redraws the SVG chart of P2P vs HTTP bytes per
// second. No framework; the page reads without it (its figures are rendered by the server).

/** @typedef {{interval_seconds: number, window_seconds: number, end: number, p2p: number[], http: number[]}} Series */
/** @typedef {{end: number, p2p: number, http: number}} Sample */
/** @typedef {{time: number, series?: Series, sample?: Sample, tracker?: {torrents: {infohash: string, complete: number, incomplete: number}[]}, p2p: {source: string, http_source: string}} & Record<string, any>} Snapshot */

const W = 600, H = 200, TOP = 20;
const page = typeof document !== 'undefined'; // not in node, where status_test.go checks human
const root = /** @type {HTMLElement} */ (page ? document.getElementById('planktos-status') : null);
const svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (page ? document.getElementById('chart') : null));

/** @type {Series} */
let series = { interval_seconds: 1, window_seconds: 600, end: 0, p2p: [], http: [] };

/**
 * Formats v for people as the server does (status/page.go human).
 * @param {number} v
 * @param {string|undefined} format "bytes", "percent" or "count"
 */
export function human(v, format) {
  if (format === 'percent') return (v * 100).toFixed(1) + ' %';
  if (format !== 'bytes') return String(v);
  if (v < 1000) return Math.trunc(v) + ' B';
  let div = 1000, exp = 0;
  for (let n = Math.trunc(v / 1000); n >= 1000; n = Math.trunc(n / 1000)) { div *= 1000; exp++; }
  return (v / div).toFixed(1) + ' ' + 'kMGTPE'[exp] + 'B';
}

/**
 * The value at a dotted path of s.
 * @param {any} s
 * @param {string} path
 */
function at(s, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), s);
}

/** @param {Snapshot} s */
function apply(s) {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-field]'))) {
    const v = at(s, /** @type {string} */ (el.dataset.field));
    if (typeof v !== 'number') continue;
    el.dataset.value = String(v);
    el.textContent = human(v, el.dataset.format);
  }
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-source]'))) {
    el.textContent = el.dataset.source === 'p2p' ? s.p2p.source : s.p2p.http_source;
  }
  if (s.tracker) torrents(s.tracker.torrents || []);
  if (s.series) series = s.series;
  else if (s.sample && s.sample.end > series.end) {
    series.p2p.push(s.sample.p2p);
    series.http.push(s.sample.http);
    series.end = s.sample.end;
    const keep = Math.round(series.window_seconds / series.interval_seconds);
    series.p2p.splice(0, Math.max(0, series.p2p.length - keep));
    series.http.splice(0, Math.max(0, series.http.length - keep));
  }
  draw();
  root.dataset.updated = String(s.time);
  root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
}

/** @param {{infohash: string, complete: number, incomplete: number}[]} list */
function torrents(list) {
  const body = document.getElementById('torrents');
  if (!body) return;
  body.replaceChildren(...list.map(t => {
    const tr = document.createElement('tr');
    tr.dataset.infohash = t.infohash;
    tr.dataset.complete = String(t.complete);
    tr.dataset.incomplete = String(t.incomplete);
    for (const [i, v] of [t.infohash, t.complete, t.incomplete].entries()) {
      const td = document.createElement('td');
      if (i === 0) td.append(Object.assign(document.createElement('code'), { textContent: String(v) }));
      else td.textContent = String(v);
      tr.append(td);
    }
    return tr;
  }));
}

/**
 * An SVG path through values (bytes per interval) scaled to max bytes per second, right-aligned.
 * @param {number[]} values
 * @param {number} max
 */
export function path(values, max, slots = values.length, per = 1) {
  const dx = W / Math.max(1, slots - 1);
  const x0 = W - dx * (values.length - 1);
  return values.map((v, i) => {
    const y = H - 1 - (v / per / max) * (H - 1 - TOP);
    return (i ? 'L' : 'M') + (x0 + i * dx).toFixed(1) + ' ' + y.toFixed(1);
  }).join(' ');
}

function draw() {
  const per = series.interval_seconds;
  const slots = Math.round(series.window_seconds / per);
  const max = Math.max(1, ...series.p2p, ...series.http) / per;
  const last = (/** @type {number[]} */ a) => (a.length ? a[a.length - 1] / per : 0);
  /** @type {SVGPathElement} */ (svg.querySelector('#chart-p2p')).setAttribute('d', path(series.p2p, max, slots, per));
  /** @type {SVGPathElement} */ (svg.querySelector('#chart-http')).setAttribute('d', path(series.http, max, slots, per));
  const top = human(max, 'bytes') + '/s';
  /** @type {Element} */ (svg.querySelector('#chart-max')).textContent = top;
  const p2p = human(last(series.p2p), 'bytes') + '/s', http = human(last(series.http), 'bytes') + '/s';
  /** @type {Element} */ (svg.querySelector('#chart-desc')).textContent =
    `Now ${p2p} from peers and ${http} over HTTP; the axis tops at ${top}.`;
  /** @type {Element} */ (document.getElementById('rate-p2p')).textContent = p2p;
  /** @type {Element} */ (document.getElementById('rate-http')).textContent = http;
  svg.dataset.points = String(series.p2p.length);
  svg.dataset.p2p = String(last(series.p2p));
  svg.dataset.http = String(last(series.http));
  svg.dataset.max = String(max);
}

if (page) {
  const token = new URL(import.meta.url).searchParams.get('token');
  const events = new EventSource(new URL('events' + (token ? '?token=' + encodeURIComponent(token) : ''), import.meta.url));
  events.addEventListener('status', e => apply(JSON.parse(/** @type {MessageEvent} */ (e).data)));
}
