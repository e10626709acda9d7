// src/sw/range.js against the answers of Go's http.ServeContent (testdata/range-golden.json, written
// and checked by range_golden_test.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { boundForMedia, MEDIA_SLICE, parseRange, planResponse } from '../src/sw/range.js';

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

test('boundForMedia ends an open-ended range at a slice boundary, and leaves every other plan alone', () => {
  const size = 4508200;
  const S = 256 << 10;
  const plan = (/** @type {string} */ r) => planResponse(headers({ range: r }), size, '"etag"');
  const bounded = (/** @type {string} */ r) => boundForMedia(plan(r), r, size, S);
  assert.deepEqual(bounded('bytes=0-'), { status: 206, start: 0, length: S, contentRange: `bytes 0-${S - 1}/${size}` });
  // a start near a boundary gets at least half a slice
  assert.equal(bounded(`bytes=${S - 10}-`).contentRange, `bytes ${S - 10}-${2 * S - 1}/${size}`);
  assert.equal(bounded(`bytes=${S + 10}-`).contentRange, `bytes ${S + 10}-${2 * S - 1}/${size}`);
  // the last slice ends with the file: the plan as planResponse made it
  assert.deepEqual(bounded('bytes=4489216-'), plan('bytes=4489216-'));
  for (const r of ['bytes=1000-1999', 'bytes=0-4508199', 'bytes=-500', 'bytes=0-,5-9', '']) {
    assert.deepEqual(boundForMedia(plan(r), r, size, S), plan(r), r);
  }
  // If-Range that does not match: a 200 of the whole file, left whole
  const p = planResponse(headers({ range: 'bytes=0-', 'if-range': '"other"' }), size, '"etag"');
  assert.equal(boundForMedia(p, 'bytes=0-', size, S).status, 200);
  assert.equal(MEDIA_SLICE, 256 << 10);
});
