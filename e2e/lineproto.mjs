// The line protocol of planktos's e2e browser drivers (e2e/firefox/driver.mjs, e2e/webkit/driver.mjs;
// the protocol is described at the top of the Firefox one): one JSON object a line, commands on stdin,
// answers and events on stdout.

/**
 * @typedef {{id?: number, op: string, tab?: number, url?: string, expr?: string, timeout?: number}} Command
 * @typedef {import('node:child_process').ChildProcess} Child
 */

import readline from 'node:readline';

/** Writes one message (an answer or an event) to stdout. @param {object} msg */
export function send(msg) {
  process.stdout.write(JSON.stringify(msg) + '\n');
}

/**
 * Resolves true once proc has exited, false after ms.
 * @param {Child} proc @param {number} ms @returns {Promise<boolean>}
 */
export function waitExit(proc, ms) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise(resolve => {
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => { clearTimeout(timer); resolve(true); });
  });
}

/**
 * The text of a failed command's error: its message, or its name where the message is empty (selenium's
 * WebDriverError for a navigation WebKitWebDriver gave up on has none), with the remote stack trace the
 * browser's driver sent, if any.
 * @param {unknown} err
 */
export function describe(err) {
  const e = /** @type {any} */ (err);
  if (!e || typeof e !== 'object') return String(err);
  let text = e.message || e.name || String(err);
  if (e.message && e.name && e.name !== 'Error') text = `${e.name}: ${e.message}`;
  if (e.remoteStacktrace) text += `\nremote stack: ${e.remoteStacktrace}`;
  return text;
}

/**
 * Reads commands from stdin and runs them one after the other, in the order they came, answering each
 * with what run returned ({"id":N,"ok":true,...}) or its error ({"id":N,"error":"…"}). After the "close"
 * command has been answered, or at the end of stdin (after close()), the process exits 0.
 * @param {(c: Command) => Promise<object>} run @param {() => Promise<void>} close
 */
export function serveCommands(run, close) {
  const rl = readline.createInterface({ input: process.stdin });
  /** @type {Promise<unknown>} */
  let queue = Promise.resolve();
  rl.on('line', line => {
    if (!line.trim()) return;
    /** @type {Command} */
    let c;
    try {
      c = JSON.parse(line);
    } catch (err) {
      send({ error: `bad command ${JSON.stringify(line)}: ${err}` });
      return;
    }
    queue = queue.then(() => run(c)).then(
      r => send({ id: c.id, ok: true, ...r }),
      err => send({ id: c.id, error: describe(err) }),
    ).then(() => {
      if (c.op === 'close') process.exit(0);
    });
  });
  rl.on('close', () => {
    queue = queue.then(close).then(() => process.exit(0));
  });
}
