package tracker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// A small JSON scanner made for tracker messages: it validates the whole message (strict RFC 8259
// syntax plus valid UTF-8, which WebSocket text frames require and the frame layer does not check)
// in one pass without allocating, and hands back spans of the input for the few fields the tracker
// reads. Offers and answers are relayed as the validated bytes the client sent. FuzzParse checks it
// against encoding/json.

var (
	errSyntax  = errors.New("invalid JSON")
	errTooDeep = errors.New("JSON nested too deeply")
)

// maxDepth bounds nesting; real messages nest 4 deep (message, offers, offer, sdp object).
const maxDepth = 32

// Kinds of JSON values.
const (
	kAbsent byte = iota
	kNull
	kBool
	kNumber
	kString
	kArray
	kObject
)

// value is a span of the input. For strings raw is the content between the quotes; for other kinds
// it is the whole value.
type value struct {
	raw  []byte
	kind byte
	esc  bool // a string with escape sequences
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipWS() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.skipWS()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// value scans any value at nesting depth.
func (s *scanner) value(depth int) (value, error) {
	c := s.peek()
	start := s.i
	var v value
	var err error
	switch {
	case c == '"':
		v.kind = kString
		v.raw, v.esc, err = s.str()
		return v, err
	case c == '{':
		v.kind, err = kObject, s.object(depth+1, nil)
	case c == '[':
		v.kind, err = kArray, s.array(depth+1, nil)
	case c == 't':
		v.kind, err = kBool, s.literal("true")
	case c == 'f':
		v.kind, err = kBool, s.literal("false")
	case c == 'n':
		v.kind, err = kNull, s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		v.kind, err = kNumber, s.number()
	default:
		return v, errSyntax
	}
	v.raw = s.b[start:s.i]
	return v, err
}

func (s *scanner) literal(lit string) error {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return errSyntax
	}
	s.i += len(lit)
	return nil
}

// str scans a string and returns its raw content.
func (s *scanner) str() (raw []byte, esc bool, err error) {
	s.i++ // opening quote
	start, ascii := s.i, true
	for s.i < len(s.b) {
		if s.i+8 <= len(s.b) && plain8(binary.LittleEndian.Uint64(s.b[s.i:])) {
			s.i += 8 // SDP is long runs of plain ASCII between \r\n escapes
			continue
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			raw = s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(raw) {
				return nil, false, errSyntax
			}
			return raw, esc, nil
		case c == '\\':
			if !s.escape() {
				return nil, false, errSyntax
			}
			esc = true
		case c < 0x20:
			return nil, false, errSyntax
		default:
			ascii = ascii && c < utf8.RuneSelf
			s.i++
		}
	}
	return nil, false, errSyntax
}

// plain8 reports whether 8 bytes hold no quote, backslash, control character or non-ASCII byte
// (SWAR: a byte below n in x shows as its top bit in (x - 0x01…·n) &^ x).
func plain8(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, b := w^(lo*'"'), w^(lo*'\\')
	return ((w-lo*0x20)&^w|(q-lo)&^q|(b-lo)&^b|w)&hi == 0
}

// escape checks the escape sequence at s.i and steps over it.
func (s *scanner) escape() bool {
	if s.i+1 >= len(s.b) {
		return false
	}
	switch s.b[s.i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i += 2
		return true
	case 'u':
		if s.i+6 > len(s.b) {
			return false
		}
		for _, h := range s.b[s.i+2 : s.i+6] {
			if !isHex(h) {
				return false
			}
		}
		s.i += 6
		return true
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case !s.digits():
		return errSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return errSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return errSyntax
		}
	}
	return nil
}

// digits steps over one or more digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// object scans an object at s.i. member, when not nil, is called with each key's raw content after
// its colon and must scan the value; otherwise values are skipped.
func (s *scanner) object(depth int, member func(key []byte, esc bool) error) error {
	if depth > maxDepth {
		return errTooDeep
	}
	s.i++ // {
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return errSyntax
		}
		raw, esc, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return errSyntax
		}
		s.i++
		if member == nil {
			_, err = s.value(depth)
		} else {
			err = member(raw, esc)
		}
		if err != nil {
			return err
		}
		if done, err := s.next('}'); done || err != nil {
			return err
		}
	}
}

// array scans an array at s.i; elem, when not nil, scans each element.
func (s *scanner) array(depth int, elem func() error) error {
	if depth > maxDepth {
		return errTooDeep
	}
	s.i++ // [
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		var err error
		if elem == nil {
			_, err = s.value(depth)
		} else {
			err = elem()
		}
		if err != nil {
			return err
		}
		if done, err := s.next(']'); done || err != nil {
			return err
		}
	}
}

// next steps over the comma between members, or over the closing bracket (done).
func (s *scanner) next(closing byte) (done bool, err error) {
	switch s.peek() {
	case ',':
		s.i++
		return false, nil
	case closing:
		s.i++
		return true, nil
	}
	return false, errSyntax
}

// unquote decodes the raw content of a syntax-checked JSON string.
func unquote(raw []byte) string {
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var out string
	json.Unmarshal(q, &out) // cannot fail: raw was checked
	return out
}
