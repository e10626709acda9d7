package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// peer is one simulated browser: one socket, a few swarms, one announce in flight at a time.
type peer struct {
	o        *options
	ws       *wsConn
	n        int
	id       string   // 20 ASCII characters
	swarms   []string // info hashes, 20 ASCII characters
	seq      int
	timeouts int
	replies  chan struct{}
	payload  []byte // announce being built (writer goroutine only)
	frame    []byte
	c        *counters
}

// offerSDP and answerSDP are JSON string contents (escaped \r\n) of roughly the requested size,
// shaped like a browser's SDP with its ICE candidates.
var offerSDP, answerSDP string

func makeSDP(kind string, size int) string {
	var b strings.Builder
	b.WriteString(`v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n` +
		`m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:` + kind + `\r\n` +
		`a=ice-pwd:asd88fgpdd777uzjYhagZg\r\na=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35\r\n`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `a=candidate:%d 1 udp 2113937151 192.168.%d.%d %d typ host generation 0 network-cost 999\r\n`,
			i, i%256, (i*7)%256, 50000+i)
	}
	return b.String()
}

// dialAll opens o.conns connections, o.dialers at a time; each joins its swarms (no offers yet).
func dialAll(ctx context.Context, o options, swarms int, c *counters) []*peer {
	offerSDP, answerSDP = makeSDP("offer", o.sdp), makeSDP("answer", o.answerSDP)
	var mu sync.Mutex
	var peers []*peer
	next := make(chan int)
	var wg sync.WaitGroup
	for range o.dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				p, err := dial(ctx, &o, n, swarms, c)
				if err != nil {
					fmt.Println("dial:", err)
					continue
				}
				mu.Lock()
				peers = append(peers, p)
				mu.Unlock()
			}
		}()
	}
	for n := range o.conns {
		next <- n
	}
	close(next)
	wg.Wait()
	return peers
}

func dial(ctx context.Context, o *options, n, swarms int, c *counters) (*peer, error) {
	var ws *wsConn
	var err error
	for try := 0; try < 5; try++ { // a full accept backlog refuses a few connections
		if ws, err = wsDial(o.url, 10*time.Second); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond << try)
	}
	if err != nil {
		return nil, err
	}
	p := &peer{o: o, ws: ws, n: n, id: fmt.Sprintf("-LG0001-%012d", n), replies: make(chan struct{}, 1), c: c}
	for i := range o.perConn {
		p.swarms = append(p.swarms, fmt.Sprintf("swarm%015d", (n*o.perConn+i*7919)%swarms))
	}
	go p.read(ctx)
	for _, ih := range p.swarms {
		if err := p.announce(ctx, ih, 0); err != nil {
			ws.close()
			return nil, err
		}
	}
	return p, nil
}

// announce sends one announce with k offers and waits for its reply.
func (p *peer) announce(ctx context.Context, ih string, k int) error {
	if err := p.ws.write(p.announceFrame(ih, k)); err != nil {
		return err
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-p.replies:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		p.c.timeouts.Add(1)
		p.timeouts++
		return nil
	}
}

// loop announces with offers to its swarms in turn until ctx ends.
func (p *peer) loop(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		if err := p.announce(ctx, p.swarms[i%len(p.swarms)], p.o.offers); err != nil {
			return
		}
	}
}

// announceFrame builds a framed announce with k offers (fresh offer ids).
func (p *peer) announceFrame(ih string, k int) []byte {
	b := append(p.payload[:0], `{"action":"announce","info_hash":"`...)
	b = append(b, ih...)
	b = append(b, `","peer_id":"`...)
	b = append(b, p.id...)
	b = append(b, `","numwant":5,"uploaded":0,"downloaded":0,"left":1000,"offers":[`...)
	for i := range k {
		if i > 0 {
			b = append(b, ',')
		}
		p.seq++
		b = append(b, `{"offer":{"type":"offer","sdp":"`...)
		b = append(b, offerSDP...)
		b = fmt.Appendf(b, `"},"offer_id":"%07x%013x"}`, p.n, p.seq)
	}
	p.payload = append(b, "]}"...)
	p.frame = appendFrame(p.frame[:0], 0x1, p.payload)
	return p.frame
}

var (
	keyFailure  = []byte(`"failure reason"`)
	keyOffer    = []byte(`"offer":`)
	keyAnswer   = []byte(`"answer":`)
	keyComplete = []byte(`"complete":`)
)

// read handles what the tracker sends: replies wake the announcer, offers get answers, written in
// one batch per burst of input.
func (p *peer) read(ctx context.Context) {
	var out, ans []byte
	for {
		msg, err := p.ws.read()
		if err != nil {
			if ctx.Err() == nil {
				p.c.disconnects.Add(1)
			}
			return
		}
		measuring := p.c.measuring.Load()
		switch {
		case bytes.Contains(msg, keyFailure):
			p.c.failures.Add(1)
		case bytes.Contains(msg, keyOffer):
			if measuring {
				p.c.offers.Add(1)
			}
			if ans = p.answerMsg(ans[:0], msg); ans != nil {
				out = appendFrame(out, 0x1, ans)
			}
		case bytes.Contains(msg, keyAnswer):
			if measuring {
				p.c.answers.Add(1)
			}
		case bytes.Contains(msg, keyComplete):
			if measuring {
				p.c.announces.Add(1)
			}
			select {
			case p.replies <- struct{}{}:
			default:
			}
		}
		if len(out) > 0 && !p.ws.buffered() {
			if p.ws.write(out) != nil {
				return
			}
			out = out[:0]
		}
	}
}

// answerMsg answers a relayed offer, copying its info_hash, offerer and offer_id tokens.
func (p *peer) answerMsg(b, offer []byte) []byte {
	ih, from, oid := token(offer, `"info_hash":`), token(offer, `"peer_id":`), token(offer, `"offer_id":`)
	if ih == nil || from == nil || oid == nil {
		return nil
	}
	b = append(b, `{"action":"announce","info_hash":`...)
	b = append(b, ih...)
	b = append(b, `,"peer_id":"`...)
	b = append(b, p.id...)
	b = append(b, `","to_peer_id":`...)
	b = append(b, from...)
	b = append(b, `,"offer_id":`...)
	b = append(b, oid...)
	b = append(b, `,"answer":{"type":"answer","sdp":"`...)
	b = append(b, answerSDP...)
	return append(b, `"}}`...)
}

// token returns the JSON string that follows key in msg, quotes included.
func token(msg []byte, key string) []byte {
	i := bytes.LastIndex(msg, []byte(key))
	if i < 0 {
		return nil
	}
	s := msg[i+len(key):]
	if len(s) == 0 || s[0] != '"' {
		return nil
	}
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return s[:j+1]
		}
	}
	return nil
}
