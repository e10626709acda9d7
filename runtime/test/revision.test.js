// agent/revision.js: a revision from peers reloads a page the visitor has not used, once per revision.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reloadOnRevision } from '../src/agent/revision.js';
import { WIN_REVISION } from '../src/common/protocol.js';

/** A page's globals as revision.js uses them; returns how many reloads it asked for, and a user. */
function page(activated = false) {
  const win = new EventTarget();
  /** @type {Map<string, string>} */
  const session = new Map();
  const state = { reloads: 0, fetched: /** @type {string[]} */ ([]) };
  Object.assign(globalThis, {
    addEventListener: win.addEventListener.bind(win),
    removeEventListener: win.removeEventListener.bind(win),
    sessionStorage: { getItem: (/** @type {string} */ k) => session.get(k) ?? null, setItem: (/** @type {string} */ k, /** @type {string} */ v) => session.set(k, v) },
    location: { href: 'https://site.example/page/', reload: () => { state.reloads++; } },
    // the page asks the worker for itself under the new revision before reloading
    fetch: async (/** @type {string} */ url) => { state.fetched.push(url); return new Response('new'); },
  });
  Object.defineProperty(globalThis, 'navigator', { value: { userActivation: { hasBeenActive: activated } }, configurable: true });
  const sw = new EventTarget();
  reloadOnRevision('/', /** @type {any} */ (sw));
  /** @param {any} data */
  const post = (data) => sw.dispatchEvent(Object.assign(new Event('message'), { data }));
  return { state, post, use: (/** @type {string} */ type) => win.dispatchEvent(new Event(type)) };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

test('an untouched page fetches itself, then reloads, once per revision; other messages change nothing', async () => {
  const p = page();
  p.post({ planktos: 'update' });
  p.post({ planktos: WIN_REVISION });
  await settle();
  assert.equal(p.state.reloads, 0);
  p.post({ planktos: WIN_REVISION, revision: 'r2' });
  p.post({ planktos: WIN_REVISION, revision: 'r2' });
  await settle();
  assert.equal(p.state.reloads, 1);
  assert.deepEqual(p.state.fetched, ['https://site.example/page/']);
  p.post({ planktos: WIN_REVISION, revision: 'r3' });
  await settle();
  assert.equal(p.state.reloads, 2);
});

test('a page the visitor used keeps what it shows', async () => {
  for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
    const p = page();
    p.use(type);
    p.post({ planktos: WIN_REVISION, revision: 'r2' });
    await settle();
    assert.equal(p.state.reloads, 0, type);
  }
  const early = page(true); // activated before the agent's script ran
  early.post({ planktos: WIN_REVISION, revision: 'r2' });
  await settle();
  assert.equal(early.state.reloads, 0);
});
