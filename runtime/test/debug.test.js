// The debug log: off by default, and then no argument of a call is even evaluated; on, tagged lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEBUG_KEY, Debug, debugWanted } from '../src/common/debug.js';

test('off by default: a call evaluates nothing', () => {
  const d = new Debug('agent');
  let evaluated = false;
  d.log?.((evaluated = true));
  assert.equal(d.on, false);
  assert.equal(evaluated, false);
});

test('on: lines tagged with who logs them, through console.debug', (t) => {
  const lines = [];
  t.mock.method(console, 'debug', (...a) => lines.push(a));
  const d = new Debug('worker');
  d.set(true);
  d.log?.('GET /x', '→ network');
  d.set(false);
  d.log?.('not logged');
  assert.deepEqual(lines, [['[planktos worker]', 'GET /x', '→ network']]);
});

test('the switch is localStorage planktos:debug = 1, and off where storage is blocked', () => {
  const g = /** @type {any} */ (globalThis);
  const saved = Object.getOwnPropertyDescriptor(g, 'localStorage');
  try {
    const store = new Map([[DEBUG_KEY, '1']]);
    Object.defineProperty(g, 'localStorage', { configurable: true, value: { getItem: (/** @type {string} */ k) => store.get(k) ?? null } });
    assert.equal(DEBUG_KEY, 'planktos:debug');
    assert.equal(debugWanted(), true);
    store.set(DEBUG_KEY, '0');
    assert.equal(debugWanted(), false);
    Object.defineProperty(g, 'localStorage', { configurable: true, get() { throw new Error('SecurityError'); } });
    assert.equal(debugWanted(), false);
  } finally {
    if (saved) Object.defineProperty(g, 'localStorage', saved);
    else delete g.localStorage;
  }
});
