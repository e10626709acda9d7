package fieldnet

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs f with its goroutine locked to an OS thread that has entered the home's host network
// namespace, then returns the thread to the test's namespace. A socket belongs to the namespace it was
// created in, for life: one made in f (net.Dial, net.Listen, net.ListenPacket with IP literals — no
// name lookups) stays in the home after Do returns, and may be used from any goroutine. If the thread
// cannot go back, it is left locked, so the Go runtime ends it with the goroutine.
func (h *Home) Do(f func() error) error {
	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		back, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("fieldnet: own namespace: %w", err)}
			return
		}
		defer unix.Close(back)
		into, err := unix.Open("/run/netns/"+h.NS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("fieldnet: home %s: %w", h.Name, err)}
			return
		}
		err = unix.Setns(into, unix.CLONE_NEWNET)
		unix.Close(into)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{fmt.Errorf("fieldnet: entering home %s: %w", h.Name, err)}
			return
		}
		ferr := f()
		if err := unix.Setns(back, unix.CLONE_NEWNET); err != nil {
			// stay locked: the thread dies with this goroutine instead of running others in the home
			done <- result{fmt.Errorf("fieldnet: leaving home %s: %w", h.Name, err)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{ferr}
	}()
	return (<-done).err
}

// Dial connects to addr (an IP literal and port) from inside the home, as a program running there
// would: 127.0.0.1 is the home host's own loopback, and anything else goes through its router. The
// connection is usable from the test's goroutines like any other.
func (h *Home) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Listen listens on addr inside the home (see Dial).
func (h *Home) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := h.Do(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// ListenPacket opens a packet socket on addr inside the home (see Dial): a UDP socket there sends
// through the home's NAT, as a browser's ICE agent does.
func (h *Home) ListenPacket(network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := h.Do(func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	return c, err
}
