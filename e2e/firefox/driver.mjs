#!/usr/bin/env node
// Drives Debian's Firefox ESR for planktos's e2e tests (e2e/firefox_test.go), over WebDriver BiDi with
// puppeteer-core. Nothing is downloaded: the browser is the system's, launched here as a visitor's is,
// with a profile the caller names (a returning visitor reuses it).
//
//   node e2e/firefox/driver.mjs --profile DIR [--firefox /usr/bin/firefox-esr] [--user-agent UA]
//                               [--ca CA.pem]... [--pref NAME=JSON]... [--accept-insecure-certs]
//
// Protocol: one JSON object a line. Once the browser is up the driver writes
//   {"event":"ready","version":"firefox/153.8.0"}     (or {"event":"fatal","error":"..."} and exits 1)
// then reads commands on stdin, each with an id the answer repeats, run one at a time in order:
//   {"id":1,"op":"open","url":"http://…","timeout":30000} → {"id":1,"ok":true}  (navigated, load fired)
//   {"id":2,"op":"eval","expr":"…"}                       → {"id":2,"ok":true,"value":<JSON>}
//       the expression is evaluated as a script in the page, a promise is awaited, and the value is
//       JSON.stringify'd in the page (undefined → null). Like a click, it gives the page a user
//       activation (puppeteer's BiDi evaluate sends userActivation: true): a page polled this way counts
//       as used. With "activate":false an expression (not statements) is evaluated without one.
//   {"id":4,"op":"tab"}                                    → {"id":4,"ok":true,"tab":1}
//       opens another tab; "tab":N in open and eval picks the tab (0, the first, when left out)
//   {"id":3,"op":"close"}                                  → {"id":3,"ok":true}, then the driver exits 0
//       (the browser quits gracefully, so storage is written out; the profile stays)
// A failed command answers {"id":N,"error":"…"}. Between answers the driver reports what pages log:
//   {"event":"console","level":"error"|"warn","type":"console"|"javascript","text":"…","url":"…"}
// ("javascript" entries are uncaught exceptions and the browser's own script errors about the page, such
// as a service worker's failed interception). End of stdin closes the browser as "close" does.
//
// Preferences: the profile's user.js is rewritten at every launch with only what automation needs (see
// automationPrefs); nothing there changes what a page, its service worker or WebRTC may do, so the browser
// behaves as a visitor's stock Firefox ESR. --pref adds one for a test that needs it (and must say why).

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import puppeteer from 'puppeteer-core';
import { send, serveCommands, waitExit } from '../lineproto.mjs';

/**
 * @typedef {{profile: string, firefox: string, userAgent: string, cas: string[], prefs: Record<string, unknown>, acceptInsecureCerts: boolean}} Options
 * @typedef {{id?: number, op: string, tab?: number, url?: string, expr?: string, timeout?: number, activate?: boolean}} Command
 * @typedef {import('puppeteer-core').Browser} Browser
 * @typedef {import('puppeteer-core').Page} Page
 */

/**
 * Preferences for automation only, each with why. Written to user.js, so they win over prefs.js.
 * @type {Record<string, unknown>}
 */
const automationPrefs = {
  // The first tab must be the one we drive: no first-run, welcome or what's-new pages.
  'browser.startup.page': 0,
  'browser.startup.homepage': 'about:blank',
  'browser.startup.homepage_override.mstone': 'ignore',
  'startup.homepage_welcome_url': 'about:blank',
  'startup.homepage_welcome_url.additional': '',
  'browser.aboutwelcome.enabled': false,
  // No dialog a headless browser cannot answer: default-browser prompt, quit warnings, and after a
  // killed run no session restore or safe-mode prompt on the next launch of the same profile.
  'browser.shell.checkDefaultBrowser': false,
  'browser.warnOnQuit': false,
  'browser.tabs.warnOnClose': false,
  'browser.sessionstore.resume_from_crash': false,
  'toolkit.startup.max_resumed_crashes': -1,
  // No traffic to Mozilla's services (updates, studies, telemetry upload, safe-browsing lists, remote
  // settings, add-on and plugin updates, captive-portal and connectivity probes): test traffic stays on
  // the machine (inside a network namespace these would only fail), as Chromium's
  // --disable-background-networking does in e2e/browser_test.go.
  'app.update.disabledForTesting': true,
  'app.normandy.enabled': false,
  'app.normandy.api_url': '',
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.safebrowsing.downloads.enabled': false,
  'browser.safebrowsing.blockedURIs.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'services.settings.server': 'data:,',
  'extensions.update.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'media.gmp-manager.updateEnabled': false,
  'browser.search.update': false,
  'browser.region.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.newtabpage.activity-stream.feeds.system.topstories': false,
  'browser.newtabpage.activity-stream.feeds.section.topstories': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'app.shield.optoutstudies.enabled': false,
};

/** @param {string[]} argv @returns {Options} */
function parseArgs(argv) {
  /** @type {Options} */
  const o = { profile: '', firefox: '/usr/bin/firefox-esr', userAgent: '', cas: [], prefs: {}, acceptInsecureCerts: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--profile') o.profile = path.resolve(v());
    else if (a === '--firefox') o.firefox = v();
    else if (a === '--user-agent') o.userAgent = v();
    else if (a === '--ca') o.cas.push(path.resolve(v()));
    else if (a === '--accept-insecure-certs') o.acceptInsecureCerts = true;
    else if (a === '--pref') {
      const s = v();
      const eq = s.indexOf('=');
      if (eq < 1) throw new Error(`--pref ${s}: want NAME=JSON`);
      o.prefs[s.slice(0, eq)] = JSON.parse(s.slice(eq + 1));
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!o.profile) throw new Error('--profile DIR is required');
  return o;
}

/**
 * Writes user.js: the automation prefs, the User-Agent, then the caller's own.
 * The User-Agent goes in as a pref rather than through page.setUserAgent (which does work over BiDi):
 * the pref also covers the service worker's and workers' requests, which are most of a planktos page's
 * traffic, so the origin can tell the browsers apart by it (uaTag in e2e/twobrowser_helpers_test.go).
 * @param {Options} o
 */
function writePrefs(o) {
  /** @type {Record<string, unknown>} */
  const prefs = { ...automationPrefs };
  if (o.userAgent) prefs['general.useragent.override'] = o.userAgent;
  Object.assign(prefs, o.prefs);
  const lines = ['// Written by e2e/firefox/driver.mjs at every launch; see automationPrefs there for why.'];
  for (const [k, v] of Object.entries(prefs)) lines.push(`user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`);
  fs.writeFileSync(path.join(o.profile, 'user.js'), lines.join('\n') + '\n');
}

/**
 * Makes the profile's NSS database trust each CA certificate (PEM) for TLS servers, as a visitor's
 * Firefox trusts its built-in roots: pages on a test HTTPS origin are then ordinary secure pages (no
 * certificate exception, which service workers would not accept).
 * @param {Options} o
 */
function trustCAs(o) {
  if (o.cas.length === 0) return;
  const db = `sql:${o.profile}`;
  if (!fs.existsSync(path.join(o.profile, 'cert9.db'))) {
    execFileSync('certutil', ['-N', '--empty-password', '-d', db], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  o.cas.forEach((pem, i) => {
    execFileSync('certutil', ['-A', '-d', db, '-t', 'C,,', '-n', `planktos-test-${i}`, '-i', pem], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  });
}

/**
 * Starts Firefox on the profile with the WebDriver BiDi endpoint on a free port, and waits for it.
 * Launched here rather than by puppeteer.launch, which writes about 80 prefs of its own into user.js
 * (and forces fission.webContentIsolationStrategy = 0, one content process for every site).
 * @param {Options} o
 * @returns {Promise<{proc: import('node:child_process').ChildProcess, ws: string}>}
 */
function startFirefox(o) {
  const args = ['--headless', '--no-remote', '--profile', o.profile, '--remote-debugging-port=0', 'about:blank'];
  // Through setpriv (util-linux) Firefox gets SIGKILL when this driver dies, however it dies (a test
  // binary that was killed, a namespace torn down): no browser outlives its test.
  const setpriv = '/usr/bin/setpriv';
  const [file, argv] = fs.existsSync(setpriv) ? [setpriv, ['--pdeathsig', 'KILL', '--', o.firefox, ...args]] : [o.firefox, args];
  const proc = spawn(file, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // no crash reporter dialog or upload after a killed run
    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' },
  });
  return new Promise((resolve, reject) => {
    let found = false;
    const timer = setTimeout(() => reject(new Error('firefox did not open its WebDriver BiDi endpoint within 60 s')), 60000);
    const onLine = (/** @type {string} */ line) => {
      const m = /^WebDriver BiDi listening on (ws:\/\/\S+)/.exec(line);
      if (m && !found) {
        found = true;
        clearTimeout(timer);
        resolve({ proc, ws: m[1] });
      }
      process.stderr.write(`firefox: ${line}\n`);
    };
    for (const s of [proc.stdout, proc.stderr]) {
      if (s) readline.createInterface({ input: s }).on('line', onLine);
    }
    proc.on('error', err => { clearTimeout(timer); reject(err); });
    proc.on('exit', code => {
      if (!found) { clearTimeout(timer); reject(new Error(`firefox exited (${code}) before its WebDriver BiDi endpoint opened`)); }
    });
  });
}

/**
 * Forwards the errors and warnings pages log (console API and script errors) as events. Read from the
 * BiDi session's log.entryAdded itself: puppeteer's 'pageerror' drops the level of script errors.
 * @param {Browser} browser @param {Page} page
 */
function forwardLogs(browser, page) {
  /** @type {any} */
  const conn = /** @type {any} */ (browser).connection;
  /** @param {any} e */
  const onEntry = e => {
    if (e.level !== 'error' && e.level !== 'warn') return;
    let text = e.text ?? '';
    if (e.type === 'console' && Array.isArray(e.args) && !text) text = e.args.map((/** @type {any} */ a) => String(a.value ?? a.type)).join(' ');
    const top = e.stackTrace?.callFrames?.[0];
    send({ event: 'console', level: e.level, type: e.type, text, url: top ? `${top.url}:${top.lineNumber + 1}` : '' });
  };
  if (conn && typeof conn.on === 'function') {
    conn.on('log.entryAdded', onEntry);
    return;
  }
  // fallback, should puppeteer's internals move: its own events (script errors then count as errors)
  page.on('console', m => {
    const t = m.type();
    if (t === 'error' || t === 'warn') send({ event: 'console', level: t, type: 'console', text: m.text(), url: m.location()?.url ?? '' });
  });
  page.on('pageerror', err => send({ event: 'console', level: 'error', type: 'javascript', text: String(err && /** @type {any} */ (err).message || err), url: '' }));
}

/**
 * Evaluates an expression in the page without a user activation, a promise awaited, and returns its
 * value through JSON. Through puppeteer's BiDi realm: page.evaluate offers no way to leave the
 * activation out.
 * @param {Page} page @param {string} expr @returns {Promise<unknown>}
 */
async function evalUntouched(page, expr) {
  const realm = /** @type {any} */ (page.mainFrame()).mainRealm().realm;
  const wrapped = `Promise.resolve((${expr}\n)).then(v => JSON.stringify(v === undefined ? null : v))`;
  const r = await realm.evaluate(wrapped, true, { userActivation: false, resultOwnership: 'none' });
  if (r.type === 'exception') throw new Error(r.exceptionDetails?.text ?? 'exception');
  return JSON.parse(r.result?.value ?? 'null');
}

async function main() {
  /** @type {Options} */
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
    fs.mkdirSync(o.profile, { recursive: true });
    writePrefs(o);
    trustCAs(o);
  } catch (err) {
    send({ event: 'fatal', error: String(/** @type {any} */ (err)?.stderr ?? '') + String(err) });
    process.exit(1);
  }
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let proc;
  /** @type {Browser} */
  let browser;
  /** @type {Page} */
  let page;
  /** @type {Map<number, Page>} */
  const tabs = new Map();
  let nextTab = 1;
  try {
    const started = await startFirefox(o);
    proc = started.proc;
    browser = await puppeteer.connect({ browserWSEndpoint: started.ws + '/session', protocol: 'webDriverBiDi', defaultViewport: null,
      acceptInsecureCerts: o.acceptInsecureCerts });
    page = (await browser.pages())[0] ?? (await browser.newPage());
    tabs.set(0, page);
    forwardLogs(browser, page);
    send({ event: 'ready', version: await browser.version() });
  } catch (err) {
    send({ event: 'fatal', error: String(err) });
    proc?.kill('SIGKILL');
    process.exit(1);
  }
  let closing = false;
  proc.on('exit', code => {
    if (!closing) {
      send({ event: 'fatal', error: `firefox exited (${code})` });
      process.exit(1);
    }
  });

  const close = async () => {
    if (closing) return;
    closing = true;
    try {
      await Promise.race([browser.close(), new Promise(r => setTimeout(r, 30000))]);
    } catch (err) {
      process.stderr.write(`driver: browser.close: ${err}\n`);
    }
    if (!(await waitExit(/** @type {any} */ (proc), 30000))) {
      process.stderr.write('driver: firefox did not quit within 30 s; killed\n');
      proc?.kill('SIGKILL');
      await waitExit(/** @type {any} */ (proc), 10000);
    }
  };

  /** @param {Command} c @returns {Promise<object>} */
  const run = async c => {
    const page = tabs.get(c.tab ?? 0);
    if (!page) throw new Error(`no tab ${c.tab}`);
    switch (c.op) {
      case 'tab': {
        const p = await browser.newPage();
        tabs.set(nextTab, p);
        return { tab: nextTab++ };
      }
      case 'open': {
        if (!c.url) throw new Error('open needs url');
        await page.goto(c.url, { waitUntil: 'load', timeout: c.timeout ?? 30000 });
        return {};
      }
      case 'eval': {
        if (typeof c.expr !== 'string') throw new Error('eval needs expr');
        if (c.activate === false) return { value: await evalUntouched(page, c.expr) };
        // A string is evaluated as a script (its completion value, a promise awaited), like CDP's
        // Runtime.evaluate; the value is serialized in the page. Note: puppeteer evaluates with
        // userActivation, so the page sees the evaluation as a user gesture.
        const h = await page.evaluateHandle(c.expr);
        try {
          const json = await h.evaluate(v => JSON.stringify(v === undefined ? null : v));
          return { value: json === undefined ? null : JSON.parse(json) };
        } finally {
          await h.dispose().catch(() => {});
        }
      }
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
