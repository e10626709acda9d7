// Package wait is how tests wait: for a condition to hold, polled until a deadline, never a fixed
// sleep followed by a check. A test that must show that something did not happen waits for an
// event that can only come after it (a reply to a later request, a counter that moves once the
// work is done) instead of waiting for nothing.
package wait

import (
	"testing"
	"time"
)

// Every is how often For and Until poll.
const Every = 10 * time.Millisecond

// For polls cond until it returns true and fails t if within passes first, naming what it waited
// for. cond runs on the caller's goroutine, so it may call t.Fatal itself.
func For(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	Poll(Every).For(t, what, within, cond)
}

// Until polls cond until it returns true or within passes, and reports whether it held.
func Until(within time.Duration, cond func() bool) bool { return Poll(Every).Until(within, cond) }

// Poll is a polling interval, for conditions that cost more to check than Every allows (a round trip
// to a browser): wait.Poll(100*time.Millisecond).For(t, …).
type Poll time.Duration

// For is the package's For, polling every p.
func (p Poll) For(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	if !p.Until(within, cond) {
		t.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// Until is the package's Until, polling every p.
func (p Poll) Until(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); ; time.Sleep(time.Duration(p)) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
