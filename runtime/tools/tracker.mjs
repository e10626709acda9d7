// A WebSocket BitTorrent tracker for the end-to-end tests (the npm bittorrent-tracker server, as
// WebTorrent's own tests use). Usage: node tools/tracker.mjs [port]; prints "listening <port>".
import Server from 'bittorrent-tracker/server';

const server = new Server({ udp: false, http: false, ws: true, stats: false, trustProxy: false });
server.on('error', (err) => { console.error(err.message); process.exit(1); });
server.on('warning', () => {});
server.on('listening', () => { console.log(`listening ${server.ws.address().port}`); });
server.listen(Number(process.argv[2] || 0), '127.0.0.1');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
