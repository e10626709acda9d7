//go:build !linux

package tracker

import (
	"context"
	"errors"
	"net/http"
)

// Without epoll every connection keeps a reading goroutine for its lifetime.

type poller struct{}

type wireFields struct{}

func newPoller(context.Context) (*poller, error) { return nil, errors.New("no epoll on this system") }

func (s *Server) accept(w http.ResponseWriter, r *http.Request, c *conn) error {
	nc, br, err := upgrade(w, r)
	c.nc, c.q = nc, &writeQueue{br: br}
	return err
}

func (s *Server) attach(c *conn) { c.drain(false) }

func (c *conn) pending() bool   { return false }
func (c *conn) rearm() bool     { return false }
func (c *conn) beginBatch()     {}
func (c *conn) endBatch() error { return nil }
func (c *conn) direct() bool    { return false }

func (c *conn) directWrite(frame) error { return nil }
func (c *conn) directPush()             {}
