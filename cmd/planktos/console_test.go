package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressBarOnlyOnSlowStepsOnATerminal(t *testing.T) {
	var out, errw bytes.Buffer
	c := &console{out: &out, errw: &errw, tty: true}
	c.Step("Hashing and storing files")
	c.Progress(50, 100)
	if errw.Len() != 0 {
		t.Fatalf("bar drawn before two seconds: %q", errw.String())
	}
	c.stepStart = time.Now().Add(-3 * time.Second)
	c.Progress(50, 100)
	if !strings.Contains(errw.String(), "[===============               ]  50%") {
		t.Fatalf("no bar after two seconds: %q", errw.String())
	}
	c.Detail("done")
	if !strings.HasSuffix(errw.String(), "\r\033[K") {
		t.Errorf("bar not cleared before the next line: %q", errw.String())
	}
	errw.Reset()
	c.tty = false
	c.Progress(60, 100)
	if errw.Len() != 0 {
		t.Errorf("bar drawn without a terminal: %q", errw.String())
	}
}
