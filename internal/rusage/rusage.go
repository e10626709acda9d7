//go:build unix

// Package rusage reads how much CPU time a process has used, for benchmarks that report CPU per unit of
// work.
package rusage

import (
	"syscall"
	"time"
)

// CPU is the user plus system time used so far by this process (who = syscall.RUSAGE_SELF) or by its
// waited-for children (syscall.RUSAGE_CHILDREN).
func CPU(who int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
