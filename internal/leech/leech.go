// Package leech downloads planktos torrents with a real anacrolix/torrent client, for tests and
// benchmarks: either through the torrents' webseeds alone (no peers, trackers or DHT), or from peers
// over WebRTC alone (WebSocket trackers, no webseeds). What it returns is read back through anacrolix's
// reader, so it does not depend on how anacrolix names files on disk.
package leech

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// Source is where the leecher may get bytes from.
type Source int

const (
	Webseed Source = iota // the torrents' url-list only
	WebRTC                // peers found through WebSocket trackers only
)

// Options configure a download.
type Options struct {
	From Source
	// DataDir is where anacrolix keeps the downloaded data (a temporary folder).
	DataDir string
	// Trackers, with WebRTC, replace the torrents' own announce list.
	Trackers []string
}

// Download fetches every torrent in full and returns each file's bytes by its base name (a planktos
// store file's SHA-256, or "<infohash>.torrent" for root.torrent's files). It fails when ctx ends first,
// saying how far each torrent got.
func Download(ctx context.Context, o Options, torrents ...*metainfo.MetaInfo) (map[string][]byte, error) {
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = o.DataDir
	cfg.NoDHT, cfg.DisablePEX = true, true
	cfg.DisableTCP, cfg.DisableUTP, cfg.NoDefaultPortForwarding = true, true, true
	cfg.DisableIPv6 = true
	cfg.ListenPort = 0
	// quiet: offers still in flight when the client closes are logged as warnings otherwise
	cfg.Slogger = slog.New(slog.NewTextHandler(io.Discard, nil))
	switch o.From {
	case Webseed:
		cfg.DisableTrackers, cfg.DisableWebtorrent = true, true
	case WebRTC:
		cfg.DisableWebseeds = true
	}
	c, err := torrent.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("leech: %w", err)
	}
	defer c.Close()
	var ts []*torrent.Torrent
	for _, mi := range torrents {
		spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
		if err != nil {
			return nil, fmt.Errorf("leech: %w", err)
		}
		if o.From == WebRTC && o.Trackers != nil {
			spec.Trackers = [][]string{o.Trackers}
		}
		t, _, err := c.AddTorrentSpec(spec)
		if err != nil {
			return nil, fmt.Errorf("leech: %w", err)
		}
		ts = append(ts, t)
	}
	for _, t := range ts {
		select {
		case <-t.GotInfo():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		t.DownloadAll()
	}
	for {
		done, state := true, ""
		for _, t := range ts {
			if t.BytesCompleted() < t.Length() {
				done = false
				state += fmt.Sprintf(" %s: %d of %d bytes;", t.InfoHash().HexString()[:8], t.BytesCompleted(), t.Length())
			}
		}
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("leech: download stalled:%s %w", state, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	out := map[string][]byte{}
	for _, t := range ts {
		for _, f := range t.Files() {
			r := f.NewReader()
			b, err := io.ReadAll(io.LimitReader(r, f.Length()))
			r.Close()
			if err == nil && int64(len(b)) != f.Length() {
				err = errors.New("short read")
			}
			if err != nil {
				return nil, fmt.Errorf("leech: read %s: %d of %d bytes: %w", f.Path(), len(b), f.Length(), err)
			}
			out[path.Base(f.Path())] = b
		}
	}
	return out, nil
}
