#!/usr/bin/env node
// Drives Debian's WebKitGTK for planktos's e2e tests (e2e/webkit_test.go) over classic WebDriver with npm
// selenium-webdriver and Debian's WebKitWebDriver. Nothing is downloaded: selenium-manager is never asked
// for a driver (the session goes to the WebKitWebDriver started here), and the browser is shell.py, the
// system's WebKitGTK in a minimal window with a persistent profile (see there for why not MiniBrowser).
//
//   node e2e/webkit/driver.mjs --profile DIR [--user-agent UA] [--webdriver /usr/bin/WebKitWebDriver]
//
// WebKitGTK 2.50 has no headless mode (MiniBrowser and GTK 3 need a display; only WPE runs headless),
// so the driver starts an Xvfb of its own (on a free display it picks, -displayfd) for the browser.
//
// Protocol: the one of e2e/firefox/driver.mjs (one JSON object a line), so that the Go side is shared:
//   {"event":"ready","version":"webkitgtk/2.50.6"}   (or {"event":"fatal","error":"..."} and exits 1)
//   {"id":1,"op":"open","url":"http://…","timeout":30000} → {"id":1,"ok":true}  (navigated, load fired)
//   {"id":2,"op":"eval","expr":"…"}                       → {"id":2,"ok":true,"value":<JSON>}
//       the expression is evaluated as a script in the page (indirect eval: its completion value), a
//       promise is awaited, and the value is JSON.stringify'd in the page (undefined → null)
//   {"id":3,"op":"close"}                                  → {"id":3,"ok":true}, then the driver exits 0
//       (the session ends, the shell quits with its last window, storage is written out; the profile stays)
// A failed command answers {"id":N,"error":"…"}. Between answers the driver reports what pages log:
//   {"event":"console","level":"error"|"warn","type":"console"|"javascript"|"network"|…,"text":"…","url":"…"}
// read from WebKit's console lines ("URL:LINE:COL: CONSOLE [SOURCE] LEVEL text"; the console API has no
// SOURCE, uncaught exceptions are JS). End of stdin closes the browser as "close" does.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Builder, Capabilities } from 'selenium-webdriver';
import { describe, send, serveCommands, waitExit } from '../lineproto.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * @typedef {{profile: string, userAgent: string, webdriver: string}} Options
 * @typedef {import('../lineproto.mjs').Command} Command
 * @typedef {import('../lineproto.mjs').Child} Child
 * @typedef {import('selenium-webdriver').WebDriver} WebDriver
 */

/** @param {string[]} argv @returns {Options} */
function parseArgs(argv) {
  /** @type {Options} */
  const o = { profile: '', userAgent: '', webdriver: '/usr/bin/WebKitWebDriver' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--profile') o.profile = path.resolve(v());
    else if (a === '--user-agent') o.userAgent = v();
    else if (a === '--webdriver') o.webdriver = v();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.profile) throw new Error('--profile DIR is required');
  return o;
}

/**
 * Spawns file with args, killed (SIGKILL, through setpriv of util-linux) when this driver dies however
 * it dies: no display, driver or browser outlives its test.
 * @param {string} file @param {string[]} args @param {import('node:child_process').SpawnOptions} opts
 */
function spawnTied(file, args, opts) {
  const setpriv = '/usr/bin/setpriv';
  return fs.existsSync(setpriv) ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', file, ...args], opts) : spawn(file, args, opts);
}

/** @param {Child} proc @param {string} name */
function logOutput(proc, name) {
  for (const s of [proc.stdout, proc.stderr]) {
    if (s) readline.createInterface({ input: s }).on('line', line => process.stderr.write(`${name}: ${line}\n`));
  }
}

/**
 * Starts Xvfb on a display it chooses (written to fd 3 once it listens); local clients only.
 * @returns {Promise<{proc: Child, display: string}>}
 */
function startXvfb() {
  const proc = spawnTied('Xvfb', ['-displayfd', '3', '-nolisten', 'tcp', '-screen', '0', '1280x1024x24'],
    { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  logOutput(proc, 'Xvfb');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('Xvfb did not report its display within 20 s')), 20000);
    let buf = '';
    proc.stdio[3]?.on('data', d => {
      buf += String(d);
      if (buf.includes('\n')) {
        clearTimeout(timer);
        resolve({ proc, display: ':' + buf.trim() });
      }
    });
    proc.on('error', err => { clearTimeout(timer); reject(err); });
    proc.on('exit', code => { clearTimeout(timer); reject(new Error(`Xvfb exited (${code}) before reporting its display`)); });
  });
}

/** @returns {Promise<number>} a TCP port free on 127.0.0.1 just now */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts WebKitWebDriver on a free loopback port with the display, and waits until it answers /status.
 * @param {Options} o @param {string} display
 * @returns {Promise<{proc: Child, url: string}>}
 */
async function startWebDriver(o, display) {
  const port = await freePort();
  const proc = spawnTied(o.webdriver, [`--port=${port}`, '--host=local'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DISPLAY: display } });
  logOutput(proc, 'WebKitWebDriver');
  let exited = false;
  proc.on('exit', () => { exited = true; });
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 20000;
  while (Date.now() < end && !exited) {
    try {
      if ((await fetch(url + '/status')).ok) return { proc, url };
    } catch { /* not listening yet */ }
    await new Promise(r => setTimeout(r, 100));
  }
  throw new Error(`WebKitWebDriver ${exited ? 'exited' : 'did not answer within 20 s'} on port ${port}`);
}

/**
 * Follows the browser's console file and sends its errors and warnings as events. WebKit writes one
 * message a line ("URL:LINE:COL: CONSOLE [SOURCE] LEVEL text", URL part optional); a line without
 * CONSOLE continues the message before it (multi-line text, or the browser's own output).
 * @param {string} file
 * @returns {() => void} reads what is left, then stops
 */
function followConsole(file) {
  let offset = 0;
  let partial = '';
  /** @type {{level: string, type: string, text: string, url: string} | null} */
  let pending = null;
  const flush = () => {
    if (pending) send({ event: 'console', ...pending });
    pending = null;
  };
  /** @param {string} line */
  const onLine = line => {
    const m = /^(?:(.*?): )?CONSOLE (?:([A-Z-]+) )?(LOG|INFO|DEBUG|WARN|ERROR) (.*)$/.exec(line);
    if (!m) {
      if (pending) pending.text += '\n' + line;
      else process.stderr.write(`browser: ${line}\n`);
      return;
    }
    flush();
    const level = m[3].toLowerCase();
    if (level !== 'error' && level !== 'warn') return;
    const source = (m[2] ?? '').toLowerCase();
    const url = m[1] && m[1] !== '[native code]' && !m[1].startsWith('undefined') ? m[1] : '';
    pending = { level, type: source === '' ? 'console' : source === 'js' ? 'javascript' : source, text: m[4], url };
  };
  const read = () => {
    let fd;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, offset)) > 0;) {
        offset += n;
        partial += buf.subarray(0, n).toString();
      }
    } finally {
      fs.closeSync(fd);
    }
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  };
  const timer = setInterval(() => { read(); flush(); }, 100);
  return () => {
    clearInterval(timer);
    read();
    flush();
  };
}

/** @param {Child | undefined} proc */
async function stop(proc) {
  if (!proc) return;
  proc.kill('SIGTERM');
  if (!(await waitExit(proc, 10000))) {
    proc.kill('SIGKILL');
    await waitExit(proc, 5000);
  }
}

/**
 * Evaluates expr in the page as a script, awaits a promise, returns the value as JSON text.
 * @param {WebDriver} d @param {string} expr
 */
async function evaluate(d, expr) {
  /** @type {{json?: string, error?: string}} */
  const r = await d.executeAsyncScript(`const done = arguments[arguments.length - 1];
    Promise.resolve().then(() => (0, eval)(arguments[0])).then(
      v => done({ json: JSON.stringify(v === undefined ? null : v) ?? 'null' }),
      e => done({ error: String(e && e.stack ? e + '\\n' + e.stack : e) }));`, expr);
  if (r.error !== undefined) throw new Error(r.error);
  return JSON.parse(r.json ?? 'null');
}

async function main() {
  /** @type {Options} */
  let o;
  /** @type {Child | undefined} */
  let xvfb;
  /** @type {Child | undefined} */
  let webdriver;
  /** @type {WebDriver} */
  let d;
  /** @type {() => void} */
  let stopConsole = () => {};
  const consoleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'planktos-webkit-'));
  const consoleFile = path.join(consoleDir, 'console.log');
  const cleanup = async () => {
    stopConsole();
    await stop(webdriver);
    await stop(xvfb);
    fs.rmSync(consoleDir, { recursive: true, force: true });
  };
  try {
    o = parseArgs(process.argv.slice(2));
    fs.mkdirSync(o.profile, { recursive: true });
    fs.writeFileSync(consoleFile, '');
    stopConsole = followConsole(consoleFile);
    const x = await startXvfb();
    xvfb = x.proc;
    const w = await startWebDriver(o, x.display);
    webdriver = w.proc;
    const args = ['--automation', '--profile', o.profile, '--console', consoleFile];
    if (o.userAgent) args.push('--user-agent', o.userAgent);
    const caps = new Capabilities({ browserName: 'planktos-webkit',
      'webkitgtk:browserOptions': { binary: path.join(here, 'shell.py'), args } });
    d = await new Builder().usingServer(w.url).withCapabilities(caps).build();
    await d.manage().setTimeouts({ script: 60000, pageLoad: 30000 });
    send({ event: 'ready', version: 'webkitgtk/' + (await d.getCapabilities()).get('browserVersion') });
  } catch (err) {
    send({ event: 'fatal', error: String(err) });
    await cleanup();
    process.exit(1);
  }
  let closing = false;
  for (const [p, name] of /** @type {[Child, string][]} */ ([[xvfb, 'Xvfb'], [webdriver, 'WebKitWebDriver']])) {
    p.on('exit', code => {
      if (!closing) {
        send({ event: 'fatal', error: `${name} exited (${code})` });
        process.exit(1);
      }
    });
  }

  const close = async () => {
    if (closing) return;
    closing = true;
    try {
      await Promise.race([d.quit(), new Promise(r => setTimeout(r, 30000))]);
    } catch (err) {
      process.stderr.write(`driver: quit: ${err}\n`);
    }
    await cleanup();
  };

  /** @param {Command} c @returns {Promise<object>} */
  const run = async c => {
    if (c.tab) throw new Error('the WebKit driver has one tab');
    switch (c.op) {
      case 'open': {
        if (!c.url) throw new Error('open needs url');
        await d.manage().setTimeouts({ pageLoad: c.timeout ?? 30000 });
        try {
          await d.get(c.url);
        } catch (err) {
          // WebKitWebDriver once answered a navigation that loaded with a bare "unknown error" (1 CI
          // run in many, not seen in 18 runs here): the page itself says whether it loaded
          const at = await d.executeScript('return [location.href, document.readyState]').catch(() => null);
          if (!Array.isArray(at) || at[0] !== c.url || at[1] !== 'complete') {
            throw new Error(`${describe(err)} (the page: ${JSON.stringify(at)})`);
          }
          return { warning: `WebKitWebDriver answered ${describe(err)}, but ${c.url} loaded` };
        }
        return {};
      }
      case 'eval':
        if (typeof c.expr !== 'string') throw new Error('eval needs expr');
        return { value: await evaluate(d, c.expr) };
      case 'close':
        await close();
        return {};
      default:
        throw new Error(`unknown op ${c.op}`);
    }
  };

  serveCommands(run, close);
}

main();
