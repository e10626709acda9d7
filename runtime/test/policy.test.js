import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optedOut, p2pMode } from '../src/agent/policy.js';

test('p2pMode: the site setting, narrowed by the visitor and the connection', () => {
  const cases = [
    // site, opted out, connection, want
    ['on', false, undefined, 'on'],
    ['on', false, { saveData: false, type: 'wifi' }, 'on'],
    ['on', false, { saveData: true }, 'download-only'],
    ['on', false, { type: 'cellular' }, 'download-only'],
    ['on', true, undefined, 'off'],
    ['download-only', false, { type: 'ethernet' }, 'download-only'],
    ['download-only', true, undefined, 'off'],
    ['off', false, undefined, 'off'],
    ['off', false, { saveData: true }, 'off'],
  ];
  for (const [site, out, conn, want] of cases) {
    assert.equal(p2pMode(/** @type {any} */ (site), /** @type {boolean} */ (out), /** @type {any} */ (conn)), want, `${site} ${out} ${JSON.stringify(conn)}`);
  }
});

test('optedOut reads the per-site key, and is false where storage is unavailable', () => {
  const g = /** @type {any} */ (globalThis);
  const saved = g.localStorage;
  try {
    /** @type {Map<string, string>} */
    const m = new Map();
    g.localStorage = { getItem: (/** @type {string} */ k) => m.get(k) ?? null };
    assert.equal(optedOut('/a/'), false);
    m.set('planktos:/a/:opt-out', '1');
    assert.equal(optedOut('/a/'), true);
    assert.equal(optedOut('/b/'), false);
    g.localStorage = { getItem: () => { throw new Error('blocked'); } };
    assert.equal(optedOut('/a/'), false);
  } finally {
    g.localStorage = saved;
  }
});
