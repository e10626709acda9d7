//go:build !linux

package tracker

import (
	"context"
	"errors"
	"net/http"

	"github.com/coder/websocket"
)

// Without epoll every connection keeps a reading goroutine for its lifetime.

type poller struct{}

type wireFields struct{}

func newPoller(context.Context) (*poller, error) { return nil, errors.New("no epoll on this system") }

func (s *Server) accept(w http.ResponseWriter, r *http.Request, _ *conn, opts *websocket.AcceptOptions) (*websocket.Conn, error) {
	return websocket.Accept(w, r, opts)
}

func (s *Server) attach(c *conn) { c.drain(false) }

func (c *conn) pending() bool   { return false }
func (c *conn) rearm() bool     { return false }
func (c *conn) beginBatch()     {}
func (c *conn) endBatch() error { return nil }
func (c *conn) direct() bool    { return false }
