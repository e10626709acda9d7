// src/sw/range.js against the answers of Go's http.ServeContent (testdata/range-golden.json, written
// and checked by range_golden_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRange, planResponse } from '../src/sw/range.js';

const golden = JSON.parse(readFileSync(new URL('../testdata/range-golden.json', import.meta.url), 'utf8'));

/** @param {Record<string, string>} h */
const headers = (h) => new Headers(Object.entries(h).filter(([, v]) => v !== ''));

test('planResponse answers like net/http.ServeContent', () => {
  assert.ok(golden.length > 100);
  for (const c of golden) {
    const p = planResponse(headers(c.headers), c.size, '"etag"');
    const what = `${JSON.stringify(c.headers)} size ${c.size}`;
    assert.equal(p.status, c.status, what);
    assert.equal(p.contentRange ?? '', c.contentRange, what);
    let body = '';
    let length = '';
    if (p.multi) body = 'multipart';
    else if (p.status === 416) body = p.error;
    else if (p.status === 200 || p.status === 206) {
      length = String(p.length);
      if (p.length > 0) body = `${p.start}-${p.start + p.length - 1}`;
    }
    assert.equal(body, c.body, what);
    if (!p.multi) assert.equal(length, c.contentLength, what);
  }
});

test('parseRange handles big files beyond 2^32', () => {
  const size = 5 * 2 ** 32;
  assert.deepEqual(parseRange('bytes=4294967296-', size), { ranges: [{ start: 2 ** 32, length: size - 2 ** 32 }] });
  assert.deepEqual(parseRange('bytes=-5', size), { ranges: [{ start: size - 5, length: 5 }] });
});
