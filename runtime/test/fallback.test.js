// A fallback revision's file (src/sw/serve.js with `stored`, Fetcher.stored): answered from this
// browser's store alone — never the agent, never HTTP — with the range and headers of any answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fetcher } from '../src/sw/fetcher.js';
import { Stats } from '../src/sw/stats.js';
import { serveFile } from '../src/sw/serve.js';
import { parseManifest } from '../src/common/manifest.js';

/** @type {any} */ (globalThis).self = { location: { href: 'https://example.org/' } };
/** @type {any} */ (globalThis).caches = { open: async () => ({ match: async () => undefined, put: async () => {} }) };

test('a stored-only answer: the store\'s bytes, or null without asking peers or HTTP', async () => {
  const m = parseManifest({
    version: 1, revision: 'r1', torrents: [{ infohash: 'a'.repeat(40), url: 'x.torrent' }],
    files: {
      'kept.html': { sha256: '1'.repeat(64), size: 5, type: 'text/html', torrent: 0 },
      'gone.html': { sha256: '2'.repeat(64), size: 5, type: 'text/html', torrent: 0 },
    },
  });
  const store = /** @type {any} */ ({ get: async (/** @type {string} */ sha) => (sha === '1'.repeat(64) ? new Blob(['hello']) : null) });
  const agent = /** @type {any} */ ({ open: () => assert.fail('the agent was asked'), patience: () => 2500, notify: () => {} });
  /** @type {any} */ (globalThis).fetch = () => assert.fail('HTTP was asked');
  const fetcher = new Fetcher({ base: '/', store, agent });
  const stats = new Stats('/');
  const req = new Request('https://example.org/kept.html', { headers: { range: 'bytes=1-3' } });
  const res = await serveFile(req, m, 'kept.html', { fetcher, stats, stored: true });
  assert.equal(res?.status, 206);
  assert.equal(await res?.text(), 'ell');
  assert.equal(res?.headers.get('x-planktos-source'), 'store');
  assert.equal(await serveFile(new Request('https://example.org/gone.html'), m, 'gone.html', { fetcher, stats, stored: true }), null);
  stats.stop();
});
