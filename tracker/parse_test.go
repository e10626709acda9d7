package tracker

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
)

func TestBinaryStringsRoundTrip(t *testing.T) {
	for start := 0; start < 256; start += 20 {
		var id ID
		for i := range id {
			id[i] = byte(start + i) // every byte value 0x00–0xFF, 20 at a time (wrapping)
		}
		enc := appendID(nil, id)
		var s string
		if err := json.Unmarshal(enc, &s); err != nil {
			t.Fatalf("%x encodes to invalid JSON %q: %v", id, enc, err)
		}
		if got := []rune(s); len(got) != 20 || got[5] != rune(id[5]) {
			t.Fatalf("%x: one character per byte expected, got %q", id, s)
		}
		v, err := (&scanner{b: enc}).value(0)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeID(v.raw)
		if err != nil || back != id {
			t.Fatalf("%x round-trips to %x, %v", id, back, err)
		}
	}
}

func TestDecodeIDRefusesWideRunes(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("a", 19) + "Ā",      // U+0100 as UTF-8
		strings.Repeat("a", 19) + `\u0100`, // escaped
		strings.Repeat("a", 18) + `\ud83d\ude00`,
		strings.Repeat("a", 19) + "€",
	} {
		if _, err := decodeID([]byte(s)); err != errWideRune {
			t.Errorf("%q: %v, want errWideRune", s, err)
		}
	}
	for _, s := range []string{strings.Repeat("a", 19), strings.Repeat("a", 21), ""} {
		if _, err := decodeID([]byte(s)); err != errNot20 {
			t.Errorf("%d chars: %v", len(s), err)
		}
	}
}

func TestParseBrowserAnnounce(t *testing.T) {
	ih, pid := testID(1), testID(2)
	msg := js(announceMsg(ih, pid, map[string]any{"event": "started", "offers": offers(5, 3000, 9), "trackerid": "x"}))
	r, err := parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	if r.action != "announce" || r.infoHash != ih || r.peerID != pid || r.event != "started" || r.seeder {
		t.Fatalf("%+v", r)
	}
	if len(r.offers) != 5 || r.offers[2].id != testID(11) {
		t.Fatalf("offers %+v", r.offers)
	}
	var o map[string]string
	if err := json.Unmarshal(r.offers[4].sdp, &o); err != nil || o["type"] != "offer" || !strings.HasSuffix(o["sdp"], "E") {
		t.Fatalf("offer 4: %q %v", r.offers[4].sdp, err)
	}
}

func TestParseAnacrolixMessages(t *testing.T) {
	// As anacrolix/torrent v1.61.0 marshals them: "offers":null, "event":"<regular>", answers
	// without left or numwant.
	ih, pid := testID(1), testID(2)
	re := `{"numwant":0,"uploaded":0,"downloaded":0,"left":0,"event":"<regular>","action":"announce","info_hash":` +
		string(appendID(nil, ih)) + `,"peer_id":` + string(appendID(nil, pid)) + `,"offers":null}`
	r, err := parse([]byte(re))
	if err != nil || !r.seeder || r.event != "<regular>" || len(r.offers) != 0 || r.answer != nil {
		t.Fatalf("%+v %v", r, err)
	}
	ans := `{"info_hash":` + string(appendID(nil, ih)) + `,"action":"announce","peer_id":` +
		string(appendID(nil, pid)) + `,"to_peer_id":` + string(appendID(nil, testID(3))) +
		`,"answer":{"type":"answer","sdp":"v=0\r\n"},"offer_id":` + string(appendID(nil, testID(4))) + `}`
	r, err = parse([]byte(ans))
	if err != nil || r.toPeerID != testID(3) || r.offerID != testID(4) || string(r.answer) != `{"type":"answer","sdp":"v=0\r\n"}` {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestParseSyntax(t *testing.T) {
	good := []string{
		`{"action":"scrape"}`,
		` {"action" : "scrape" , "x":[1,-2.5e+3,true,false,null,{"a":[]},"\u00e9\n"]} `,
		`{"act\u0069on":"scrape"}`,
		`{"action":"scrape","info_hash":null}`,
	}
	for _, s := range good {
		if _, err := parse([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{
		``, `"x"`, `{`, `{"a"}`, `{"a":1,}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":tru}`,
		`{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", `{"a":[1 2]}`, `{} {}`,
		`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
	}
	for _, s := range bad {
		if _, err := parse([]byte(s)); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestParseLeft(t *testing.T) {
	for left, seeder := range map[string]bool{`0`: true, `-0.0`: true, `"0"`: true, `0e3`: true, `1`: false,
		`"x"`: false, `null`: false, `1e999`: false} {
		r, err := parse([]byte(`{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","left":` + left + `}`))
		if err != nil || r.seeder != seeder {
			t.Errorf("left %s: seeder %v, %v", left, r.seeder, err)
		}
	}
}

func TestRelayedMessageIsValidJSON(t *testing.T) {
	sdp := []byte(`{"type":"offer","sdp":"v=0\r\n\u00e9"}`)
	msg := *relayed("offer", sdp, testID(1), testID(2), testID(3))
	var m map[string]any
	if err := json.Unmarshal(msg, &m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(msg, sdp) || m["offer"].(map[string]any)["sdp"] != "v=0\r\né" {
		t.Fatalf("%s", msg)
	}
	if err := json.Unmarshal(failure("announce", nil, "bad \x00 \"thing\" \u2028 ☃"), &m); err != nil {
		t.Fatal(err)
	}
}

func TestPlain8(t *testing.T) {
	for i := range 8 {
		for _, c := range []byte{'"', '\\', 0, 0x1F, 0x80, 0xFF} {
			w := []byte("abcdefgh")
			w[i] = c
			if plain8(binary.LittleEndian.Uint64(w)) {
				t.Errorf("%q seen as plain", w)
			}
		}
	}
	if !plain8(binary.LittleEndian.Uint64([]byte(" ~!#[]/\x7f"))) {
		t.Error("plain bytes refused")
	}
}

// A browser announce with five 3 KB offers: the hand-written scanner against encoding/json decoding
// the same fields (offers kept raw).
func benchAnnounce() []byte {
	return []byte(js(announceMsg(testID(1), testID(2), map[string]any{"offers": offers(5, 3000, 0)})))
}

func BenchmarkParseAnnounce(b *testing.B) {
	msg := benchAnnounce()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := parse(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAnnounceEncodingJSON(b *testing.B) {
	msg := benchAnnounce()
	b.SetBytes(int64(len(msg)))
	var m struct {
		Action, InfoHash, PeerID, Event string
		Left                            json.RawMessage
		Offers                          []struct {
			Offer   json.RawMessage `json:"offer"`
			OfferID string          `json:"offer_id"`
		}
	}
	for b.Loop() {
		if err := json.Unmarshal(msg, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMessagePool(t *testing.T) {
	for _, n := range []int{0, 1, minPooled, minPooled + 1, 3000, maxPooled, maxPooled + 1} {
		b := getMsg(n)
		if len(*b) != 0 || cap(*b) < n {
			t.Fatalf("getMsg(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		if k := poolClass(n); n <= maxPooled && cap(*b) != minPooled<<k || n > maxPooled && k != -1 {
			t.Fatalf("getMsg(%d): cap %d, class %d", n, cap(*b), k)
		}
		putMsg(b)
	}
}
