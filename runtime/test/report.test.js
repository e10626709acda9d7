import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reporter, reportURL } from '../src/agent/report.js';

test('reportURL: the HTTP form of a WebSocket tracker, path /planktos/report', () => {
  assert.equal(reportURL('ws://127.0.0.1:8080/announce'), 'http://127.0.0.1:8080/planktos/report');
  assert.equal(reportURL('wss://tracker.example.org/announce'), 'https://tracker.example.org/planktos/report');
  assert.equal(reportURL('wss://t.example.org:8443/x/announce?k=1'), 'https://t.example.org:8443/planktos/report');
  assert.equal(reportURL('udp://tracker.example.org:6969'), null);
  assert.equal(reportURL('not a url'), null);
});

/** A reporter on a fake manifest, agent, worker and storage; `sent` lists [url, body]. */
function fake({ report = true, trackers = ['ws://t1/announce', 'wss://t2/announce', 'ws://t1/other', 'http://t3/announce'] } = {}) {
  /** @type {Map<string, string>} */
  const kept = new Map();
  const storage = /** @type {Storage} */ (/** @type {unknown} */ ({
    getItem: (/** @type {string} */ k) => kept.get(k) ?? null,
    setItem: (/** @type {string} */ k, /** @type {string} */ v) => void kept.set(k, v),
  }));
  const agent = { peers: 0, http: 0, uploaded: 0 };
  const served = { store: { bytes: 0 }, http: { bytes: 0 } };
  /** @type {Array<[string, any]>} */
  const sent = [];
  const m = /** @type {any} */ ({ trackers, runtime: { report } });
  const make = () => new Reporter({
    base: '/s/',
    site: 'https://example.org/s/',
    manifest: () => m,
    agent: () => agent,
    stats: async () => ({ controlled: true, served: structuredClone(served) }),
    send: (url, body) => { sent.push([url, JSON.parse(body)]); return true; },
    storage,
  });
  return { make, agent, served, sent, kept, m };
}

test('Reporter sends the deltas since its last report to each tracker, nothing while no byte moved', async () => {
  const f = fake();
  const r = f.make();
  assert.equal(r.report(), false, 'nothing moved');
  assert.equal(f.sent.length, 0);
  f.agent.peers = 1000;
  f.agent.http = 10;
  f.agent.uploaded = 500;
  f.served.store.bytes = 300;
  f.served.http.bytes = 7;
  await r.refresh();
  assert.equal(r.report(), true);
  const want = { v: 1, site: 'https://example.org/s/', peers: 1000, store: 300, http: 17, uploaded: 500 };
  assert.deepEqual(f.sent, [['http://t1/planktos/report', want], ['https://t2/planktos/report', want]]);
  f.sent.length = 0;
  assert.equal(r.report(), false, 'nothing moved since');
  f.agent.peers = 1500;
  assert.equal(r.report(), true, 'pagehide: the agent counters now, the worker as last read');
  assert.deepEqual(f.sent[0][1], { v: 1, site: 'https://example.org/s/', peers: 500, store: 0, http: 0, uploaded: 0 });
  // the next page's agent carries on from the marks kept
  f.sent.length = 0;
  const next = f.make();
  await next.refresh();
  assert.equal(next.report(), false);
  f.served.store.bytes = 400;
  await next.refresh();
  next.report();
  assert.deepEqual(f.sent[0][1], { v: 1, site: 'https://example.org/s/', peers: 0, store: 100, http: 0, uploaded: 0 });
});

test('Reporter: a counter found lower moves its mark down; an unread worker counts nothing', async () => {
  const f = fake();
  const r = f.make();
  f.served.store.bytes = 1000;
  f.agent.peers = 50;
  assert.equal(r.report(), true, 'the worker not read yet: the agent part only');
  assert.deepEqual(f.sent[0][1], { v: 1, site: 'https://example.org/s/', peers: 50, store: 0, http: 0, uploaded: 0 });
  await r.refresh();
  r.report();
  assert.equal(f.sent.at(-1)?.[1].store, 1000);
  f.served.store.bytes = 900; // a stopped worker lost its last 100 counted bytes (already reported)
  await r.refresh();
  assert.equal(r.report(), false);
  f.served.store.bytes = 950;
  await r.refresh();
  r.report();
  assert.equal(f.sent.at(-1)?.[1].store, 50);
});

test('Reporter: off with report = false, without a WebSocket tracker, or for a visitor who opted out', async () => {
  for (const f of [fake({ report: false }), fake({ trackers: ['http://t/announce'] })]) {
    const r = f.make();
    f.agent.peers = 10;
    await r.refresh();
    assert.equal(r.report(), false);
    assert.equal(f.sent.length, 0);
  }
  const g = /** @type {any} */ (globalThis);
  const saved = g.localStorage;
  try {
    g.localStorage = { getItem: (/** @type {string} */ k) => (k === 'planktos:/s/:opt-out' ? '1' : null) };
    const f = fake();
    const r = f.make();
    f.agent.peers = 10;
    assert.equal(r.report(), false);
    assert.equal(f.sent.length, 0);
  } finally {
    g.localStorage = saved;
  }
});
