// The prebuilt WebTorrent bundle is untyped; the agent uses it through a few calls (see src/agent/swarm.js).
declare const WebTorrent: any;
export default WebTorrent;
