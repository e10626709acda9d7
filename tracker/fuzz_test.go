package tracker

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks the hand-written parser against encoding/json: it never panics, accepts only
// valid UTF-8 JSON, accepts every valid JSON object (within maxDepth), and reads the same fields as
// a straightforward encoding/json implementation of the protocol. The seed corpus is in
// testdata/fuzz/FuzzParse and runs with every `go test`.
func FuzzParse(f *testing.F) {
	f.Add([]byte(js(announceMsg(testID(1), testID(2), map[string]any{"offers": offers(2, 40, 0)}))))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parse(b)
		valid := json.Valid(b) && utf8.Valid(b)
		object := valid && bytes.TrimLeft(b, " \t\r\n")[0] == '{'
		switch {
		case errors.Is(err, errTooDeep):
			return
		case errors.Is(err, errSyntax):
			if object {
				t.Fatalf("valid JSON object refused: %q", b)
			}
			return
		case !object:
			t.Fatalf("accepted %q (valid JSON %v)", b, valid)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if e := d.Decode(&m); e != nil {
			t.Fatalf("encoding/json: %v", e)
		}
		want, wantErr := reference(m)
		if (err != nil) != (wantErr != "") || err != nil && !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%q: error %v, reference %q", b, err, wantErr)
		}
		if err == nil {
			compare(t, b, r, want)
		}
	})
}

// refRequest is what the reference reads; offers and answer are decoded JSON.
type refRequest struct {
	request
	offerVals []any
	answerVal any
}

// reference implements the message rules on encoding/json's decoding; the error is a substring of
// the failure reason.
func reference(m map[string]any) (refRequest, string) {
	var r refRequest
	action, ok := m["action"].(string)
	if !ok {
		return r, "invalid action"
	}
	r.action = action
	switch action {
	case "scrape":
		return r, refScrape(m, &r)
	case "announce":
	default:
		return r, "invalid action"
	}
	var bad bool
	if r.infoHash, bad = refID(m["info_hash"]); bad {
		return r, "invalid info_hash"
	}
	if r.peerID, bad = refID(m["peer_id"]); bad {
		return r, "invalid peer_id"
	}
	r.event, _ = m["event"].(string)
	r.seeder = refZero(m["left"])
	if a, ok := m["answer"]; ok && a != nil {
		return r, refAnswer(m, &r)
	}
	return r, refOffers(m["offers"], &r)
}

func refAnswer(m map[string]any, r *refRequest) string {
	var bad bool
	if _, ok := m["answer"].(map[string]any); !ok {
		return "invalid answer"
	}
	r.answerVal = m["answer"]
	if r.toPeerID, bad = refID(m["to_peer_id"]); bad {
		return "to_peer_id"
	}
	if r.offerID, bad = refID(m["offer_id"]); bad {
		return "offer_id"
	}
	return ""
}

func refOffers(v any, r *refRequest) string {
	if v == nil {
		return ""
	}
	list, ok := v.([]any)
	if !ok {
		return "invalid offers"
	}
	for _, o := range list {
		om, ok := o.(map[string]any)
		if !ok {
			return "invalid offers"
		}
		oid, bad := refID(om["offer_id"])
		if _, isObj := om["offer"].(map[string]any); bad || !isObj {
			return "invalid offers"
		}
		r.offers = append(r.offers, offer{id: oid})
		r.offerVals = append(r.offerVals, om["offer"])
	}
	return ""
}

func refScrape(m map[string]any, r *refRequest) string {
	switch v := m["info_hash"].(type) {
	case nil:
	case string:
		ih, bad := refID(v)
		if bad {
			return "invalid info_hash"
		}
		r.infoHashes = []ID{ih}
	case []any:
		for _, x := range v {
			ih, bad := refID(x)
			if bad {
				return "invalid info_hash"
			}
			r.infoHashes = append(r.infoHashes, ih)
		}
	default:
		return "invalid info_hash"
	}
	return ""
}

func refID(v any) (id ID, bad bool) {
	s, ok := v.(string)
	if !ok || utf8.RuneCountInString(s) != 20 {
		return id, true
	}
	i := 0
	for _, c := range s {
		if c > 0xFF {
			return id, true
		}
		id[i] = byte(c)
		i++
	}
	return id, false
}

func refZero(v any) bool {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f == 0
}

func compare(t *testing.T, b []byte, got request, want refRequest) {
	t.Helper()
	g := got
	g.offers, g.answer, g.hasIH = nil, nil, false
	w := want.request
	w.offers = nil
	if len(g.infoHashes) == 0 {
		g.infoHashes = nil
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%q:\n got %+v\nwant %+v", b, g, w)
	}
	if len(got.offers) != len(want.offers) {
		t.Fatalf("%q: %d offers, want %d", b, len(got.offers), len(want.offers))
	}
	for i, o := range got.offers {
		if o.id != want.offers[i].id || !sameJSON(o.sdp, want.offerVals[i]) {
			t.Fatalf("%q: offer %d differs: %q", b, i, o.sdp)
		}
	}
	if (got.answer != nil) != (want.answerVal != nil) || got.answer != nil && !sameJSON(got.answer, want.answerVal) {
		t.Fatalf("%q: answer %q, want %v", b, got.answer, want.answerVal)
	}
}

func sameJSON(raw []byte, v any) bool {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var x any
	return d.Decode(&x) == nil && reflect.DeepEqual(x, v)
}
