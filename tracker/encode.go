package tracker

import (
	"encoding/json"
	"strconv"
)

// Outgoing messages, written by hand: offers and answers are copied through as the validated JSON
// the client sent, and binary strings need their own encoding (one character per byte).

// announceReply is {"action":"announce","info_hash":…,"complete":…,"incomplete":…,"interval":…}.
func announceReply(ih ID, complete, incomplete, interval int) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `{"action":"announce","info_hash":`...)
	b = appendID(b, ih)
	b = append(b, `,"complete":`...)
	b = strconv.AppendInt(b, int64(complete), 10)
	b = append(b, `,"incomplete":`...)
	b = strconv.AppendInt(b, int64(incomplete), 10)
	b = append(b, `,"interval":`...)
	b = strconv.AppendInt(b, int64(interval), 10)
	return append(b, '}')
}

// relayed is what a peer receives for an offer (kind "offer") or an answer (kind "answer"):
// {"action":"announce","offer":{…},"offer_id":…,"peer_id":<sender>,"info_hash":…}, in a buffer
// from getMsg.
func relayed(kind string, sdp []byte, offerID, from, ih ID) *[]byte {
	buf := getMsg(len(sdp) + 512) // room for three IDs even fully escaped
	b := *buf
	b = append(b, `{"action":"announce","`...)
	b = append(b, kind...)
	b = append(b, `":`...)
	b = append(b, sdp...)
	b = append(b, `,"offer_id":`...)
	b = appendID(b, offerID)
	b = append(b, `,"peer_id":`...)
	b = appendID(b, from)
	b = append(b, `,"info_hash":`...)
	b = appendID(b, ih)
	*buf = append(b, '}')
	return buf
}

// failure is {"action":…,"failure reason":…,"info_hash":…}; action and info hash only when known.
func failure(action string, ih *ID, reason string) []byte {
	b := make([]byte, 0, 96+len(reason))
	b = append(b, '{')
	if action != "" {
		b = append(b, `"action":`...)
		b = appendString(b, action)
		b = append(b, ',')
	}
	b = append(b, `"failure reason":`...)
	b = appendString(b, reason)
	if ih != nil {
		b = append(b, `,"info_hash":`...)
		b = appendID(b, *ih)
	}
	return append(b, '}')
}

// scrapeCount is one swarm's line in a scrape reply.
type scrapeCount struct {
	ih                   ID
	complete, incomplete int
}

// scrapeReply is {"action":"scrape","files":{IH:{"complete":…,"incomplete":…,"downloaded":…}},
// "flags":{"min_request_interval":…}}; "downloaded" is the complete count, as bittorrent-tracker does.
func scrapeReply(counts []scrapeCount, interval int) []byte {
	b := make([]byte, 0, 64+len(counts)*96)
	b = append(b, `{"action":"scrape","files":{`...)
	for i, c := range counts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendID(b, c.ih)
		b = append(b, `:{"complete":`...)
		b = strconv.AppendInt(b, int64(c.complete), 10)
		b = append(b, `,"incomplete":`...)
		b = strconv.AppendInt(b, int64(c.incomplete), 10)
		b = append(b, `,"downloaded":`...)
		b = strconv.AppendInt(b, int64(c.complete), 10)
		b = append(b, '}')
	}
	b = append(b, `},"flags":{"min_request_interval":`...)
	b = strconv.AppendInt(b, int64(interval), 10)
	return append(b, `}}`...)
}

// appendString appends s as a JSON string (failure paths only).
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
