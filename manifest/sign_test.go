package manifest_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"testing"

	"github.com/planktos/planktos/manifest"
)

// goldenKey is testdata/golden.key, the test-only key whose public half is golden.json's key.
func goldenKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	blk, _ := pem.Decode(readFile(t, "testdata/golden.key"))
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(ed25519.PrivateKey)
}

// TestSignGolden: testdata/golden.sig is golden.key's signature over golden.json's exact bytes
// (runtime/test/exchange.test.js verifies the same with WebCrypto); a changed byte or another key fails.
func TestSignGolden(t *testing.T) {
	priv := goldenKey(t)
	b := readFile(t, "testdata/golden.json")
	if *update {
		if err := os.WriteFile("testdata/golden.sig", manifest.Sign(priv, b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sig := readFile(t, "testdata/golden.sig")
	pub, err := manifest.ParseKey(golden().Key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pub, priv.Public().(ed25519.PublicKey)) {
		t.Fatal("golden.json's key is not golden.key's")
	}
	if err := manifest.Verify(pub, b, sig); err != nil {
		t.Fatalf("golden.sig: %v (run go test ./manifest -update)", err)
	}
	changed := bytes.Replace(b, []byte(`"visited"`), []byte(`"all"`), 1)
	if err := manifest.Verify(pub, changed, sig); !errors.Is(err, manifest.ErrBadSignature) {
		t.Errorf("a changed manifest verified: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := manifest.Verify(other, b, sig); !errors.Is(err, manifest.ErrBadSignature) {
		t.Errorf("another key verified: %v", err)
	}
	if err := manifest.Verify(pub, b, []byte("not base64!\n")); err == nil {
		t.Error("a malformed signature file verified")
	}
}

// exchangeGolden is testdata/exchange.json: the site swarm of golden.json's key and one ut_planktos
// message of each type, as hex, for runtime/test/exchange.test.js.
type exchangeGolden struct {
	SiteSwarm string            `json:"siteSwarm"`
	Messages  map[string]string `json:"messages"`
}

func goldenMessages() map[string]manifest.Message {
	const seq = 1764633600000
	return map[string]manifest.Message{
		"offer":   {Type: manifest.MsgOffer, Sequence: seq, Size: 70000},
		"request": {Type: manifest.MsgRequest, Sequence: seq, Piece: 4},
		"data":    {Type: manifest.MsgData, Sequence: seq, Piece: 0, Size: 70000, Data: []byte("piece bytes")},
		"reject":  {Type: manifest.MsgReject, Sequence: seq, Piece: 4},
	}
}

// TestExchangeGolden: the Go codec writes testdata/exchange.json's bytes and reads them back.
func TestExchangeGolden(t *testing.T) {
	pub, _ := manifest.ParseKey(golden().Key)
	want := exchangeGolden{SiteSwarm: manifest.SiteSwarm(pub), Messages: map[string]string{}}
	for name, m := range goldenMessages() {
		b, err := manifest.EncodeMessage(m)
		if err != nil {
			t.Fatal(err)
		}
		want.Messages[name] = hex.EncodeToString(b)
	}
	if *update {
		b, _ := json.MarshalIndent(want, "", " ")
		if err := os.WriteFile("testdata/exchange.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got exchangeGolden
	if err := json.Unmarshal(readFile(t, "testdata/exchange.json"), &got); err != nil {
		t.Fatal(err)
	}
	if got.SiteSwarm != want.SiteSwarm {
		t.Errorf("siteSwarm %s, SiteSwarm computes %s", got.SiteSwarm, want.SiteSwarm)
	}
	for name, m := range goldenMessages() {
		if got.Messages[name] != want.Messages[name] {
			t.Errorf("%s: exchange.json has %s, EncodeMessage writes %s (run go test ./manifest -update)",
				name, got.Messages[name], want.Messages[name])
		}
		raw, _ := hex.DecodeString(got.Messages[name])
		back, err := manifest.DecodeMessage(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.Type != m.Type || back.Sequence != m.Sequence || back.Piece != m.Piece || back.Size != m.Size ||
			!bytes.Equal(back.Data, m.Data) {
			t.Errorf("%s decodes to %+v, want %+v", name, back, m)
		}
	}
	if _, err := manifest.DecodeMessage([]byte("d8:msg_typei0e8:sequencei-1ee")); err == nil {
		t.Error("a negative sequence decoded")
	}
	if _, err := manifest.DecodeMessage([]byte("junk")); err == nil {
		t.Error("junk decoded")
	}
}
