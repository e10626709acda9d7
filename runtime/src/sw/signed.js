// The service worker's side of manifests between visitors (manifest/exchange.go): the envelope it
// tells its agent to offer peers, what it does with a peer's envelope the agent hands over (op adopt:
// ManifestKeeper.adopt checks and takes it over; the pages hear of the new revision), and the kill
// switch, which travels the same way: a disabled manifest that takes over removes planktos here, as
// the kill-switch service worker does.
import { clearStorage } from '../common/cleanup.js';
import { debug } from '../common/debug.js';
import { Op, WIN_REVISION } from '../common/protocol.js';

/** @typedef {import('./manifest.js').ManifestKeeper} ManifestKeeper */
/** @typedef {import('./agent-link.js').AgentLink} AgentLink */
/** @typedef {import('./stats.js').Stats} Stats */

/**
 * Wires the signed-manifest exchange between the keeper and the agent link.
 * @param {object} o
 * @param {any} o.sw the worker's global scope
 * @param {string} o.base
 * @param {ManifestKeeper} o.manifests
 * @param {AgentLink} o.agent
 * @param {Stats} o.stats
 * @param {(p: Promise<unknown>) => void} o.background keeps the worker alive for `p`
 * @param {() => Promise<unknown>} o.settled resolves once the background work begun so far is done
 */
export function wireSigned({ sw, base, manifests, agent, stats, background, settled }) {
  // a new envelope is news for a connected agent only: a new port hears of it anyway (tellEnvelope)
  manifests.onEnvelope = () => { if (agent.port) tellEnvelope(manifests, agent); };
  manifests.onDisabled = () => background(removePlanktos(sw, base, { agent, stats, settled }));
  agent.onAdopt = (bytes) => background((async () => {
    const got = await manifests.adopt(new Uint8Array(bytes));
    stats.adoption(got);
    debug.log?.('a peer\'s manifest:', got, manifests.manifest?.sequence);
    if (got !== 'adopted' || !manifests.manifest) return;
    const revision = manifests.manifest.revision;
    for (const w of await sw.clients.matchAll({ type: 'window' })) w.postMessage({ planktos: WIN_REVISION, revision });
  })());
}

/**
 * Tells the agent the envelope to offer peers (protocol.js, op envelope), once the manifest is read.
 * @param {ManifestKeeper} manifests @param {AgentLink} agent
 */
export async function tellEnvelope(manifests, agent) {
  await manifests.current();
  agent.notify({ op: Op.envelope, ...manifests.envelopeNote() });
}

/**
 * Removes planktos from this browser, as the kill-switch worker does: the agent is let go, the
 * counters stop, the storage is deleted (again once the writes under way are done) and the worker
 * unregisters. The pages it controls go to the network meanwhile (the keeper answers no manifest).
 * @param {any} sw @param {string} base
 * @param {{agent: AgentLink, stats: Stats, settled: () => Promise<unknown>}} o
 */
async function removePlanktos(sw, base, { agent, stats, settled }) {
  const earlier = settled(); // (taken first: this work is not in it)
  debug.log?.('a disabled package took over: planktos is removed from this browser');
  stats.stop();
  agent.drop(agent.port);
  await clearStorage(base).catch(() => {});
  await sw.registration.unregister().catch(() => false);
  await earlier.catch(() => {});
  await clearStorage(base).catch(() => {});
}
