// What the page agent needs of WebTorrent beyond its documented API, in one place. Each function says
// what it relies on; test/webtorrent.test.js checks every one of those against the pinned version, so
// that an upgrade which changes one fails there, not silently in a visitor's browser. (WebTorrent itself
// is imported by swarm.js: its browser bundle does not load in Node, where that test runs.)

/** The WebTorrent version this module was checked against (package.json pins it). */
export const PINNED = '3.0.21';

/**
 * The first and last piece a file of the torrent touches, as WebTorrent's File computes them (an empty
 * file's last piece may precede its first). Relies on the public `offset`, `length` and `pieceLength`.
 * @param {{pieceLength: number}} torrent @param {{offset: number, length: number}} file
 * @returns {[number, number]}
 */
export function pieceSpan(torrent, file) {
  const pl = torrent.pieceLength;
  return [(file.offset / pl) | 0, ((file.offset + file.length - 1) / pl) | 0];
}

/**
 * Marks piece i missing, so that it is downloaded (and verified) again. Relies on Torrent#_markUnverified.
 * @param {any} torrent @param {number} i
 */
export function markMissing(torrent, i) {
  torrent._markUnverified(i);
}

/**
 * Checks pieces against their SHA-1 in the store (they arrived outside WebTorrent), tells connected
 * peers about those that are now had, and calls done. Relies on Torrent#_verifyPiecesUsingHash (public
 * rescanFiles hashes every piece) and Torrent#_checkDone.
 * @param {any} torrent @param {number[]} pieces @param {() => void} done
 */
export function rescanPieces(torrent, pieces, done) {
  torrent._verifyPiecesUsingHash(pieces, () => {
    for (const i of pieces) if (torrent.bitfield.get(i)) for (const w of torrent.wires) w.have(i);
    torrent._checkDone();
    done();
  });
}

/**
 * Calls fn with the index of every piece that failed its SHA-1 check. WebTorrent reports that only as a
 * 'warning' whose message names the piece ("Piece 7 failed verification"); this is the one place that
 * reads it.
 * @param {any} torrent @param {(index: number) => void} fn
 */
export function onBadPiece(torrent, fn) {
  torrent.on('warning', (/** @type {any} */ err) => {
    const m = BAD_PIECE.exec(String(err && err.message));
    if (m) fn(Number(m[1]));
  });
}

/** The message of WebTorrent's failed-verification warning. */
export const BAD_PIECE = /^Piece (\d+) failed verification$/;

/**
 * Chokes a peer for good: WebTorrent's rechoke (which unchokes every interested peer) can no longer
 * unchoke it. Relies on Wire#unchoke being looked up on the wire at each call (bittorrent-protocol).
 * @param {any} wire
 */
export function refuse(wire) {
  if (!wire.planktosUnchoke) wire.planktosUnchoke = wire.unchoke;
  wire.unchoke = () => {};
  wire.choke();
}

/** Undoes refuse, and unchokes the peer. @param {any} wire */
export function allow(wire) {
  if (!wire.planktosUnchoke) return;
  wire.unchoke = wire.planktosUnchoke;
  delete wire.planktosUnchoke;
  wire.unchoke();
}
