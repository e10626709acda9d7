package tracker

import (
	"math/bits"
	"sync"
)

// Relayed offers and answers (a few KB each) are most of what the tracker allocates under load.
// Their buffers come from size-class pools and go back once the socket has taken them, so the
// collector runs rarely and memory under load stays close to memory at rest.

const (
	minShift  = 10 // buffers of 1 KiB …
	maxShift  = 17 // … to 128 KiB: above MaxMessageBytes' default and a relayed message's overhead
	minPooled = 1 << minShift
	maxPooled = 1 << maxShift
)

var msgPools [maxShift - minShift + 1]sync.Pool

// poolClass is the index of the smallest pool whose buffers hold n bytes (-1: none does).
func poolClass(n int) int {
	switch {
	case n > maxPooled:
		return -1
	case n <= minPooled:
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// getMsg returns an empty buffer with room for n bytes, pooled when n allows.
func getMsg(n int) *[]byte {
	k := poolClass(n)
	if k < 0 {
		b := make([]byte, 0, n)
		return &b
	}
	if b, _ := msgPools[k].Get().(*[]byte); b != nil {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, minPooled<<k)
	return &b
}

// putMsg gives a buffer from getMsg back; nobody may use it afterwards.
func putMsg(b *[]byte) {
	if b == nil {
		return
	}
	if k := poolClass(cap(*b)); k >= 0 && cap(*b) == minPooled<<k {
		msgPools[k].Put(b)
	}
}
