package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkgmanifest "github.com/planktos/planktos/manifest"
)

// Signed manifests a visitor must refuse (issue 15, "Rejected"). Each test has one bed: a signed site on
// revision 1, and visitor A with all of it stored, holding the origin's signed manifest, its agent
// running in its first tab. For each case a fresh peer B (a real Chromium on the same site, same pinned
// key) meets A; once B's own offer has reached A (the ut_planktos wire is up), the origin goes down for
// everyone but the tracker, and B's agent offers bad bytes (planktosAgent.exchange.hold). The test waits
// on A's counters — the agent's exchange or the worker's refusals, never a sleep — then requires that A
// is still on revision 1 and that its about page loads, revision 1's, with a clean console.

// rejectBed is one test's signed site, the revision 2 its owner packaged (in a copy of the folder, served
// by nobody), and visitor A: a keeps A's agent, at is the tab that navigates.
type rejectBed struct {
	*signedSite
	rev1, rev2 signedPackage
	a, at      *browser
	peers      int // the peers started so far, to name them
}

// rejectAbout is the page revision 2 changes: the element id only revision 2's about page has.
const rejectAbout = "rejected-revision-two"

func newRejectBed(t *testing.T) *rejectBed {
	t.Helper()
	r := &rejectBed{signedSite: newSignedSite(t, "")}
	r.rev1 = r.pkg
	dir2 := filepath.Join(t.TempDir(), "rev2")
	if err := os.CopyFS(dir2, os.DirFS(r.dir)); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir2, "about", "index.html")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, page, bytes.Replace(html, []byte("</body>"), []byte(`<p id="`+rejectAbout+`">revision two</p></body>`), 1))
	pack(t, dir2, "/", r.key.config(""))
	r.rev2 = readSigned(t, dir2, r.key)
	if r.rev2.Sequence <= r.rev1.Sequence || r.rev2.Revision == r.rev1.Revision {
		t.Fatalf("revision 2 has sequence %d after %d", r.rev2.Sequence, r.rev1.Sequence)
	}

	r.a = newBrowser(t, "", uaTag("A"))
	r.a.installed("/", r.rev1.storable())
	if st := r.a.waitSequence(r.rev1.Sequence, 20*time.Second); st.Manifest.From != "origin" {
		t.Fatalf("A's manifest came from %q, want origin", st.Manifest.From)
	}
	r.at = r.a.tab()
	return r
}

// resigned is the envelope of m (a copy of a package's manifest) changed by edit, sealed, encoded and
// signed with priv: the signature, then the manifest's exact bytes.
func resigned(t *testing.T, m manifest, priv ed25519.PrivateKey, edit func(*pkgmanifest.Manifest)) []byte {
	t.Helper()
	c := *m.Manifest
	c.Files = make(map[string]pkgmanifest.Entry, len(m.Files))
	for k, v := range m.Files {
		c.Files[k] = v
	}
	edit(&c)
	if err := c.Seal(); err != nil {
		t.Fatal(err)
	}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return pkgmanifest.Envelope(ed25519.Sign(priv, b), b)
}

// withSequence is the edit that gives a manifest sequence n.
func withSequence(n int64) func(*pkgmanifest.Manifest) {
	return func(m *pkgmanifest.Manifest) { m.Sequence = n }
}

// aCounts is what A's counters say now (waiting out a reload of A's agent page).
func (r *rejectBed) aCounts() signedStats {
	r.t.Helper()
	var s signedStats
	r.a.waitFor("A's stats", 20*time.Second, func() bool {
		var ok bool
		s, ok = r.a.signedStats()
		return ok && s.Agent != nil
	})
	return s
}

// rejectPeer is a peer B of one case, and A's count of offers received before B started (B is A's only
// peer then: the previous case's B has quit).
type rejectPeer struct {
	b      *browser
	aStart int
}

// exchangeOf is b's agent's ut_planktos counters (zero while its page reloads).
func exchangeOf(b *browser) exchangeStats {
	if s, ok := b.signedStats(); ok && s.Agent != nil {
		return s.Agent.Exchange
	}
	return exchangeStats{}
}

// caughtUp: A has received every offer B sent so far (B's offers all go to A, its only peer).
func (p rejectPeer) caughtUp(a exchangeStats) bool {
	return a.OffersReceived-p.aStart >= exchangeOf(p.b).OffersSent
}

// peer starts a fresh browser B on the site (origin up), and waits until B's own signed manifest has
// reached A over ut_planktos and A's has reached B: they are connected and both speak the extension.
// Then the origin goes down for everyone (the tracker stays up).
func (r *rejectBed) peer() rejectPeer {
	r.t.Helper()
	r.o.setRefuse(nil)
	r.peers++
	name := "B" + string(rune('0'+r.peers))
	p := rejectPeer{aStart: exchangeOf(r.a).OffersReceived}
	p.b = newBrowser(r.t, "", uaTag(name))
	p.b.open("/")
	var ok bool
	p.b.mustEval(`window.planktos.ready`, &ok)
	p.b.waitSequence(r.rev1.Sequence, 20*time.Second)
	r.a.waitFor(name+" and A to offer each other their manifest", 30*time.Second, func() bool {
		a := exchangeOf(r.a)
		return a.OffersReceived > p.aStart && exchangeOf(p.b).OffersReceived > 0 && p.caughtUp(a)
	})
	originDown(r.o)
	r.o.log()
	return p
}

// offer has a fresh peer offer env as sequence seq, and waits until A has dealt with it: done says so
// from A's counters before and now, and B's.
func (r *rejectBed) offer(key string, seq int64, env []byte, what string, done func(p rejectPeer, before, now signedStats) bool) (before, now signedStats) {
	r.t.Helper()
	p := r.peer()
	defer p.b.close() // then A is on its own again: what it shows next comes from its own store
	before = r.aCounts()
	p.b.holdEnvelope(key, seq, env)
	r.a.waitFor(what, 30*time.Second, func() bool {
		var ok bool
		now, ok = r.a.signedStats()
		return ok && now.Agent != nil && done(p, before, now)
	})
	r.t.Logf("%s: A's exchange %+v, worker refused %v adopted %d", what, now.Agent.Exchange, now.Signed.Refused, now.Signed.Adopted)
	return before, now
}

// refusedOne: A's agent refused the envelope, or its worker did (any reason).
func refusedOne(_ rejectPeer, before, now signedStats) bool {
	return now.Agent.Exchange.Refused > before.Agent.Exchange.Refused || now.refused() > before.refused()
}

// offeredAll: every offer B sent has reached A (A has no reason to fetch it).
func offeredAll(p rejectPeer, _, now signedStats) bool { return p.caughtUp(now.Agent.Exchange) }

// stays requires A still on revision 1 (from the origin), and its about page revision 1's: rendered,
// styled, without revision 2's element, and no console error on either of A's tabs.
func (r *rejectBed) stays(t *testing.T) {
	t.Helper()
	st, ok := r.a.signedStats()
	if !ok || st.Manifest.Revision != r.rev1.Revision || st.Manifest.Sequence != r.rev1.Sequence || st.Manifest.From != "origin" {
		t.Errorf("A's manifest is %+v, want revision %.12s sequence %d from the origin", st.Manifest, r.rev1.Revision, r.rev1.Sequence)
	}
	r.aboutIsRev1(t)
	if st.Signed.Adopted != 0 {
		t.Errorf("A's worker adopted %d manifests from peers", st.Signed.Adopted)
	}
}

// aboutIsRev1 opens the about page in A's second tab and requires revision 1's page, byte for byte and
// rendered, and a clean console on both of A's tabs but for lines that contain one of allowed.
func (r *rejectBed) aboutIsRev1(t *testing.T, allowed ...string) {
	t.Helper()
	r.at.open("/about/")
	var p rendered
	r.at.mustEval(renderJS, &p)
	if p.Title == "" || !p.Styled || len(p.Broken) > 0 {
		t.Errorf("A's about page did not render: %+v", p)
	}
	var got struct {
		Status int    `json:"status"`
		Source string `json:"source"`
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	}
	r.at.mustEval(hashJS+`('/about/')`, &got)
	if want := r.rev1.Files["about/index.html"].SHA256; got.Status != 200 || got.SHA256 != want || r.at.hasElement(rejectAbout) {
		t.Errorf("A's about page: %+v, want revision 1's (%.12s)", got, want)
	} else {
		t.Logf("A's about page is revision 1's, from %s", got.Source)
	}
	for _, b := range []*browser{r.a, r.at} {
		for _, c := range pageErrors(b.consoleErrors()) {
			if containsAny(c, allowed) {
				t.Logf("A's console, as expected: %q", c)
			} else {
				t.Errorf("A's console: %q", c)
			}
		}
	}
	noAnswerSince(t, r.o, "A")
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// A manifest signed by another key: one that names its own key (another site, or an attacker's), and
// revision 2's exact bytes (naming the site's key) with another key's signature.
func TestSignedRejectOtherKey(t *testing.T) {
	r := newRejectBed(t)
	_, other, _ := ed25519.GenerateKey(nil)
	pub := pkgmanifest.EncodeKey(other.Public().(ed25519.PublicKey))
	cases := []struct {
		name string
		env  []byte
	}{
		{"its own key", resigned(t, r.rev2.manifest, other, func(m *pkgmanifest.Manifest) { m.Key = pub })},
		{"the site's key named", pkgmanifest.Envelope(ed25519.Sign(other, r.rev2.Bytes), r.rev2.Bytes)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r.offer(r.key.encoded(), r.rev2.Sequence, c.env, "A to refuse a manifest signed by another key", refusedOne)
			r.stays(t)
		})
	}
}

// A lower or an equal sequence, revision 2's content re-signed with the site's key. A lower one offered
// as what it is: A has no reason to fetch it, and does not (no request). Both offered as newer than A's
// (a peer that lies in its offer): A fetches, checks, and refuses them on the manifest's own sequence.
// An equal sequence offered as what it is cannot be sent: a peer offers a sequence once per wire, and B
// offered A's sequence (its own genuine manifest) when they met; A ignored that one (rejectBed.peer).
func TestSignedRejectSequence(t *testing.T) {
	r := newRejectBed(t)
	s1 := r.rev1.Sequence
	cases := []struct {
		name    string
		seq     int64 // the manifest's
		offered int64 // the offer's
		done    func(p rejectPeer, before, now signedStats) bool
	}{
		{"lower", s1 - 1, s1 - 1, offeredAll},
		{"lower offered as newer", s1 - 1, r.rev2.Sequence, refusedOne},
		{"equal offered as newer", s1, r.rev2.Sequence, refusedOne},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := resigned(t, r.rev2.manifest, r.key.Priv, withSequence(c.seq))
			before, now := r.offer(r.key.encoded(), c.offered, env, "A to deal with an offer of sequence "+c.name, c.done)
			if c.offered <= s1 && now.Agent.Exchange.Requests > before.Agent.Exchange.Requests {
				t.Errorf("A requested an envelope offered with sequence %d while it has %d: %+v", c.offered, s1, now.Agent.Exchange)
			}
			r.stays(t)
		})
	}
}

// A valid signature over different bytes: revision 2's own signature, over its manifest with the about
// page pointed at another file's content.
func TestSignedRejectAlteredBytes(t *testing.T) {
	r := newRejectBed(t)
	about, other := r.rev2.Files["about/index.html"].SHA256, r.rev2.Files["index.html"].SHA256
	altered := bytes.Replace(r.rev2.Bytes, []byte(about), []byte(other), 1)
	if bytes.Equal(altered, r.rev2.Bytes) {
		t.Fatal("revision 2's manifest has no about page to alter")
	}
	r.offer(r.key.encoded(), r.rev2.Sequence, pkgmanifest.Envelope(r.rev2.Sig, altered),
		"A to refuse revision 2's signature over altered bytes", refusedOne)
	r.stays(t)
}

// An unsigned manifest offered to a visitor that pinned a key: revision 2 as an unsigned package writes
// it (no key, no sequence) behind a signature of zeros, and the same bytes signed by the site's key (the
// signature verifies, the manifest does not name the key).
func TestSignedRejectUnsigned(t *testing.T) {
	r := newRejectBed(t)
	unsigned := resigned(t, r.rev2.manifest, r.key.Priv, func(m *pkgmanifest.Manifest) { m.Key, m.Sequence = "", 0 })
	zeros := append(make([]byte, ed25519.SignatureSize), unsigned[ed25519.SignatureSize:]...)
	for _, c := range []struct {
		name string
		env  []byte
	}{{"no signature", zeros}, {"signed by the site's key", unsigned}} {
		t.Run(c.name, func(t *testing.T) {
			r.offer(r.key.encoded(), r.rev2.Sequence, c.env, "A to refuse an unsigned manifest", refusedOne)
			r.stays(t)
		})
	}
}

// A manifest whose files do not match their hashes: revision 1's, re-signed with the site's key and a
// greater sequence, with the about page's entry pointing at a hash no peer can supply for it — one no file
// has (its size unchanged), or another page's content (the home page's hash, the about page's size) — and
// the origin down. The runtime may adopt it (the signature and sequence are good) or refuse it; either way
// A's about page still loads, revision 1's: the worker falls back to the previous revision's stored copy.
// Each case has its own bed: after an adoption, A's fallback is the manifest it replaced.
func TestSignedRejectBadFiles(t *testing.T) {
	sum := sha256.Sum256([]byte("planktos e2e: content no peer has"))
	for _, c := range []struct {
		name string
		sha  func(m *pkgmanifest.Manifest) string
	}{
		{"a hash no file has", func(*pkgmanifest.Manifest) string { return hex.EncodeToString(sum[:]) }},
		{"another page's hash", func(m *pkgmanifest.Manifest) string { return m.Files["index.html"].SHA256 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRejectBed(t)
			var sha string
			env := resigned(t, r.rev1.manifest, r.key.Priv, func(m *pkgmanifest.Manifest) {
				e := m.Files["about/index.html"]
				e.SHA256, sha = c.sha(m), c.sha(m)
				m.Files["about/index.html"] = e
				m.Sequence = r.rev1.Sequence + 1
			})
			_, now := r.offer(r.key.encoded(), r.rev1.Sequence+1, env, "A to adopt or refuse a manifest whose about page no peer can supply",
				func(p rejectPeer, before, now signedStats) bool {
					return refusedOne(p, before, now) || now.Signed.Adopted > before.Signed.Adopted
				})
			t.Logf("the about page's entry now: %.12s, %d bytes", sha, r.rev1.Files["about/index.html"].Size)
			if now.Signed.Adopted > 0 {
				t.Logf("A adopted it (sequence %d from %s): the about page must come from revision 1's stored copy", now.Manifest.Sequence, now.Manifest.From)
			}
			// the agent's prefetch tries the origin for a file no peer has, as its last resort: Chromium
			// logs the failure of that one URL
			r.aboutIsRev1(t, "/planktos/files/"+sha)
		})
	}
}

// The worker checks again what its agent hands it (op adopt), whatever the agent let through: A's agent
// page gives each bad envelope straight to A's worker (exchange.onAdopt, as an agent with a bug would),
// and the worker refuses it, counting the reason — also an equal sequence, which no peer's offer can
// bring this far (TestSignedRejectSequence).
func TestSignedRejectAtWorker(t *testing.T) {
	r := newRejectBed(t)
	_, other, _ := ed25519.GenerateKey(nil)
	unsigned := resigned(t, r.rev2.manifest, r.key.Priv, func(m *pkgmanifest.Manifest) { m.Key, m.Sequence = "", 0 })
	altered := bytes.Replace(r.rev2.Bytes, []byte(r.rev2.Files["about/index.html"].SHA256), []byte(r.rev2.Files["index.html"].SHA256), 1)
	cases := []struct {
		name, reason string
		env          []byte
	}{
		{"another key", "signature", pkgmanifest.Envelope(ed25519.Sign(other, r.rev2.Bytes), r.rev2.Bytes)},
		{"altered bytes", "signature", pkgmanifest.Envelope(r.rev2.Sig, altered)},
		{"no signature", "signature", append(make([]byte, ed25519.SignatureSize), unsigned[ed25519.SignatureSize:]...)},
		{"unsigned, signed by the site's key", "invalid", unsigned},
		{"lower sequence", "sequence", resigned(t, r.rev2.manifest, r.key.Priv, withSequence(r.rev1.Sequence-1))},
		{"equal sequence", "sequence", resigned(t, r.rev2.manifest, r.key.Priv, withSequence(r.rev1.Sequence))},
	}
	originDown(r.o)
	r.o.log()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := r.aCounts()
			var ok bool
			r.a.mustEval(fmt.Sprintf(`(window.planktosAgent.exchange.onAdopt(Uint8Array.from(atob(%q), c => c.charCodeAt(0)).buffer), true)`,
				base64.StdEncoding.EncodeToString(c.env)), &ok)
			r.a.waitFor("A's worker to refuse it for "+c.reason, 20*time.Second, func() bool {
				now, ok := r.a.signedStats()
				return ok && now.Signed.Refused[c.reason] > before.Signed.Refused[c.reason]
			})
			r.stays(t)
		})
	}
}
