// Windows this worker took over with clients.claim() started without a service worker, so their media
// elements began reading their files from the network. Chromium fails a media resource whose ranges
// come partly from the network and partly from a service worker (PIPELINE_ERROR_READ: "data source
// error"), so the media requests of those windows keep going to the network. Pages loaded later —
// every page after the first visit's — are planktos's from their first byte.

/** @type {Set<string>} ids of windows claimed while uncontrolled */
const claimed = new Set();

/**
 * Notes the windows no worker of this registration controls yet. Call it just before clients.claim().
 * @param {Clients} clients
 */
export async function noteUncontrolled(clients) {
  const ours = new Set((await clients.matchAll({ type: 'window' })).map((c) => c.id));
  for (const c of await clients.matchAll({ type: 'window', includeUncontrolled: true })) {
    if (!ours.has(c.id)) claimed.add(c.id);
  }
}

/** Whether a request is a media element's in a window claimed while uncontrolled. @param {FetchEvent} e */
export function mediaOfClaimed(e) {
  const d = e.request.destination;
  return (d === 'video' || d === 'audio') && claimed.has(e.clientId);
}
