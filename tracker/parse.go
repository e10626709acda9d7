package tracker

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// request is one client message, parsed and checked.
type request struct {
	action     string // "announce" or "scrape"; set whenever it was readable
	infoHash   ID     // announce; also set on errors once readable (hasIH)
	hasIH      bool
	infoHashes []ID // scrape; empty means every swarm
	peerID     ID
	event      string
	seeder     bool    // left is 0
	offers     []offer // announce with offers
	answer     []byte  // raw JSON object; nil unless this is an answer
	toPeerID   ID      // with answer
	offerID    ID      // with answer
}

// offer is one WebRTC offer to relay; sdp is the raw JSON object the client sent.
type offer struct {
	id  ID
	sdp []byte
}

// fields holds the spans of the members the tracker reads, before their meaning is checked.
type fields struct {
	action, infoHash, peerID, toPeerID, offerID, event, left, answer value
	offers                                                           []rawOffer
	offersBad                                                        bool
}

type rawOffer struct{ offer, id value }

// parse reads one message. On error the returned request still carries the action and info hash
// when they were readable, so the failure reply can name them.
func parse(b []byte) (request, error) {
	var f fields
	s := scanner{b: b}
	if s.peek() != '{' {
		return request{}, errSyntax
	}
	err := s.object(1, func(key []byte, esc bool) error { return f.member(&s, key, esc) })
	if s.skipWS(); err == nil && s.i != len(b) {
		err = errSyntax
	}
	if err != nil {
		return request{}, err
	}
	return f.request()
}

// member scans the value of one top-level member.
func (f *fields) member(s *scanner, key []byte, esc bool) error {
	if esc {
		key = []byte(unquote(key))
	}
	var dst *value
	switch string(key) {
	case "offers":
		return f.scanOffers(s)
	case "action":
		dst = &f.action
	case "info_hash":
		dst = &f.infoHash
	case "peer_id":
		dst = &f.peerID
	case "to_peer_id":
		dst = &f.toPeerID
	case "offer_id":
		dst = &f.offerID
	case "event":
		dst = &f.event
	case "left":
		dst = &f.left
	case "answer":
		dst = &f.answer
	default:
		_, err := s.value(1)
		return err
	}
	v, err := s.value(1)
	*dst = v
	return err
}

// scanOffers scans "offers": null or an array of {"offer":{…},"offer_id":ID}.
func (f *fields) scanOffers(s *scanner) error {
	f.offers, f.offersBad = f.offers[:0], false
	if s.peek() != '[' {
		v, err := s.value(1)
		f.offersBad = v.kind != kNull
		return err
	}
	return s.array(2, func() error {
		if s.peek() != '{' {
			f.offersBad = true
			_, err := s.value(2)
			return err
		}
		var o rawOffer
		err := s.object(3, func(key []byte, esc bool) error {
			if esc {
				key = []byte(unquote(key))
			}
			var err error
			switch string(key) {
			case "offer":
				o.offer, err = s.value(3)
			case "offer_id":
				o.id, err = s.value(3)
			default:
				_, err = s.value(3)
			}
			return err
		})
		f.offers = append(f.offers, o)
		return err
	})
}

// request checks the meaning of the fields, in the order bittorrent-tracker does.
func (f *fields) request() (request, error) {
	var r request
	if f.action.kind != kString {
		return r, errors.New("invalid action in WS request")
	}
	r.action = str(f.action)
	switch r.action {
	case "announce":
		return r, f.announce(&r)
	case "scrape":
		return r, f.scrape(&r)
	}
	a := r.action
	r.action = ""
	if len(a) > 32 {
		a = a[:32]
	}
	return r, fmt.Errorf("invalid action in WS request: %q", a)
}

func (f *fields) announce(r *request) error {
	var err error
	if r.infoHash, err = id(f.infoHash, "info_hash"); err != nil {
		return err
	}
	r.hasIH = true
	if r.peerID, err = id(f.peerID, "peer_id"); err != nil {
		return err
	}
	if f.event.kind == kString {
		r.event = str(f.event)
	}
	r.seeder = isZero(f.left)
	if f.answer.kind != kAbsent && f.answer.kind != kNull {
		return f.answerFields(r)
	}
	if f.offersBad {
		return errors.New("invalid offers")
	}
	r.offers = make([]offer, 0, len(f.offers))
	for _, o := range f.offers {
		oid, err := id(o.id, "offer_id")
		if err != nil || o.offer.kind != kObject {
			return errors.New("invalid offers")
		}
		r.offers = append(r.offers, offer{id: oid, sdp: o.offer.raw})
	}
	return nil
}

func (f *fields) answerFields(r *request) error {
	var err error
	if f.answer.kind != kObject {
		return errors.New("invalid answer")
	}
	if r.toPeerID, err = id(f.toPeerID, "`to_peer_id` (required with `answer`)"); err != nil {
		return err
	}
	if r.offerID, err = id(f.offerID, "`offer_id` (required with `answer`)"); err != nil {
		return err
	}
	r.answer = f.answer.raw
	return nil
}

func (f *fields) scrape(r *request) error {
	switch f.infoHash.kind {
	case kAbsent, kNull:
		return nil
	case kString:
		ih, err := id(f.infoHash, "info_hash")
		r.infoHashes = []ID{ih}
		return err
	case kArray:
		return scrapeList(f.infoHash.raw, r)
	}
	return errors.New("invalid info_hash")
}

// scrapeList reads a (syntax-checked) array of info hashes.
func scrapeList(raw []byte, r *request) error {
	s := scanner{b: raw}
	var bad error
	s.array(1, func() error {
		v, err := s.value(1)
		ih, bad2 := id(v, "info_hash")
		if bad == nil {
			bad = bad2
		}
		r.infoHashes = append(r.infoHashes, ih)
		return err
	})
	return bad
}

// id decodes a binary-string ID; name goes into the error.
func id(v value, name string) (ID, error) {
	if v.kind != kString {
		return ID{}, errors.New("invalid " + name)
	}
	got, err := decodeID(v.raw)
	if err != nil {
		return got, fmt.Errorf("invalid %s: %v", name, err)
	}
	return got, nil
}

// str decodes a string value.
func str(v value) string {
	if v.esc {
		return unquote(v.raw)
	}
	return string(v.raw)
}

// isZero reports whether left is 0, as a number or a numeric string.
func isZero(v value) bool {
	var s string
	switch v.kind {
	case kNumber:
		s = string(v.raw)
	case kString:
		s = strings.TrimSpace(str(v))
	default:
		return false
	}
	x, err := strconv.ParseFloat(s, 64)
	return err == nil && x == 0
}
