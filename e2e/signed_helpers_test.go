package e2e

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/planktos/planktos/internal/netns"
	pkgmanifest "github.com/planktos/planktos/manifest"
)

// Helpers for the signed-manifest tests (issue 15: signed_test.go, signed_reject_test.go).
//
// A signed site is packaged with a key from the real `planktos keygen` (signing_key in planktos.toml),
// served by `planktos serve`'s pieces (servePlanktos: for a signed manifest serve sends the exact bytes
// and carries its preview trackers in X-Planktos-* headers, so p2pOrigin's per-browser manifest
// rewriting must not be used: it would break the signature). "The origin goes down" is originDown:
// every request but the tracker's /announce is refused, so manifests can only travel between peers.

// signingKey is a site's Ed25519 key, made by `planktos keygen` in a folder of the test's own (never
// inside a publish folder: packaging refuses that).
type signingKey struct {
	File string             // the PEM (PKCS#8) file keygen wrote
	Pub  ed25519.PublicKey  // its public half, as pinned in planktos.sw.js
	Priv ed25519.PrivateKey // for tests that sign bytes themselves
}

// keygen runs `planktos keygen FILE` and reads the key back; keygen must print the public key.
func keygen(t *testing.T) signingKey {
	t.Helper()
	file := filepath.Join(t.TempDir(), "planktos.key")
	cmd := exec.Command(env.planktos, "keygen", file)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("planktos keygen: %v\n%s", err, out)
	}
	k := signingKey{File: file, Priv: readKeyFile(t, file)}
	k.Pub = k.Priv.Public().(ed25519.PublicKey)
	if !strings.Contains(string(out), k.encoded()) {
		t.Errorf("planktos keygen did not print the public key %s:\n%s", k.encoded(), out)
	}
	return k
}

// readKeyFile decodes a PEM "PRIVATE KEY" (PKCS#8) Ed25519 key file.
func readKeyFile(t *testing.T, file string) ed25519.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		t.Fatalf("%s: a %T, not an Ed25519 key", file, k)
	}
	return priv
}

// encoded is the key's text form (manifest.Key, the worker's pinned key).
func (k signingKey) encoded() string { return pkgmanifest.EncodeKey(k.Pub) }

// config is a planktos.toml that signs with k, then extra.
func (k signingKey) config(extra string) string {
	return fmt.Sprintf("signing_key = %q\n", k.File) + extra
}

// envelope signs manifest bytes with k: what a peer offers (manifest.Envelope).
func (k signingKey) envelope(b []byte) []byte {
	return pkgmanifest.Envelope(ed25519.Sign(k.Priv, b), b)
}

// signedPackage is a signed package's manifest with its exact bytes and raw signature.
type signedPackage struct {
	manifest
	Bytes []byte // planktos/manifest.json
	Sig   []byte // the 64 signature bytes decoded from planktos/manifest.sig
}

// readSigned reads the package in dir and requires it signed by k: a signature that verifies over the
// manifest's exact bytes, the manifest's Key k's, a positive Sequence.
func readSigned(t *testing.T, dir string, k signingKey) signedPackage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(pkgmanifest.Path)))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(pkgmanifest.SigPath)))
	if err != nil {
		t.Fatalf("the package is not signed: %v", err)
	}
	if err := pkgmanifest.Verify(k.Pub, b, sig); err != nil {
		t.Fatalf("%s: %v", pkgmanifest.SigPath, err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	p := signedPackage{manifest: readManifest(t, dir), Bytes: b, Sig: raw}
	if p.Key != k.encoded() || p.Sequence <= 0 {
		t.Fatalf("signed manifest has key %q and sequence %d, want key %s and a sequence > 0", p.Key, p.Sequence, k.encoded())
	}
	return p
}

// envelope is what a peer holding p offers: signature, then the manifest bytes.
func (p signedPackage) envelope() []byte { return pkgmanifest.Envelope(p.Sig, p.Bytes) }

// exchangeStats is the agent's ut_planktos counters (stats().agent.exchange) for the page's lifetime.
type exchangeStats struct {
	OffersSent     int   `json:"offersSent"`
	OffersReceived int   `json:"offersReceived"`
	Requests       int   `json:"requests"`
	BytesIn        int64 `json:"bytesIn"`
	BytesOut       int64 `json:"bytesOut"`
	Adopted        int   `json:"adopted"`
	Refused        int   `json:"refused"`
}

// signedStats is the signed-manifest part of planktos.stats(): the manifest in force and where it came
// from ('origin', 'peer' or 'stored'), what the worker adopted from peers and refused (by reason:
// signature, sequence, invalid, …), and the agent's exchange counters.
type signedStats struct {
	Manifest struct {
		Revision string `json:"revision"`
		Sequence int64  `json:"sequence"`
		From     string `json:"from"`
	} `json:"manifest"`
	Signed struct {
		Adopted int            `json:"adopted"`
		Refused map[string]int `json:"refused"`
	} `json:"signed"`
	Agent *struct {
		Peers    int           `json:"peers"`
		Exchange exchangeStats `json:"exchange"`
	} `json:"agent"`
}

// refused is how many manifests the worker refused, all reasons together.
func (s signedStats) refused() int {
	n := 0
	for _, v := range s.Signed.Refused {
		n += v
	}
	return n
}

// signedStats reads the page's planktos.stats(); ok is false while the page has none (it is loading or
// reloading: a peer's revision reloads an untouched page).
func (b *browser) signedStats() (s signedStats, ok bool) {
	err := b.eval(`window.planktos && window.planktos.stats ? window.planktos.stats() : null`, &s)
	return s, err == nil && s.Manifest.Revision != ""
}

// waitSequence waits until b's worker has the manifest of sequence seq in force, and returns its stats.
func (b *browser) waitSequence(seq int64, d time.Duration) signedStats {
	b.t.Helper()
	var s signedStats
	b.waitFor(fmt.Sprintf("the manifest of sequence %d in force", seq), d, func() bool {
		var ok bool
		s, ok = b.signedStats()
		return ok && s.Manifest.Sequence == seq
	})
	return s
}

// originDown takes o's web server down but its tracker: every request but /announce is dropped
// without an answer (the connection closes: what a browser sees of a server that is gone; a 403 or any
// status below 500 would tell the worker the origin is up). Visitors still meet, and only peers can
// bring a new manifest. Each dropped request is still logged, with status 0 and no byte.
func originDown(o *p2pOrigin) {
	o.setRefuse(func(string, string) bool { panic(http.ErrAbortHandler) })
}

// noAnswerSince fails the test for every request of browser who that the origin answered (any status,
// any byte) since the last call of o.log, and returns how many it dropped.
func noAnswerSince(t *testing.T, o *p2pOrigin, who string) (dropped int) {
	t.Helper()
	for _, h := range o.log() {
		if h.Browser != who {
			continue
		}
		if h.Status != 0 || h.Bytes > 0 {
			t.Errorf("after the cut the origin answered %s: %s %d (%d bytes)", who, h.Path, h.Status, h.Bytes)
		}
		dropped++
	}
	return dropped
}

// hasElement reports whether b's page has an element with id (false while the page is reloading).
func (b *browser) hasElement(id string) bool {
	var ok bool
	return b.eval(fmt.Sprintf(`!!document.getElementById(%q)`, id), &ok) == nil && ok
}

// painted is when b's page started loading (its navigation's time origin) and was first painted, in
// Unix ms (the browser's clock is the test's), and how it was navigated (navigate, reload, …).
type painted struct {
	Start float64 `json:"start"`
	Paint float64 `json:"paint"`
	Type  string  `json:"type"`
}

func (b *browser) painted() painted {
	b.t.Helper()
	var p painted
	b.mustEval(`(() => {
	  const p = performance.getEntriesByName('first-contentful-paint')[0];
	  const n = performance.getEntriesByType('navigation')[0];
	  return { start: performance.timeOrigin, paint: performance.timeOrigin + (p ? p.startTime : n.domContentLoadedEventEnd), type: n.type };
	})()`, &p)
	return p
}

// holdEnvelope makes b's agent offer env as the signed manifest of sequence seq under key (the agent's
// test hook planktosAgent.exchange.hold): a real browser acting as a peer with arbitrary bytes.
func (b *browser) holdEnvelope(key string, seq int64, env []byte) {
	b.t.Helper()
	var ok bool
	b.mustEval(fmt.Sprintf(`(async () => {
	  const bytes = Uint8Array.from(atob(%q), c => c.charCodeAt(0));
	  await window.planktosAgent.exchange.hold(%q, %d, bytes);
	  return true;
	})()`, base64.StdEncoding.EncodeToString(env), key, seq), &ok)
}

// planktosErrors keeps the console lines planktos itself logged, or uncaught errors.
func planktosErrors(c []string) []string {
	var out []string
	for _, s := range pageErrors(c) {
		if strings.Contains(s, "planktos") || strings.Contains(s, "Uncaught") {
			out = append(out, s)
		}
	}
	return out
}

// signedSite is a test's signed testsite: its key, its package folder (packaged at the origin's "/"),
// the origin serving it, and the package now in the folder.
type signedSite struct {
	t   *testing.T
	key signingKey
	dir string
	o   *p2pOrigin
	pkg signedPackage
}

// newSignedSite makes a key with keygen, packages the testsite signed (planktos.toml: signing_key, then
// extra) and serves it. Its browsers open WebRTC: the test runs inside scripts/netns.sh.
func newSignedSite(t *testing.T, extra string) *signedSite {
	t.Helper()
	netns.Need(t)
	needChromium(t) // before keygen: skip (or, in CI, fail) before running anything
	if env.err != nil {
		t.Fatalf("e2e environment: %v", env.err)
	}
	s := &signedSite{t: t, key: keygen(t)}
	s.dir = packedSite(t, "/", s.key.config(extra))
	s.pkg = readSigned(t, s.dir, s.key)
	s.o = servePlanktos(t, s.dir)
	return s
}

// repack packages the folder again (the owner publishes), signed, with extra in planktos.toml, and
// requires a new revision with a greater sequence.
func (s *signedSite) repack(extra string) signedPackage {
	s.t.Helper()
	prev := s.pkg
	pack(s.t, s.dir, "/", s.key.config(extra))
	s.pkg = readSigned(s.t, s.dir, s.key)
	if s.pkg.Revision == prev.Revision || s.pkg.Sequence <= prev.Sequence {
		s.t.Fatalf("repackaged: revision %.12s sequence %d after %.12s sequence %d, want a new revision and a greater sequence",
			s.pkg.Revision, s.pkg.Sequence, prev.Revision, prev.Sequence)
	}
	return s.pkg
}

// firstVisit is a visitor's first visit: a fresh browser tagged name loads the site, stores all of it
// and holds the origin's signed manifest; then it quits. It returns the profile to come back with.
func (s *signedSite) firstVisit(name string) (profile string) {
	s.t.Helper()
	profile = s.t.TempDir()
	b := newBrowser(s.t, profile, uaTag(name))
	b.installed("/", s.pkg.storable())
	if st := b.waitSequence(s.pkg.Sequence, 20*time.Second); st.Manifest.From != "origin" {
		s.t.Errorf("%s's manifest came from %q, want origin", name, st.Manifest.From)
	}
	b.close()
	return profile
}

// returning starts the browser of a visitor who came before (profile from firstVisit) again; it has
// opened no page yet.
func (s *signedSite) returning(name, profile string) *browser {
	s.t.Helper()
	return newBrowser(s.t, profile, uaTag(name))
}
