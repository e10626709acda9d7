package tracker

import (
	"encoding/hex"
	"errors"
	"unicode/utf8"
)

// ID is a 20-byte info hash, peer id or offer id.
type ID [20]byte

// String returns id in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

var (
	errWideRune = errors.New("character above U+00FF in a binary string")
	errNot20    = errors.New("not 20 characters")
)

// decodeID decodes the raw content of a JSON string (between its quotes, already syntax-checked:
// valid escapes, valid UTF-8) holding one character per byte into a 20-byte ID.
func decodeID(raw []byte) (ID, error) {
	var id ID
	n := 0
	for i := 0; i < len(raw); n++ {
		var r rune
		var w int
		switch c := raw[i]; {
		case c == '\\':
			r, w = unescape(raw[i:])
		case c < utf8.RuneSelf:
			r, w = rune(c), 1
		default:
			r, w = utf8.DecodeRune(raw[i:])
		}
		if r > 0xFF {
			return id, errWideRune
		}
		if n == len(id) {
			return id, errNot20
		}
		id[n] = byte(r)
		i += w
	}
	if n != len(id) {
		return id, errNot20
	}
	return id, nil
}

// unescape decodes one escape sequence at the start of s (which begins with a backslash) and returns
// its code unit and length. Surrogates come back as themselves (> 0xFF, so refused for IDs).
func unescape(s []byte) (rune, int) {
	switch s[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		var v rune
		for _, h := range s[2:6] {
			v = v<<4 | rune(unhex(h))
		}
		return v, 6
	}
	return rune(s[1]), 2 // " \ /
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

const hexDigits = "0123456789abcdef"

// appendID appends id as a JSON string, one character per byte.
func appendID(dst []byte, id ID) []byte {
	return appendBinString(dst, id[:])
}

// appendBinString appends b as a JSON string, one character (U+0000–U+00FF) per byte.
func appendBinString(dst, b []byte) []byte {
	dst = append(dst, '"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
		}
	}
	return append(dst, '"')
}
