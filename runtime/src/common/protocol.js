// The messages between a site's pages and its service worker: the one definition of their names and
// fields. Two channels carry them.
//
// Window messages go between a page (install.js, the page agent) and the worker with postMessage; their
// data is `{planktos: <name>}`:
//   agent       page agent → worker   hands over a MessagePort (in `ports`): the agent channel below
//   need-agent  worker → pages        no agent port: start the agent, or hand over a fresh port
//   stats       page → worker         answer `planktos.stats()` on the MessagePort sent along
//   policy      page → worker         the visitor opted out of peers or back in: tell the agent
//   update      worker → pages        a new runtime (or the kill switch) was published: update now
//   revision    worker → pages        a revision from peers took over (`revision`): a page not yet used may reload
//
// Agent messages go over the agent's MessagePort; their data is `{op: <name>, ...}`, a read's replies are
// `{id, chunk?, done?, error?}`:
//   read      worker → agent   stream bytes [start, end] of file `sha`, waiting up to `wait` ms for peers;
//                              `size`, when given, is the manifest's: a file of that hash and another size is refused
//   more      worker → agent   one more chunk of read `id` may come (flow control)
//   cancel    worker → agent   read `id` is no longer wanted
//   stats     worker → agent   reply `{id, stats}` with the agent's counters
//   manifest  worker → agent   a new manifest (`revision`) was adopted: follow it
//   policy    worker → agent   the P2P mode may have changed: reload it
//   stored    worker → agent   file `sha` is now in the store: seed it
//   origin    worker → agent   whether the origin answers (`up`; null: not asked yet), sent on every new
//                              port and on change: while it does not, the agent fetches no .torrent
//                              (that would fail, and log); one it did not keep is joined by infohash
//   reach     agent → worker   whether the agent reached a peer (`ok`): reads may wait for peers
//   debug     agent → worker   turn the worker's debug log on or off (`on`; see debug.js)
//   bye       agent → worker   the agent's page is going away: forget this port
//   envelope  worker → agent   the signed manifest to offer peers (ut_planktos, manifest/exchange.go):
//                              `key` (the pinned public key, base64), `sequence`, `bytes` (the envelope,
//                              an ArrayBuffer; null when none is held); sent on every new port and on change
//   adopt     agent → worker   a peer's envelope (`bytes`) whose signature the agent checked: the worker
//                              checks it again and adopts it if its sequence is greater (sw/signed.js)

// Names of window messages (the `planktos` field); single constants, so that install.js stays small.
export const WIN_AGENT = 'agent';
export const WIN_NEED_AGENT = 'need-agent';
export const WIN_STATS = 'stats';
export const WIN_POLICY = 'policy';
export const WIN_UPDATE = 'update';
export const WIN_REVISION = 'revision';

/** Names of agent messages (the `op` field). */
export const Op = /* @__PURE__ */ Object.freeze({
  read: 'read',
  more: 'more',
  cancel: 'cancel',
  stats: 'stats',
  manifest: 'manifest',
  policy: 'policy',
  stored: 'stored',
  origin: 'origin',
  reach: 'reach',
  debug: 'debug',
  bye: 'bye',
  envelope: 'envelope',
  adopt: 'adopt',
});

/**
 * @typedef {{op: 'read', id: number, sha: string, start: number, end: number, wait: number, size?: number}} ReadMsg
 * @typedef {{op: 'more'|'cancel', id: number}} FlowMsg
 * @typedef {{op: 'stats', id: number}} StatsMsg
 * @typedef {{op: 'manifest', revision: string}} ManifestMsg
 * @typedef {{op: 'policy'}} PolicyMsg
 * @typedef {{op: 'stored', sha: string}} StoredMsg
 * @typedef {{op: 'origin', up: boolean|null}} OriginMsg
 * @typedef {{op: 'envelope', key: string, sequence: number, bytes: ArrayBuffer|null}} EnvelopeMsg
 * @typedef {ReadMsg|FlowMsg|StatsMsg|ManifestMsg|PolicyMsg|StoredMsg|OriginMsg|EnvelopeMsg} ToAgent what the worker sends
 * @typedef {{op: 'reach', ok: boolean}} ReachMsg
 * @typedef {{op: 'bye'}} ByeMsg
 * @typedef {{op: 'debug', on: boolean}} DebugMsg
 * @typedef {{op: 'adopt', bytes: ArrayBuffer}} AdoptMsg
 * @typedef {{id: number, chunk?: ArrayBuffer, done?: boolean, error?: string, stats?: object}} Reply a
 *   reply to a read (chunks, then done or error) or to stats
 * @typedef {ReachMsg|ByeMsg|DebugMsg|AdoptMsg|Reply} FromAgent what the agent sends
 */
