// lighthouse theme's service worker: precaches every page of the site (from the search index) for
// offline reading, answers from its cache first, keeps only its own cache, and shows push notifications.
const CACHE = 'lighthouse-v1';
const scope = new URL(self.registration.scope).pathname;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const urls = [];
    for (const lang of ['en', 'fr']) {
      const pages = await (await fetch(scope + lang + '/index.json')).json();
      for (const p of pages) urls.push(p.url);
    }
    await cache.addAll(urls);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.pathname === scope + 'theme/hello') {
    event.respondWith(new Response('hello from the lighthouse worker', { headers: { 'content-type': 'text/plain' } }));
    return;
  }
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request)));
});

self.addEventListener('push', (event) => {
  const text = event.data ? event.data.text() : '';
  event.waitUntil((async () => {
    for (const c of await self.clients.matchAll({ includeUncontrolled: true })) c.postMessage({ lighthouse: 'push', text });
    await self.registration.showNotification('Lighthouse', { body: text }).catch(() => {});
  })());
});
