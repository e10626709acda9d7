package tracker

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/wait"
)

func TestAnnounceReply(t *testing.T) {
	_, url := startTracker(t, Config{})
	c := dial(t, url)
	ih, pid := testID(1), testID(2)
	r := c.join(ih, pid, map[string]any{"event": "started"})
	if r["action"] != "announce" || num(r["complete"]) != 0 || num(r["incomplete"]) != 1 || num(r["interval"]) != 120 {
		t.Fatalf("reply %v", r)
	}
	if got := unbin(t, r["info_hash"]); !bytes.Equal(got, ih[:]) {
		t.Fatalf("info_hash %x, want %x", got, ih)
	}
	if _, ok := r["failure reason"]; ok {
		t.Fatal(r)
	}
}

func TestOfferRelayToDistinctRandomPeers(t *testing.T) {
	tr, url := startTracker(t, Config{})
	ih := testID(1)
	var peers []*client
	for i := range 7 {
		c := dial(t, url)
		c.join(ih, testID(byte(10+i)), nil)
		peers = append(peers, c)
	}
	sender, senderID := dial(t, url), testID(99)
	sent := offers(5, 3000, 50)
	r := sender.join(ih, senderID, map[string]any{"offers": sent})
	if num(r["incomplete"]) != 8 {
		t.Fatalf("reply %v", r)
	}
	waitRelayed(t, tr, 5)
	got := map[string]bool{}
	for _, p := range peers {
		ms := p.received()
		if len(ms) > 1 {
			t.Fatalf("%d offers relayed to one peer: %v", len(ms), ms)
		}
		if len(ms) == 0 {
			continue
		}
		m := ms[0]
		if !bytes.Equal(unbin(t, m["peer_id"]), senderID[:]) || !bytes.Equal(unbin(t, m["info_hash"]), ih[:]) {
			t.Fatalf("relayed %v", m)
		}
		oid := string(unbin(t, m["offer_id"]))
		sdp := m["offer"].(map[string]any)["sdp"].(string)
		if got[oid] {
			t.Fatal("one offer relayed twice")
		}
		got[oid] = true
		for _, o := range sent {
			o := o.(map[string]any)
			if o["offer_id"] == bin([]byte(oid)) && o["offer"].(map[string]any)["sdp"] != sdp {
				t.Fatal("offer and offer_id do not match")
			}
		}
	}
	if len(got) != 5 {
		t.Fatalf("%d offers relayed, want 5", len(got))
	}
	sender.expectNone("relayed to the sender")
}

// waitRelayed waits until the tracker has relayed the offers of an announce (it counts them once
// all are queued to their peers) and checks that they were n.
func waitRelayed(t *testing.T, tr *Server, n int) {
	t.Helper()
	wait.For(t, "offers relayed", 5*time.Second, func() bool { return tr.Stats().OffersRelayed != 0 })
	if got := tr.Stats().OffersRelayed; got != uint64(n) {
		t.Fatalf("%d offers relayed, want %d", got, n)
	}
}

func TestOffersMoreThanPeers(t *testing.T) {
	tr, url := startTracker(t, Config{})
	ih := testID(1)
	a, b, s := dial(t, url), dial(t, url), dial(t, url)
	a.join(ih, testID(10), nil)
	b.join(ih, testID(11), nil)
	s.join(ih, testID(12), map[string]any{"offers": offers(5, 100, 0)})
	waitRelayed(t, tr, 2)
	for _, c := range []*client{a, b} {
		if ms := c.received(); len(ms) != 1 || ms[0]["offer"] == nil {
			t.Fatalf("want one offer, got %v", ms)
		}
	}
	s.expectNone("relayed to the sender")
}

func TestAnswerForwarded(t *testing.T) {
	tr, url := startTracker(t, Config{})
	ih, aID, bID := testID(1), testID(2), testID(3)
	a, b := dial(t, url), dial(t, url)
	b.join(ih, bID, nil)
	a.join(ih, aID, map[string]any{"offers": offers(1, 500, 7)})
	off := b.recv()
	b.send(map[string]any{
		"action": "announce", "info_hash": bin(ih[:]), "peer_id": bin(bID[:]),
		"to_peer_id": off["peer_id"], "offer_id": off["offer_id"],
		"answer": map[string]any{"type": "answer", "sdp": "v=0\r\nanswer"},
	})
	m := a.recv()
	ans, _ := m["answer"].(map[string]any)
	if ans["sdp"] != "v=0\r\nanswer" || m["offer_id"] != off["offer_id"] || m["action"] != "announce" {
		t.Fatalf("answer %v", m)
	}
	if !bytes.Equal(unbin(t, m["peer_id"]), bID[:]) || !bytes.Equal(unbin(t, m["info_hash"]), ih[:]) {
		t.Fatalf("answer ids %v", m)
	}
	b.expectNone("a reply to an answer") // answers get no reply
	if st := tr.Stats(); st.AnswersForwarded != 1 || st.OffersRelayed != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAnswerToUnknownPeerDropped(t *testing.T) {
	tr, url := startTracker(t, Config{})
	ih, bID, ghost := testID(1), testID(3), testID(4)
	b := dial(t, url)
	b.join(ih, bID, nil)
	b.send(map[string]any{
		"action": "announce", "info_hash": bin(ih[:]), "peer_id": bin(bID[:]),
		"to_peer_id": bin(ghost[:]), "offer_id": bin(ghost[:]), "answer": map[string]any{"type": "answer", "sdp": "x"},
	})
	b.expectNone("a reply to an answer")
	if st := tr.Stats(); st.AnswersDropped != 1 || st.AnswersForwarded != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func scrapeFiles(t *testing.T, c *client, infoHash any) map[string]any {
	t.Helper()
	msg := map[string]any{"action": "scrape"}
	if infoHash != nil {
		msg["info_hash"] = infoHash
	}
	c.send(msg)
	r := c.recv()
	if r["action"] != "scrape" || num(r["flags"].(map[string]any)["min_request_interval"]) != 120 {
		t.Fatalf("scrape reply %v", r)
	}
	return r["files"].(map[string]any)
}

func counts(t *testing.T, files map[string]any, ih ID) (complete, incomplete int) {
	t.Helper()
	f, ok := files[bin(ih[:])].(map[string]any)
	if !ok {
		t.Fatalf("no %x in %v", ih, files)
	}
	if f["downloaded"] != f["complete"] {
		t.Fatalf("downloaded %v", f)
	}
	return num(f["complete"]), num(f["incomplete"])
}

func TestScrape(t *testing.T) {
	_, url := startTracker(t, Config{})
	ih1, ih2, none := testID(1), testID(2), testID(3)
	a, b := dial(t, url), dial(t, url)
	a.join(ih1, testID(10), nil)
	a.join(ih2, testID(10), map[string]any{"left": 0})
	b.join(ih1, testID(11), map[string]any{"event": "completed"})

	files := scrapeFiles(t, b, bin(ih1[:]))
	if c, i := counts(t, files, ih1); c != 1 || i != 1 || len(files) != 1 {
		t.Fatalf("single: %v", files)
	}
	files = scrapeFiles(t, b, []any{bin(ih1[:]), bin(ih2[:]), bin(none[:])})
	if c, i := counts(t, files, ih2); c != 1 || i != 0 || len(files) != 3 {
		t.Fatalf("list: %v", files)
	}
	if c, i := counts(t, files, none); c != 0 || i != 0 {
		t.Fatalf("unknown swarm: %v", files)
	}
	for _, all := range []any{nil, []any{}} {
		files = scrapeFiles(t, b, all)
		if len(files) != 2 {
			t.Fatalf("all swarms (%v): %v", all, files)
		}
		counts(t, files, ih1)
		counts(t, files, ih2)
	}
}

func TestEvents(t *testing.T) {
	tr, url := startTracker(t, Config{})
	ih := testID(1)
	a, b := dial(t, url), dial(t, url)
	r := a.join(ih, testID(10), map[string]any{"event": "started"})
	if num(r["incomplete"]) != 1 {
		t.Fatal(r)
	}
	// anacrolix's re-announce, and no event at all: updates, not new peers.
	a.join(ih, testID(10), map[string]any{"event": "<regular>"})
	r = a.join(ih, testID(10), nil)
	if num(r["incomplete"]) != 1 || num(r["complete"]) != 0 {
		t.Fatal(r)
	}
	r = a.join(ih, testID(10), map[string]any{"event": "completed"})
	if num(r["complete"]) != 1 || num(r["incomplete"]) != 0 {
		t.Fatalf("completed: %v", r)
	}
	r = b.join(ih, testID(11), map[string]any{"left": "0"})
	if num(r["complete"]) != 2 {
		t.Fatalf("left 0: %v", r)
	}
	// stopped from a socket that does not hold the peer is ignored.
	r = b.join(ih, testID(10), map[string]any{"event": "stopped"})
	if num(r["complete"]) != 2 {
		t.Fatalf("foreign stop: %v", r)
	}
	r = a.join(ih, testID(10), map[string]any{"event": "stopped"})
	if num(r["complete"]) != 1 || num(r["incomplete"]) != 0 {
		t.Fatalf("stopped: %v", r)
	}
	b.join(ih, testID(11), map[string]any{"event": "stopped"})
	if st := tr.Stats(); st.Swarms != 0 || st.Peers != 0 || st.Seeders != 0 {
		t.Fatalf("empty swarm kept: %+v", st)
	}
}

func TestSocketCloseIsStopped(t *testing.T) {
	tr, url := startTracker(t, Config{})
	a, b := dial(t, url), dial(t, url)
	for i := range 3 {
		a.join(testID(byte(i)), testID(10), nil)
		a.join(testID(byte(i)), testID(11), nil) // a second client sharing the socket
	}
	b.join(testID(0), testID(20), nil)
	if st := tr.Stats(); st.Peers != 7 || st.Swarms != 3 || st.Connections != 2 {
		t.Fatalf("stats %+v", st)
	}
	a.ws.CloseNow()
	wait.For(t, "peers of the closed socket to leave", 5*time.Second, func() bool {
		st := tr.Stats()
		return st.Peers == 1 && st.Swarms == 1 && st.Connections == 1
	})
	if c, i := counts(t, scrapeFiles(t, b, nil), testID(0)); c+i != 1 {
		t.Fatal("scrape still counts closed peers")
	}
}

func TestPeerMovesToNewSocket(t *testing.T) {
	tr, url := startTracker(t, Config{})
	ih, pid := testID(1), testID(2)
	old, fresh, s := dial(t, url), dial(t, url), dial(t, url)
	old.join(ih, pid, nil)
	r := fresh.join(ih, pid, nil) // reconnected before the old socket died
	if num(r["incomplete"]) != 1 {
		t.Fatal(r)
	}
	old.ws.CloseNow()
	s.join(ih, testID(3), map[string]any{"offers": offers(1, 10, 0)})
	if m := fresh.recv(); m["offer"] == nil {
		t.Fatal(m)
	}
	if st := tr.Stats(); st.Peers != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFailures(t *testing.T) {
	_, url := startTracker(t, Config{})
	ih, pid := testID(1), testID(2)
	wide := bin(ih[:19]) + "Ā" // U+0100 is not a byte
	cases := []struct {
		msg, reason string
		named       bool // failure names action and info_hash
	}{
		{`{"action":"announce",`, "invalid JSON", false},
		{`[1,2]`, "invalid JSON", false},
		{`{"action":"announce"} x`, "invalid JSON", false},
		{`{"action":"connect"}`, "invalid action in WS request", false},
		{`{"action":3}`, "invalid action", false},
		{js(map[string]any{"action": "announce", "info_hash": "short", "peer_id": bin(pid[:])}), "invalid info_hash", false},
		{js(map[string]any{"action": "announce", "info_hash": wide, "peer_id": bin(pid[:])}), "U+00FF", false},
		{js(map[string]any{"action": "announce", "info_hash": bin(ih[:]), "peer_id": 7}), "invalid peer_id", true},
		{js(map[string]any{"action": "announce", "info_hash": bin(ih[:]), "peer_id": bin(pid[:]),
			"answer": map[string]any{"sdp": "x"}}), "to_peer_id", true},
		{js(map[string]any{"action": "announce", "info_hash": bin(ih[:]), "peer_id": bin(pid[:]),
			"offers": []any{map[string]any{"offer": "x", "offer_id": bin(pid[:])}}}), "invalid offers", true},
		{js(map[string]any{"action": "announce", "info_hash": bin(ih[:]), "peer_id": bin(pid[:]),
			"offers": []any{map[string]any{"offer": map[string]any{}, "offer_id": "x"}}}), "invalid offers", true},
		{js(map[string]any{"action": "scrape", "info_hash": []any{bin(ih[:]), 5}}), "invalid info_hash", false},
	}
	c := dial(t, url)
	for _, tc := range cases {
		c.sendRaw([]byte(tc.msg))
		r := c.recv()
		reason, _ := r["failure reason"].(string)
		if !strings.Contains(reason, tc.reason) {
			t.Errorf("%s: failure reason %q, want %q", tc.msg, reason, tc.reason)
		}
		if named := r["info_hash"] != nil && r["action"] == "announce"; named != tc.named {
			t.Errorf("%s: reply %v names the torrent: %v, want %v", tc.msg, r, named, tc.named)
		}
	}
	// The socket survives bad messages.
	if r := c.join(ih, pid, nil); r["failure reason"] != nil {
		t.Fatal(r)
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestStatsHandlerAndPlainHTTP(t *testing.T) {
	_, url := startTracker(t, Config{})
	c := dial(t, url)
	c.join(testID(1), testID(2), map[string]any{"left": 0})
	httpURL := "http" + strings.TrimPrefix(url, "ws")
	resp, err := http.Get(strings.TrimSuffix(httpURL, "/announce") + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st map[string]any
	json.NewDecoder(resp.Body).Decode(&st)
	for k, want := range map[string]int{"swarms": 1, "peers": 1, "seeders": 1, "connections": 1, "messages": 1} {
		if num(st[k]) != want {
			t.Errorf("stats %s = %v, want %d (%v)", k, st[k], want, st)
		}
	}
	for _, k := range []string{"messages_per_second", "bytes_in", "bytes_out"} {
		if _, ok := st[k]; !ok {
			t.Errorf("stats lack %s", k)
		}
	}
	if num(st["bytes_in"]) == 0 || num(st["bytes_out"]) == 0 {
		t.Errorf("no bytes counted: %v", st)
	}
	plain, err := http.Get(httpURL)
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("plain GET: %s", plain.Status)
	}
}

func TestMessagesPerSecond(t *testing.T) {
	tr, url := startTracker(t, Config{})
	c := dial(t, url)
	for i := range 5 {
		c.join(testID(byte(i)), testID(2), nil)
	}
	wait.For(t, "a rate sample", 5*time.Second, func() bool { return tr.Stats().MessagesPerSecond > 0 })
}

// TestRelaySizes relays offers from tiny to the 64 KiB limit and checks each arrives intact
// (frames below, at and above the 256-byte write buffer, one at a time and in bursts).
func TestRelaySizes(t *testing.T) {
	_, url := startTracker(t, Config{MessageRate: -1})
	ih := testID(1)
	a, b := dial(t, url), dial(t, url)
	b.join(ih, testID(3), nil)
	a.join(ih, testID(2), nil)
	sizes := []int{0, 1, 100, 180, 181, 182, 183, 200, 250, 300, 4000, 16384, 40000, 64000}
	for _, n := range sizes {
		a.send(announceMsg(ih, testID(2), map[string]any{"offers": offers(1, n, 0)}))
	}
	for _, n := range sizes {
		if r := a.recv(); r["failure reason"] != nil {
			t.Fatalf("size %d: %v", n, r)
		}
		m := b.recv()
		sdp, _ := m["offer"].(map[string]any)["sdp"].(string)
		if len(sdp) != n+6 || !strings.HasPrefix(sdp, "v=0\r\n") || !strings.HasSuffix(sdp, "A") {
			t.Fatalf("size %d arrived as %d bytes: %.40q…", n, len(sdp), sdp)
		}
	}
}
