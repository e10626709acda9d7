package packager

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Events receives a run's progress, to show it to the user. Pack calls it from one goroutine at a time.
type Events interface {
	Step(title string)          // a pipeline step begins
	Detail(line string)         // an outcome of the current step
	Warn(msg string)            // something the owner should fix, though packaging goes on
	Progress(done, total int64) // bytes processed in the current step, every ~100 ms while it runs
}

// reporter wraps Events so that a nil Events is fine.
type reporter struct{ Events }

func events(e Events) *reporter { return &reporter{e} }

func (r *reporter) Step(title string) {
	if r.Events != nil {
		r.Events.Step(title)
	}
}

func (r *reporter) Detail(format string, args ...any) {
	if r.Events != nil {
		r.Events.Detail(fmt.Sprintf(format, args...))
	}
}

func (r *reporter) Warn(msg string) {
	if r.Events != nil {
		r.Events.Warn(msg)
	}
}

// track reports done/total every 100 ms until the returned stop is called.
func (r *reporter) track(done *atomic.Int64, total int64) (stop func()) {
	if r.Events == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				r.Events.Progress(done.Load(), total)
			}
		}
	}()
	return func() { close(quit); <-finished }
}
