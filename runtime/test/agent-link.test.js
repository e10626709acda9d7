// The service worker's side of the agent channel (sw/agent-link.js) against a scripted agent on a real
// MessageChannel: streams, flow control, cancellation, deadlines, and how callers without a port wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentLink } from '../src/sw/agent-link.js';
import { Op, WIN_NEED_AGENT } from '../src/common/protocol.js';

/** Windows the worker can ask for an agent: records what they were sent. */
function windows(/** @type {number} */ n) {
  /** @type {unknown[]} */
  const sent = [];
  let asked = 0;
  /** @type {any} */ (globalThis).self = {
    clients: {
      matchAll: async () => {
        asked++;
        return Array.from({ length: n }, () => ({ postMessage: (/** @type {unknown} */ m) => sent.push(m) }));
      },
    },
  };
  return { sent, asked: () => asked };
}

/**
 * An agent on the other end of a channel: `serve` gets every message and a function to reply.
 * @param {(msg: any, reply: (m: any, transfer?: Transferable[]) => void) => void} serve
 */
function agent(serve) {
  const ch = new MessageChannel();
  /** @type {any[]} */
  const got = [];
  ch.port2.onmessage = (e) => { got.push(e.data); serve(e.data, (m, tr) => ch.port2.postMessage(m, tr || [])); };
  const link = new AgentLink({ firstByte: 300, stall: 300 });
  link.adopt(ch.port1);
  return { link, got, close: () => { ch.port1.close(); ch.port2.close(); } };
}

const bytes = (/** @type {number} */ n, /** @type {number} */ v) => new Uint8Array(n).fill(v).buffer;

async function readAll(/** @type {ReadableStream<Uint8Array>} */ s) {
  const parts = [];
  for (const r = s.getReader(); ;) {
    const { done, value } = await r.read();
    if (done) break;
    parts.push(...value);
  }
  return parts;
}

test('open streams the chunks of a read, and asks for one more per chunk read', async () => {
  const a = agent((m, reply) => {
    if (m.op !== Op.read) return;
    assert.deepEqual({ sha: m.sha, start: m.start, end: m.end }, { sha: 'ab', start: 10, end: 15 });
    reply({ id: m.id, chunk: bytes(3, 1) });
    reply({ id: m.id, chunk: bytes(3, 2) });
    reply({ id: m.id, done: true });
  });
  const s = await a.link.open('ab', 10, 15);
  assert.ok(s);
  assert.deepEqual(await readAll(s), [1, 1, 1, 2, 2, 2]);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(a.got.filter((m) => m.op === Op.more).length, 2);
  a.close();
});

test('open resolves null when the agent answers unavailable, and when no first byte comes in time', async () => {
  const a = agent((m, reply) => { if (m.op === Op.read && m.sha === 'gone') reply({ id: m.id, error: 'unavailable' }); });
  assert.equal(await a.link.open('gone', 0, 9), null);
  const t0 = Date.now();
  assert.equal(await a.link.open('slow', 0, 9), null);
  assert.ok(Date.now() - t0 >= 290, 'waited for the first-byte deadline');
  assert.ok(a.got.some((m) => m.op === Op.cancel), 'the late read was cancelled');
  assert.ok(a.link.port, 'one late first byte does not drop the agent');
  a.close();
});

test('a stream errors when the agent stalls, and cancelling tells the agent', async () => {
  const a = agent((m, reply) => { if (m.op === Op.read) reply({ id: m.id, chunk: bytes(2, 7) }); });
  const s = await a.link.open('x', 0, 9);
  assert.ok(s);
  await assert.rejects(readAll(s), /stalled/);
  const s2 = await a.link.open('y', 0, 9);
  assert.ok(s2);
  await s2.cancel();
  await new Promise((r) => setTimeout(r, 20));
  const reads = a.got.filter((m) => m.op === Op.read);
  assert.ok(a.got.some((m) => m.op === Op.cancel && m.id === reads[1].id));
  a.close();
});

test('concurrent callers without a port share one ask of the windows, and all get the port', async () => {
  const w = windows(2);
  const link = new AgentLink();
  const waits = [link.get(1000), link.get(1000), link.get(1000)];
  await new Promise((r) => setTimeout(r, 30));
  const ch = new MessageChannel();
  link.adopt(ch.port1);
  const ports = await Promise.all(waits);
  assert.deepEqual(ports, [ch.port1, ch.port1, ch.port1]);
  assert.equal(w.asked(), 1);
  assert.deepEqual(w.sent, [{ planktos: WIN_NEED_AGENT }, { planktos: WIN_NEED_AGENT }]);
  ch.port1.close();
});

test('without windows every concurrent caller gets null at once', async () => {
  windows(0);
  const link = new AgentLink();
  const t0 = Date.now();
  assert.deepEqual(await Promise.all([link.get(1000), link.get(1000)]), [null, null]);
  assert.ok(Date.now() - t0 < 500);
});
