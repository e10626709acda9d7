import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve, isInternal, keyURL, notFoundKeys, relativePath } from '../src/sw/routing.js';

const files = {
  'index.html': {}, 'posts/index.html': {}, 'posts/hello/index.html': {}, 'css/site.css': {},
  'media/a clip.webm': {}, 'ünï/café.txt': {}, '404.html': {}, 'fr/404.html': {}, 'fr/index.html': {},
};

test('resolve maps URLs to manifest keys like a static server', () => {
  const table = [
    // [url, base, expected]
    ['http://h/', '/', { key: 'index.html' }],
    ['http://h/index.html', '/', { key: 'index.html' }],
    ['http://h/?q=1', '/', { key: 'index.html' }],
    ['http://h/posts/', '/', { key: 'posts/index.html' }],
    ['http://h/posts/hello/', '/', { key: 'posts/hello/index.html' }],
    ['http://h/posts/hello', '/', { redirect: 'http://h/posts/hello/' }],
    ['http://h/posts/hello?x=1#f', '/', { redirect: 'http://h/posts/hello/?x=1' }],
    ['http://h/css/site.css?v=123', '/', { key: 'css/site.css' }],
    ['http://h/media/a%20clip.webm', '/', { key: 'media/a clip.webm' }],
    ['http://h/%C3%BCn%C3%AF/caf%C3%A9.txt', '/', { key: 'ünï/café.txt' }],
    ['http://h/missing.html', '/', null],
    ['http://h/posts/missing/', '/', null],
    ['http://h/%E0%A4%A', '/', null],
    ['http://h/planktos/manifest.json', '/', null],
    ['http://h/planktos.sw.js', '/', null],
    ['http://h/project/', '/project/', { key: 'index.html' }],
    ['http://h/project/posts/hello/', '/project/', { key: 'posts/hello/index.html' }],
    ['http://h/project', '/project/', { redirect: 'http://h/project/' }],
    ['http://h/project?a=b', '/project/', { redirect: 'http://h/project/?a=b' }],
    ['http://h/other/index.html', '/project/', null],
    ['http://h/projectx/index.html', '/project/', null],
    ['http://h/project/planktos/files/00', '/project/', null],
  ];
  for (const [u, base, want] of table) {
    assert.deepEqual(resolve(new URL(u), base, files), want, u);
  }
});

test('resolve ignores inherited object properties', () => {
  assert.equal(resolve(new URL('http://h/constructor'), '/', files), null);
  assert.equal(resolve(new URL('http://h/__proto__'), '/', files), null);
});

test('internal paths', () => {
  for (const p of ['planktos.sw.js', 'planktos', 'planktos/install.js', 'planktos/files/ab']) assert.ok(isInternal(p), p);
  for (const p of ['', 'planktos.html', 'planktosx/a', 'index.html']) assert.ok(!isInternal(p), p);
  assert.equal(relativePath(new URL('http://h/a/b'), '/a/'), 'b');
  assert.equal(relativePath(new URL('http://h/b'), '/a/'), null);
});

test('keyURL percent-encodes segments', () => {
  assert.equal(keyURL('media/a clip.webm', '/p/'), '/p/media/a%20clip.webm');
  assert.equal(keyURL('ünï/café.txt', '/'), '/%C3%BCn%C3%AF/caf%C3%A9.txt');
  assert.equal(new URL(keyURL('a#b?c.txt', '/'), 'http://h').pathname, '/a%23b%3Fc.txt');
});

test('notFoundKeys prefers the language 404 page', () => {
  assert.deepEqual(notFoundKeys('fr/nope/', files), ['fr/404.html', '404.html']);
  assert.deepEqual(notFoundKeys('nope/', files), ['404.html']);
  assert.deepEqual(notFoundKeys('x', {}), []);
});
