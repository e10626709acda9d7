// The site's own service worker inside planktos's: which of its listeners run, and how a request planktos
// does not answer reaches its fetch handlers. The scope here is a plain object with an importScripts that
// evaluates the site's code; Chromium runs the real thing in e2e/siteworker_test.go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importSite, passThrough, siteFetch } from '../src/sw/site-worker.js';

/** A worker scope whose importScripts runs the given code (by URL) with `self` bound to the scope. */
function scope(/** @type {Record<string, string>} */ scripts) {
  /** @type {Array<[string, any]>} */
  const added = [];
  const g = {
    addEventListener(/** @type {string} */ type, /** @type {any} */ fn) { added.push([type, fn]); },
    importScripts(/** @type {string[]} */ ...urls) {
      for (const u of urls) {
        if (!(u in scripts)) throw new Error(`NetworkError: ${u}`);
        new Function('self', scripts[u])(g);
      }
    },
  };
  return { g, added };
}

const themeWorker = `
self.addEventListener('install', () => { throw new Error('must not run'); });
self.addEventListener('activate', () => { throw new Error('must not run'); });
self.addEventListener('push', function push() {});
self.addEventListener('fetch', (e) => { if (e.request.url.endsWith('/hello')) e.respondWith(new Response('hi')); });
self.onfetch = (e) => { if (e.request.url.endsWith('/late')) e.waitUntil(Promise.resolve('kept')); };
self.oninstall = () => {};`;

test('imports the site worker: fetch held, install and activate dropped, others added', () => {
  const { g, added } = scope({ '/sw.js': themeWorker });
  const add = g.addEventListener;
  const site = importSite(g, { workers: ['/sw.js'] });
  assert.deepEqual(site.imported, ['/sw.js']);
  assert.equal(site.error, undefined);
  assert.equal(site.fetch.length, 2);
  assert.equal(site.skipped, 3);
  assert.deepEqual(added.map(([t]) => t), ['push']);
  assert.equal(g.addEventListener, add, 'addEventListener is restored');
  assert.equal(Object.getOwnPropertyDescriptor(g, 'onfetch'), undefined, 'onfetch is restored');
});

test('nothing to import: nothing changes', () => {
  const { g, added } = scope({});
  const site = importSite(g, undefined);
  assert.deepEqual(site, { imported: [], fetch: [], skipped: 0 });
  assert.equal(added.length, 0);
});

test('a worker that fails to import is reported, and the scope restored', () => {
  const { g } = scope({ '/sw.js': 'self.addEventListener("fetch", () => {}); throw new Error("boom")' });
  const add = g.addEventListener;
  const site = importSite(g, { workers: ['/sw.js'] });
  assert.match(String(site.error), /boom/);
  assert.deepEqual(site.imported, []);
  assert.equal(g.addEventListener, add);
});

test('siteFetch: the response a handler gave, null when none did; waitUntil keeps the worker alive', async () => {
  const { g } = scope({ '/sw.js': themeWorker });
  const site = importSite(g, { workers: ['/sw.js'] });
  const ev = (/** @type {string} */ url) => /** @type {any} */ ({ request: new Request(url), clientId: 'c1' });
  const res = await siteFetch(site, ev('https://example.org/hello'), () => assert.fail('no waitUntil'));
  assert.equal(await res?.text(), 'hi');
  /** @type {Array<Promise<unknown>>} */
  const kept = [];
  assert.equal(await siteFetch(site, ev('https://example.org/late'), (p) => kept.push(p)), null);
  assert.equal(await kept[0], 'kept');
});

test('siteFetch: a second respondWith throws in that handler only, the first answer stands', async () => {
  const { g } = scope({
    '/sw.js': `self.addEventListener('fetch', (e) => e.respondWith(new Response('one')));
self.addEventListener('fetch', (e) => e.respondWith(new Response('two')));`,
  });
  const site = importSite(g, { workers: ['/sw.js'] });
  /** @type {unknown[]} */
  const thrown = [];
  const orig = globalThis.setTimeout;
  // @ts-ignore: catch what reportLater rethrows
  globalThis.setTimeout = (fn) => { try { fn(); } catch (err) { thrown.push(err); } };
  try {
    const res = await siteFetch(site, /** @type {any} */ ({ request: new Request('https://example.org/') }), () => {});
    assert.equal(await res?.text(), 'one');
  } finally {
    globalThis.setTimeout = orig;
  }
  assert.equal(thrown.length, 1);
  assert.equal(/** @type {DOMException} */ (thrown[0]).name, 'InvalidStateError');
});

test('passThrough hands the real event to every handler', () => {
  const { g } = scope({ '/sw.js': `self.addEventListener('fetch', (e) => e.respondWith('answer'));` });
  const site = importSite(g, { workers: ['/sw.js'] });
  /** @type {unknown[]} */
  const answers = [];
  passThrough(site, /** @type {any} */ ({ request: new Request('https://cdn.example.org/x'), respondWith: (/** @type {unknown} */ r) => answers.push(r) }));
  assert.deepEqual(answers, ['answer']);
});
