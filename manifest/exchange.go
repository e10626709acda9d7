package manifest

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/anacrolix/torrent/bencode"
)

// Manifests between peers: the ut_planktos extension.
//
// Peers tell each other the newest signed manifest they hold with a BitTorrent extension (BEP 10)
// named ExtensionName, on every wire of a planktos torrent: the package's torrents, and the site swarm
// (SiteSwarm), which every page agent and seeder of a site joins whatever revision it holds, so that a
// visitor still on revision 1 meets one on revision 2 even when the two share no torrent.
//
// What travels is the envelope: the 64-byte Ed25519 signature followed by the exact bytes of
// planktos/manifest.json. It is cut into PieceSize pieces, as BEP 9 cuts metadata. Every message is a
// bencoded dictionary (Message) of the four keys msg_type, piece, sequence and size (0 where one means
// nothing); a data message is followed by the piece's bytes:
//
//	offer   {msg_type: 0, sequence: N, size: S}              I hold the envelope of sequence N, S bytes
//	request {msg_type: 1, sequence: N, piece: i}             send me piece i of N
//	data    {msg_type: 2, sequence: N, piece: i, size: S} …  piece i of N (S: the envelope's size), then its bytes
//	reject  {msg_type: 3, sequence: N, piece: i}             I no longer hold N
//
// A peer that holds a signed manifest sends an offer once the extended handshakes are exchanged, and
// again on every wire when it adopts a newer one. A peer that is offered a sequence greater than its own
// requests the pieces (pipelining is allowed), from one offerer at a time; when the envelope is whole it
// checks it as every signed manifest is checked (sign.go: pinned key, signature over the exact bytes,
// the manifest's own Key and Sequence, Validate) and only then adopts it. An envelope that fails, an
// offer over MaxEnvelope, a data message that does not fit the offer: the offerer's further offers are
// ignored. Unknown msg_types and unknown keys are ignored, so the protocol can grow.
//
// Cost per connection: one offer each way (about 50 bytes); a transfer only when one side is behind,
// ceil(S/PieceSize) requests and data messages. testdata/exchange.json holds one message of each kind
// for runtime/test, so the Go and JS codecs agree.
const (
	// ExtensionName is the BEP 10 name of the extension.
	ExtensionName = "ut_planktos"
	// PieceSize is the size of every envelope piece but the last.
	PieceSize = 16 << 10
	// MaxEnvelope bounds an envelope a peer accepts: a 100,000-file site's manifest is about 25 MB.
	MaxEnvelope = 64 << 20
)

// The message types.
const (
	MsgOffer   = 0
	MsgRequest = 1
	MsgData    = 2
	MsgReject  = 3
)

// Message is one ut_planktos message's dictionary; Data is the piece after a data message's dictionary.
type Message struct {
	Type     int    `bencode:"msg_type"`
	Sequence int64  `bencode:"sequence"`
	Piece    int    `bencode:"piece"`
	Size     int64  `bencode:"size"`
	Data     []byte `bencode:"-"`
}

// Envelope is what peers exchange: the signature (decoded from SigPath) followed by the manifest bytes.
func Envelope(sig, manifest []byte) []byte { return append(append([]byte{}, sig...), manifest...) }

// Pieces is the number of PieceSize pieces of an envelope of size bytes.
func Pieces(size int64) int { return int((size + PieceSize - 1) / PieceSize) }

// EncodeMessage encodes m for the wire.
func EncodeMessage(m Message) ([]byte, error) {
	b, err := bencode.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("ut_planktos: %w", err)
	}
	return append(b, m.Data...), nil
}

// DecodeMessage decodes one message payload: the dictionary, and for a data message the bytes after it.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	d := bencode.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&m); err != nil {
		return Message{}, fmt.Errorf("ut_planktos: %w", err)
	}
	if m.Type == MsgData {
		m.Data = b[d.Offset:]
	}
	if m.Sequence < 0 || m.Piece < 0 || m.Size < 0 {
		return Message{}, errors.New("ut_planktos: negative field")
	}
	return m, nil
}
