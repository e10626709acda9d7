import { test } from 'node:test';
import assert from 'node:assert/strict';
import { human, optLabel } from '../src/badge/view.js';
import { agentCounts, figures, workerCounts } from '../src/common/figures.js';

test('human: byte counts in SI units', () => {
  const cases = /** @type {Array<[number, string]>} */ ([
    [0, '0 B'], [950, '950 B'], [999, '999 B'], [1000, '1.0 kB'], [1234, '1.2 kB'], [34_000_000, '34 MB'], [9_960_000, '10 MB'], [2e12, '2.0 TB'], [5e15, '5000 TB'],
  ]);
  for (const [b, want] of cases) assert.equal(human(b), want, String(b));
});

test('figures: peers, store, HTTP (worker and agent) and uploaded from a stats() answer', () => {
  const s = {
    controlled: true,
    served: { store: { bytes: 300, requests: 3 }, peers: { bytes: 900, requests: 2 }, http: { bytes: 7, requests: 1 }, network: { bytes: 99, requests: 4 } },
    agent: { downloaded: { peers: 1000, http: 10 }, uploaded: 500 },
  };
  assert.deepEqual(figures(workerCounts(s), agentCounts(s)), { peers: 1000, store: 300, http: 17, uploaded: 500 });
  assert.deepEqual(figures(workerCounts({ controlled: false }), agentCounts({ controlled: false })), { peers: 0, store: 0, http: 0, uploaded: 0 });
  assert.equal(agentCounts({ served: {}, agent: null }), null);
  assert.deepEqual(agentCounts({ agent: { downloaded: { peers: -1, http: 1.5 }, uploaded: 'x' } }), { peers: 0, http: 0, uploaded: 0 });
});

test('optLabel says what the button will do', () => {
  assert.equal(optLabel(false), 'Stop sharing with peers');
  assert.equal(optLabel(true), 'Use peers again');
});
