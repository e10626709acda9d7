package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// Issue 15 in Firefox ESR as shipped: a signed revision 2 reaches a returning Firefox visitor from the
// Go seeder while the origin is down (only its tracker answers). This is WebCrypto Ed25519 (the worker
// and the agent check the envelope), the agent's ut_planktos and its joins by infohash, all in Gecko.
//
// The return, as in TestSignedUpdateFromSeeder: Firefox restarted on the visitor's profile opens the
// home page; the worker answers from the store (revision 1); the page's agent meets the seeder, is
// offered its envelope and fetches it; the worker checks it, adopts revision 2 and tells the page, which
// the visitor has not used and so reloads into revision 2 (agent/revision.js). Until then the test reads
// the page only with evalUntouched: the driver's eval gives the page a user activation, as a click
// would, and a page polled with it never reloaded (3 runs in 3, 60 s each); with evalUntouched it
// reloads about 1 s after the return.

// TestFirefoxSignedUpdate is TestSignedUpdateFromSeeder with visitor A in Firefox ESR: A stores
// revision 1; the owner publishes revision 2; the Go seeder follows the package; the origin goes down;
// A returns and its page reloads itself into revision 2. Then A's new page and image load from peers,
// its worker runs revision 2 from a peer, the seeder sent the envelope and the new files, the origin
// answered A nothing, and A's console is clean.
func TestFirefoxSignedUpdate(t *testing.T) {
	needFirefox(t)
	s := newSignedSite(t, "")
	profileA := ffFirstVisit(t, s, "A")
	rev2 := publishRev2(t, s)
	sd := seedSigned(t, s.dir, rev2)
	s.o.log()
	originDown(s.o)

	a := newFirefox(t, profileA, firefoxUA("A"))
	start := time.Now()
	a.open("/")
	var used bool
	if err := a.evalUntouched(`navigator.userActivation.hasBeenActive`, &used); err != nil || used {
		t.Fatalf("A's page counts as used before the test touched it: %v %v", used, err)
	}
	if !poll.Until(60*time.Second, func() bool {
		var ok bool
		return a.evalUntouched(`!!document.getElementById('rev2')`, &ok) == nil && ok
	}) {
		var st any
		a.evalUntouched(`window.planktos && window.planktos.stats ? window.planktos.stats() : null`, &st)
		t.Fatalf("A's untouched page did not show revision 2 within 60 s; stats %s; console %q", jsonOf(st), a.consoleErrors())
	}
	shown := time.Since(start)
	var nav string
	a.mustEval(`performance.getEntriesByType('navigation')[0].type`, &nav)
	if nav != "reload" {
		t.Errorf("A's page shows revision 2 after a navigation of type %q, want its own reload", nav)
	}
	fromPeers := rev2Loads(t, s, a, "A", rev2)
	ffConsole(t, a, "A's return")
	st := sd.Stats()
	if st.Uploaded < newFiles(rev2) {
		t.Errorf("the seeder uploaded %d bytes, want ≥ %d (revision 2's new files)", st.Uploaded, newFiles(rev2))
	}
	sentEnvelope(t, sd, rev2)
	t.Logf("%s: A's return: revision 2 shown %v after it (its page reloaded itself); A got %d bytes from peers; "+
		"the seeder uploaded %d, exchange %+v", a.version, shown.Round(time.Millisecond), fromPeers, st.Uploaded, *st.Site)
	a.close()
}

// ffFirstVisit is signedSite.firstVisit in Firefox: a fresh profile loads the site, stores all of it,
// holds the origin's signed manifest, and quits. It returns the profile to come back with.
func ffFirstVisit(t *testing.T, s *signedSite, name string) (profile string) {
	t.Helper()
	profile = t.TempDir()
	f := newFirefox(t, profile, firefoxUA(name))
	f.installed("/", s.pkg.storable())
	var st signedStats
	f.waitFor(fmt.Sprintf("%s's manifest of sequence %d", name, s.pkg.Sequence), 20*time.Second, func() bool {
		var ok bool
		st, ok = f.signedStats()
		return ok && st.Manifest.Sequence == s.pkg.Sequence
	})
	if st.Manifest.From != "origin" {
		t.Errorf("%s's manifest came from %q, want origin", name, st.Manifest.From)
	}
	ffConsole(t, f, name+"'s first visit")
	f.close()
	return profile
}

// signedStats is browser.signedStats for Firefox: ok is false while the page has no stats.
func (f *firefox) signedStats() (s signedStats, ok bool) {
	err := f.eval(`window.planktos && window.planktos.stats ? window.planktos.stats() : null`, &s)
	return s, err == nil && s.Manifest.Revision != ""
}

// hasElement is browser.hasElement for Firefox.
func (f *firefox) hasElement(id string) bool {
	var ok bool
	return f.eval(fmt.Sprintf(`!!document.getElementById(%q)`, id), &ok) == nil && ok
}

// evalUntouched is eval without a user activation (the driver's "activate": false): the page still
// counts as not used. expr must be an expression.
func (f *firefox) evalUntouched(expr string, out any) error {
	m, err := f.call(map[string]any{"op": "eval", "expr": expr, "activate": false}, 60*time.Second)
	if err != nil {
		return err
	}
	return json.Unmarshal(m.Value, out)
}
