package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
)

// printReport prints the runs of a JSON-lines file as a markdown table: one row per run, then for
// each connection count the ratios of the medians over the rounds, first server ÷ second (in the
// order of the file: planktos ÷ bittorrent-tracker, or epoll ÷ goroutine engine).
func printReport(path string) error {
	runs, err := readRuns(path)
	if err != nil {
		return err
	}
	byConns := map[int]map[string][]result{}
	var labels []string
	for _, r := range runs {
		if !slices.Contains(labels, r.Label) {
			labels = append(labels, r.Label)
		}
		if byConns[r.Conns] == nil {
			byConns[r.Conns] = map[string][]result{}
		}
		byConns[r.Conns][r.Label] = append(byConns[r.Conns][r.Label], r)
	}
	var conns []int
	for n := range byConns {
		conns = append(conns, n)
	}
	sort.Ints(conns)
	fmt.Println("| conns | server | msgs/s handled | offers relayed/s | CPU server / generator | msgs per server CPU-s | KB/conn connected | KB/conn under load | failures / timeouts / drops |")
	fmt.Println("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range conns {
		for _, label := range labels {
			for _, r := range byConns[n][label] {
				fmt.Printf("| %d | %s | %.0f | %.0f | %.2f / %.2f | %.0f | %.1f | %.1f | %d / %d / %d |\n", n, label,
					r.MsgsPerSec, float64(r.OffersRelayed)/r.Seconds, r.ServerCPU, r.LoadCPU, perCPU(r),
					r.KBPerConn, r.KBPerConnLoad, r.Failures, r.Timeouts, r.Disconnects)
			}
		}
		if len(labels) < 2 {
			continue
		}
		p, q := byConns[n][labels[0]], byConns[n][labels[1]]
		if len(p) == 0 || len(q) == 0 {
			continue
		}
		ratio := func(f func(result) float64) float64 { return median(p, f) / median(q, f) }
		fmt.Printf("| %d | **ratio** (medians) | **%.1f×** | | | **%.1f×** | **%.2f** | **%.2f** | |\n", n,
			ratio(func(r result) float64 { return r.MsgsPerSec }), ratio(perCPU),
			ratio(func(r result) float64 { return r.KBPerConn }), ratio(func(r result) float64 { return r.KBPerConnLoad }))
	}
	return nil
}

func readRuns(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []result
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func perCPU(r result) float64 {
	if r.ServerCPU == 0 {
		return 0
	}
	return r.MsgsPerSec / r.ServerCPU
}
