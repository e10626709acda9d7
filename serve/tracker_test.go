package serve_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/planktos/planktos/serve"
	"github.com/planktos/planktos/tracker"
)

// TestServeTrackerWebSocket announces through serve's /announce with a real WebSocket client and expects
// the tracker's reply: the upgrade must reach the tracker unwrapped.
func TestServeTrackerWebSocket(t *testing.T) {
	tr := tracker.New(tracker.Config{})
	defer tr.Close()
	srv := httptest.NewServer(&serve.Handler{Dir: site(t), Tracker: tr, LocalTracker: true})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/announce", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	id := strings.Repeat("a", 20)
	msg := `{"action":"announce","info_hash":"` + id + `","peer_id":"` + strings.Repeat("b", 20) +
		`","numwant":5,"uploaded":0,"downloaded":0,"left":1,"event":"started","offers":[]}`
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, reply, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(reply), `"action":"announce"`) || !strings.Contains(string(reply), `"interval"`) {
		t.Errorf("reply %s", reply)
	}
	if st := tr.Stats(); st.Peers != 1 {
		t.Errorf("tracker has %d peers, want 1", st.Peers)
	}
}
