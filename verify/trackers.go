package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/coder/websocket"
	"golang.org/x/sync/errgroup"
)

const fixTrackers = "list WebSocket trackers that are up in planktos.toml (trackers = [\"wss://…\"]), run " +
	"planktos again and deploy; `planktos tracker` runs one"

// checkTrackers opens a WebSocket to each ws/wss tracker of the manifest, within TrackerTimeout, and closes
// it: browsers find other visitors only through those.
func (r *run) checkTrackers(ctx context.Context) Check {
	if r.m == nil {
		return noManifest(CheckTrackers)
	}
	var web []string
	for _, t := range r.m.Trackers {
		if strings.HasPrefix(t, "ws://") || strings.HasPrefix(t, "wss://") {
			web = append(web, t)
		}
	}
	if len(web) == 0 {
		return warn(CheckTrackers, fixTrackers, "the manifest lists no WebSocket tracker: visitors load the site "+
			"over HTTP and never from each other")
	}
	origin := r.origin()
	var p problems
	g, gctx := errgroup.WithContext(ctx)
	for _, t := range web {
		g.Go(func() error {
			if err := r.handshake(gctx, t, origin); err != nil {
				p.add("%v", err)
			}
			return nil
		})
	}
	g.Wait()
	if !p.empty() {
		return fail(CheckTrackers, fixTrackers, "%d of %s refused or timed out: %s", len(p.list),
			plural(len(web), "tracker", "trackers"), p.String())
	}
	return pass(CheckTrackers, "%s accepted a WebSocket handshake: %s", plural(len(web), "tracker", "trackers"),
		strings.Join(web, ", "))
}

// origin is the Origin the site's pages send: a tracker may accept only some (tracker.Config.AllowedOrigins).
func (r *run) origin() string {
	u := r.web.baseOrNil()
	if u == nil && len(r.m.Webseeds) > 0 {
		u, _ = url.Parse(r.m.Webseeds[0])
	}
	if u == nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// handshake opens and closes a WebSocket to tracker, as a page of origin would.
func (r *run) handshake(ctx context.Context, tracker, origin string) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.TrackerTimeout)
	defer cancel()
	var hdr http.Header
	if origin != "" {
		hdr = http.Header{"Origin": {origin}}
	}
	c, resp, err := websocket.Dial(ctx, tracker, &websocket.DialOptions{HTTPClient: r.opts.Client, HTTPHeader: hdr})
	if err != nil {
		var op *net.OpError
		switch {
		case resp != nil && resp.StatusCode != 0:
			return fmt.Errorf("%s answered %s instead of a WebSocket handshake", tracker, resp.Status)
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("%s: no handshake within %s", tracker, r.opts.TrackerTimeout)
		case errors.As(err, &op):
			return fmt.Errorf("%s: %w", tracker, op)
		}
		return fmt.Errorf("%s: %w", tracker, err)
	}
	c.Close(websocket.StatusNormalClosure, "planktos verify")
	return nil
}
