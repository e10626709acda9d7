// Two npm bittorrent-tracker 11 clients against a WebSocket tracker: node interop.mjs ANNOUNCE_URL
// (NODE_MODULES points at a node_modules holding bittorrent-tracker).
//
// Everything is the package's own code — Client, its WebSocketTracker (the message format, offer
// bookkeeping, answer routing) and @thaunknown/simple-websocket — except WebRTC, which Node lacks:
// webrtc-polyfill (a native node-datachannel binding, not built by `npm ci --ignore-scripts`) resolves
// to an empty module, and WebSocketTracker.prototype._createPeer returns a peer that only signals
// hand-written SDP instead of a simple-peer. Prints one JSON line with what each client saw.
import { EventEmitter } from 'node:events'
import { register } from 'node:module'
import { pathToFileURL } from 'node:url'

const noWebRTC = 'data:text/javascript,export const RTCPeerConnection = undefined, ' +
  'RTCSessionDescription = undefined, RTCIceCandidate = undefined; export default {}'
register('data:text/javascript,' + encodeURIComponent(`export async function resolve (spec, ctx, next) {
  return spec === 'webrtc-polyfill' ? { url: '${noWebRTC}', shortCircuit: true } : next(spec, ctx)
}`))

const url = process.argv[2]
const nm = process.env.NODE_MODULES
const load = async p => (await import(pathToFileURL(`${nm}/bittorrent-tracker/${p}`))).default
const Client = await load('client.js')
const WebSocketTracker = await load('lib/client/websocket-tracker.js')

const sdp = (type, label) => [
  'v=0', `o=- ${label.length}1 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=ice-ufrag:${label}`,
  'a=ice-pwd:asd88fgpdd777uzjYhagZg', 'a=fingerprint:sha-256 ' + '7B:'.repeat(31) + '7B',
  `a=setup:${type === 'offer' ? 'actpass' : 'active'}`, 'a=mid:0', 'a=sctp-port:5000', ''
].join('\r\n')

let offerCount = 0
// SignalPeer stands in for simple-peer: an initiator signals an offer; a receiver answers an offer.
class SignalPeer extends EventEmitter {
  constructor (opts = {}) {
    super()
    this.initiator = !!opts.initiator
    this.received = []
    if (this.initiator) {
      this.offer = { type: 'offer', sdp: sdp('offer', `offer${offerCount++}`) }
      queueMicrotask(() => this.emit('signal', this.offer))
    }
  }

  signal (data) {
    this.received.push(data)
    if (!this.initiator && data.type === 'offer') {
      queueMicrotask(() => this.emit('signal', { type: 'answer', sdp: sdp('answer', 'answer-' + data.sdp.match(/ice-ufrag:(\S+)/)[1]) }))
    }
  }

  destroy () { this.destroyed = true }
}
WebSocketTracker.prototype._createPeer = function (opts) { return new SignalPeer(opts) }

const infoHash = 'ff00e9225c0a27f7b1ad16b86bbd1c11d6b8d2a1' // bytes ≥ 0x80, NUL, quote-free hex
const other = '00112233445566778899aabbccddeeff00112233'
const ids = { a: 'ffe9002d5042303030302d616161616161616161', b: '7f80812d5042303030302d626262626262626262' }
const left = { a: 100, b: 100 }
const out = { warnings: [], peers: { a: [], b: [] }, updates: { a: [], b: [] }, scrapes: [] }

function client (name) {
  // A different URL per client: the package pools one socket per URL, and we want two sockets.
  const c = new Client({
    infoHash, peerId: ids[name], announce: [`${url}?client=${name}`], port: 6881,
    wrtc: {}, // enables ws trackers in Node; never used, since _createPeer is replaced
    getAnnounceOpts: () => ({ left: left[name] })
  })
  c.on('warning', err => out.warnings.push(`${name}: ${err.message}`))
  c.on('error', err => out.warnings.push(`${name} error: ${err.message}`))
  c.on('update', u => out.updates[name].push({ complete: u.complete, incomplete: u.incomplete, interval: u.interval }))
  c.on('peer', p => out.peers[name].push(p)) // signalled right after this event
  c.on('scrape', s => out.scrapes.push({ by: name, infoHash: s.infoHash, complete: s.complete, incomplete: s.incomplete }))
  return c
}

const until = (what, cond) => new Promise((resolve, reject) => {
  const t0 = Date.now()
  const tick = setInterval(() => {
    if (cond()) { clearInterval(tick); resolve() } else if (Date.now() - t0 > 10000) {
      clearInterval(tick); reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(out)}`))
    }
  }, 10)
})

const b = client('b')
b.start()
await until('b announced', () => out.updates.b.length === 1)
const a = client('a')
a.start()
await until('a announced', () => out.updates.a.length === 1)
// a's offer reaches b, whose answer comes back to a (signalled into a's offering peer).
await until('offer at b and answer at a', () => out.peers.a.length === 1 && out.peers.a[0].received.length === 1)
left.a = 0
a.complete()
await until('a completed', () => out.updates.a.length === 2)
b.scrape({ infoHash: [infoHash, other] })
await until('list scrape', () => out.scrapes.length === 2)
b.scrape()
await until('single scrape', () => out.scrapes.length === 3)
a.stop()
await until('a stopped', () => out.updates.a.length === 3)
b.scrape()
await until('scrape after stop', () => out.scrapes.length === 4)
out.ids = ids
const ufrag = s => s.type + ':' + s.sdp.match(/ice-ufrag:(\S+)/)[1]
for (const n in out.peers) out.peers[n] = out.peers[n].map(p => ({ id: p.id, received: p.received.map(ufrag) }))
console.log(JSON.stringify(out))
a.destroy()
b.destroy()
setTimeout(() => process.exit(0), 100)
