// Package tracker is a WebTorrent WebSocket tracker that speaks the protocol of the npm
// bittorrent-tracker 11 server, so browsers (WebTorrent) and Go clients (anacrolix/torrent) can find
// each other and trade WebRTC offers and answers through it.
//
// # Protocol contract
//
// There is no written specification; this is what bittorrent-tracker 11 speaks and what this package
// implements. Every message is a JSON object in a WebSocket text frame (binary frames are read the
// same way; replies are always text).
//
// info_hash, peer_id, to_peer_id and offer_id are 20-byte binary strings written as one JavaScript
// character per byte: byte 0xE9 travels as "é" (U+00E9), byte 0x00 as "\u0000". A character above
// U+00FF cannot be a byte; such a message is refused with a failure reason.
//
// Announce (client → tracker):
//
//	{"action":"announce","info_hash":IH,"peer_id":ME,"numwant":5,"uploaded":0,"downloaded":0,
//	 "left":1234,"event":"started","offers":[{"offer":{"type":"offer","sdp":"…"},"offer_id":OID},…]}
//
// The tracker replies {"action":"announce","info_hash":IH,"complete":S,"incomplete":L,"interval":SECS}
// and relays each offer to a different random peer of the swarm, never the sender:
//
//	{"action":"announce","offer":{…},"offer_id":OID,"peer_id":ME,"info_hash":IH}
//
// Events: "stopped" removes the peer from the swarm; "completed", or left = 0, makes it a seeder
// (complete); anything else — "started", "update", anacrolix's "<regular>", none at all — is an update
// that adds the peer if it is new. A seeder stays a seeder until it stops.
//
// Answer (client → tracker): an announce that carries "answer", "to_peer_id" and "offer_id". It is
// forwarded to to_peer_id in that swarm, with peer_id set to the answerer, and gets no reply:
//
//	{"action":"announce","answer":{"type":"answer","sdp":"…"},"offer_id":OID,"peer_id":PEER,"info_hash":IH}
//
// Scrape: {"action":"scrape","info_hash":IH} or "info_hash":[IH,…]; without info_hash (or with an empty
// list) every swarm is reported, up to Config.MaxScrape. The reply is
// {"action":"scrape","files":{IH:{"complete":S,"incomplete":L,"downloaded":S}},"flags":{"min_request_interval":SECS}}.
//
// Errors: {"failure reason":"…"}, with "action" and "info_hash" added when they were readable so that a
// bittorrent-tracker client shows the error as a warning for that torrent.
//
// Lifetime: a peer stays in its swarms for as long as its socket is open — some clients (anacrolix)
// never re-announce. Closing the socket is "stopped" for every swarm it joined. One socket may carry
// several peer ids and info hashes (browser clients share one socket per tracker URL).
//
// # Bounds
//
// Every resource a client can make the tracker spend is bounded by Config: message size (larger
// messages close the socket with 1009), swarms per connection, offers per announce (extra offers are
// ignored), messages per second per connection (a token bucket; excess messages are dropped), idle
// time (closed after IdleTimeout without a message — or, for a connection in a swarm, without
// answering pings), connections overall, the outgoing queue and write time of a slow reader, and an
// optional Origin allow-list.
//
// # Implementation
//
// WebSocket frames are read and written with github.com/gobwas/ws's stateless frame functions
// (frame.go), so a connection holds no WebSocket library objects: an idle one is its socket, its
// conn and its swarm memberships (about 1 KB of heap). On Linux an idle connection costs no
// goroutine and no buffer: sockets wait in an epoll set and are read by a short-lived goroutine
// when data arrives, through pooled buffers (poll_linux.go, wire_linux.go); writes never block and
// are gathered per round of readers, so one system call carries what a peer gets in that round
// (flush_linux.go, wirewrite_linux.go), and relayed offers and answers travel in pooled buffers
// given back once written (msgpool.go). Elsewhere each connection keeps a reading goroutine and a
// write queue (write.go); PLANKTOS_TRACKER_ENGINE=goroutine selects that engine on Linux too, and
// the package's tests run in both. Messages are parsed by a small validating JSON scanner (scan.go) that
// relays offers and answers as the bytes the client sent.
package tracker
