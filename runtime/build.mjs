// Builds runtime/dist from runtime/src with esbuild: `npm run build` (or `node build.mjs OUTDIR`).
// The output depends only on the sources, the lockfile's packages and this script, so it is
// reproducible; check-dist.sh rebuilds into a temporary directory and compares.
import * as esbuild from 'esbuild';
import { readFileSync, readdirSync, statSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';

const out = process.argv[2] || 'dist';
const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/**
 * The build's identity: a hash of the sources, the lockfile and this script. It is in every output
 * file, so any runtime change changes every file — the service worker notices a new install.js and
 * asks the browser to update itself (see src/sw/index.js).
 */
function buildId() {
  const h = createHash('sha256');
  const files = ['build.mjs', 'package-lock.json'];
  const walk = (/** @type {string} */ d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(`${d}/${e.name}`);
      else files.push(`${d}/${e.name}`);
    }
  };
  walk('src');
  for (const f of files) h.update(f).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}
const build = buildId();

/** Entry point → output file, and the most bytes it may take. */
const entries = [
  { in: 'src/install.js', out: 'install.js', max: 2048 },
  { in: 'src/sw/index.js', out: 'planktos.sw.js' },
  { in: 'src/agent/index.js', out: 'peer.js', legal: 'eof' },
  { in: 'src/badge/index.js', out: 'badge.js', max: 4096 },
  { in: 'src/kill/install.js', out: 'kill.install.js', max: 2048 },
  { in: 'src/kill/sw.js', out: 'kill.sw.js' },
];

mkdirSync(out, { recursive: true });
for (const e of entries) {
  await esbuild.build({
    entryPoints: [e.in],
    outfile: `${out}/${e.out}`,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    platform: 'browser',
    charset: 'utf8',
    legalComments: e.legal || 'none',
    banner: { js: `/* planktos runtime ${version} build ${build} */` },
    define: { 'process.env.NODE_ENV': '"production"', __PLANKTOS_BUILD__: JSON.stringify(build) },
    logLevel: 'warning',
  });
  const size = statSync(`${out}/${e.out}`).size;
  if (e.max && size > e.max) {
    console.error(`${e.out}: ${size} bytes, more than ${e.max}`);
    process.exit(1);
  }
  console.log(`${e.out.padEnd(16)} ${size} bytes`);
}
