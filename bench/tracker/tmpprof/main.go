package main

import (
	"encoding/json"
	"log"
	"net/http"
	_ "net/http/pprof"
	"runtime"

	"github.com/planktos/planktos/tracker"
)

func main() {
	tr := tracker.New(tracker.Config{MessageRate: -1, MaxConns: -1})
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	mux.Handle("/stats", tr.StatsHandler())
	mux.HandleFunc("/mem", func(w http.ResponseWriter, r *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		json.NewEncoder(w).Encode(map[string]any{"heapInuse": m.HeapInuse >> 10, "heapAlloc": m.HeapAlloc >> 10, "stackInuse": m.StackInuse >> 10, "sys": m.Sys >> 10, "goroutines": runtime.NumGoroutine(), "heapIdle": m.HeapIdle >> 10, "heapReleased": m.HeapReleased >> 10, "nextGC": m.NextGC >> 10})
	})
	mux.Handle("/debug/", http.DefaultServeMux)
	log.Fatal(http.ListenAndServe("127.0.0.1:18900", mux))
}
