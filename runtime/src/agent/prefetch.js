// What to fetch in the background, per the site's policy: `all` keeps the whole site (pages first,
// then small files before big ones, up to `prefetchLimit` bytes in the store); `visited` and `none`
// fetch nothing ahead (with `visited` the service worker keeps what the visitor loads; with `none` it
// keeps nothing). Nothing at all when the visitor asked to save data.

/** @typedef {import('../common/manifest.js').Manifest} Manifest */
/** @typedef {{key: string, sha: string, size: number, torrent: number}} Item */

/**
 * @param {Manifest} m
 * @param {Set<string>} stored hashes already in the store
 * @param {boolean} saveData
 * @returns {Item[]}
 */
export function prefetchPlan(m, stored, saveData) {
  if (saveData || m.runtime.prefetch !== 'all') return [];
  /** @type {Map<string, Item>} */
  const bySha = new Map();
  for (const [key, f] of Object.entries(m.files)) {
    if (!bySha.has(f.sha256)) bySha.set(f.sha256, { key, sha: f.sha256, size: f.size, torrent: f.torrent });
  }
  const isPage = (/** @type {Item} */ i) => (/\.html?$/.test(i.key) ? 0 : 1);
  const items = [...bySha.values()].sort((a, b) => isPage(a) - isPage(b) || a.size - b.size || (a.key < b.key ? -1 : 1));
  const limit = m.runtime.prefetchLimit || Infinity;
  let used = 0;
  for (const i of items) if (stored.has(i.sha)) used += i.size;
  const out = [];
  for (const i of items) {
    if (stored.has(i.sha) || i.size === 0) continue;
    if (used + i.size > limit) continue;
    used += i.size;
    out.push(i);
  }
  return out;
}

/**
 * Runs `job` over `items` with at most `n` at a time.
 * @template T
 * @param {T[]} items
 * @param {number} n
 * @param {(item: T) => Promise<unknown>} job
 */
export async function pool(items, n, job) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await job(item).catch(() => {});
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
