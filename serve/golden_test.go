package serve

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/planktos/planktos/manifest"
)

// TestWithTrackerGolden: the served manifest rewrite works on raw JSON keys; on the golden manifest it
// changes the trackers and prepends the STUN server, as the manifest package decodes them, and nothing else.
func TestWithTrackerGolden(t *testing.T) {
	b, err := os.ReadFile("../manifest/testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := manifest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	const announce, stun = "ws://127.0.0.1:9/announce", "stun:127.0.0.1:9"
	out, err := withTracker(strings.NewReader(string(b)), announce, stun)
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifest.Parse(out)
	if err != nil {
		t.Fatalf("the rewritten manifest does not parse: %v", err)
	}
	want.Trackers = []string{announce}
	want.Runtime.ICEServers = slices.Insert(want.Runtime.ICEServers, 0, manifest.ICEServer{URLs: []string{stun}})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rewritten manifest\n%+v\nwant\n%+v", got, want)
	}
}
