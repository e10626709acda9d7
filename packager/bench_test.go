package packager_test

// Packaging benchmarks on a generated site (bench/sitegen: 1,000 pages, small assets, 4 × 8 MiB media) on the
// OS filesystem, compared with mktorrent on the same files in the same run:
//
//	go test -run '^$' -bench Pack -benchtime 10x ./packager
//
// BenchmarkPack is a full pack (store and output removed before each op), BenchmarkPackRepack a run over an
// unchanged, already packaged site, BenchmarkPackMktorrent `mktorrent -t GOMAXPROCS -l <planktos's piece
// length>` (skipped when mktorrent is not installed). Each reports MB/s of site bytes and cpu-ms/op (user +
// sys of the process, or of mktorrent), which is less sensitive than wall time to a busy machine.
// bench/pack-vs-mktorrent.sh measures the ~1 GB site with the CLI; PLANKTOS_BENCH_SITE=large runs these
// benchmarks on that site too (generated in $TMPDIR by each benchmark: ~1 GB, plus ~1 GB of store).

import (
	"context"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/planktos/planktos/bench/sitegen"
	"github.com/planktos/planktos/config"
	"github.com/planktos/planktos/internal/rusage"
	"github.com/planktos/planktos/manifest"
	"github.com/planktos/planktos/packager"
	"github.com/spf13/afero"
)

const benchBaseURL = "http://127.0.0.1:8080/"

// benchSite generates the small benchmark site in a temporary folder and returns it with its pristine
// pages (those Pack rewrites), to restore before each op.
func benchSite(b *testing.B) (string, sitegen.Stats, map[string][]byte) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "public")
	o := sitegen.Small()
	if os.Getenv("PLANKTOS_BENCH_SITE") == "large" {
		o = sitegen.Default()
	}
	st, err := sitegen.Generate(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	pristine := map[string][]byte{}
	for _, rel := range st.Untagged {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if pristine[p], err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
	return dir, st, pristine
}

// benchReset removes planktos's output and restores the pages it rewrote, so that the next op is a full pack
// of the same input; then writes back dirty pages so that no op pays for the previous one's writeback.
func benchReset(b *testing.B, dir string, pristine map[string][]byte) {
	b.Helper()
	if err := os.RemoveAll(filepath.Join(dir, manifest.Dir)); err != nil {
		b.Fatal(err)
	}
	os.Remove(filepath.Join(dir, manifest.SWPath))
	for p, data := range pristine {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
		os.Chtimes(p, sitegen.Mtime, sitegen.Mtime)
	}
	syscall.Sync()
}

// benchPieceLength is planktos's automatic piece length (packager.autoPieceLength): the smallest power of two
// ≥ 16 KiB giving at most 1500 pieces. BenchmarkPack checks that the manifest agrees.
func benchPieceLength(total int64) int64 {
	pl := int64(config.MinPieceLength)
	for pl < config.MaxPieceLength && total/pl > 1500 {
		pl *= 2
	}
	return pl
}

func benchOptions(dir string) packager.Options {
	return packager.Options{Root: dir, BaseURL: benchBaseURL, Config: config.Default()}
}

func BenchmarkPack(b *testing.B) {
	dir, st, pristine := benchSite(b)
	ctx := context.Background()
	fsys := afero.NewOsFs()
	b.SetBytes(st.Bytes)
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		benchReset(b, dir, pristine)
		c0 := rusage.CPU(syscall.RUSAGE_SELF)
		b.StartTimer()
		res, err := packager.Pack(ctx, fsys, benchOptions(dir))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += rusage.CPU(syscall.RUSAGE_SELF) - c0
		if res.Added != st.Files || res.Injected != len(st.Untagged) {
			b.Fatalf("not a full pack: added %d of %d files, injected %d of %d pages", res.Added, st.Files,
				res.Injected, len(st.Untagged))
		}
		if pl := res.Manifest.Torrents[0].PieceLength; pl != benchPieceLength(res.Bytes) {
			b.Fatalf("planktos chose piece length %d, BenchmarkPackMktorrent would use %d; update benchPieceLength",
				pl, benchPieceLength(res.Bytes))
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

func BenchmarkPackRepack(b *testing.B) {
	dir, st, _ := benchSite(b)
	ctx := context.Background()
	fsys := afero.NewOsFs()
	if _, err := packager.Pack(ctx, fsys, benchOptions(dir)); err != nil {
		b.Fatal(err)
	}
	syscall.Sync()
	b.SetBytes(st.Bytes)
	var cpu time.Duration
	for b.Loop() {
		c0 := rusage.CPU(syscall.RUSAGE_SELF)
		res, err := packager.Pack(ctx, fsys, benchOptions(dir))
		if err != nil {
			b.Fatal(err)
		}
		cpu += rusage.CPU(syscall.RUSAGE_SELF) - c0
		if res.Added != 0 {
			b.Fatalf("repack of an unchanged site added %d files", res.Added)
		}
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

func BenchmarkPackMktorrent(b *testing.B) {
	bin, err := exec.LookPath("mktorrent")
	if err != nil {
		b.Skip("mktorrent is not installed (apt-get install -y mktorrent)")
	}
	dir, st, _ := benchSite(b)
	out := filepath.Join(b.TempDir(), "site.torrent")
	exp := bits.TrailingZeros64(uint64(benchPieceLength(st.Bytes)))
	threads := runtime.GOMAXPROCS(0) // the parallelism Pack uses
	b.SetBytes(st.Bytes)
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		os.Remove(out)
		syscall.Sync()
		c0 := rusage.CPU(syscall.RUSAGE_CHILDREN)
		b.StartTimer()
		cmd := exec.Command(bin, "-t", fmt.Sprint(threads), "-l", fmt.Sprint(exp), "-o", out,
			"-a", "ws://127.0.0.1:8000/announce", dir)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mktorrent: %v\n%s", err, msg)
		}
		b.StopTimer()
		cpu += rusage.CPU(syscall.RUSAGE_CHILDREN) - c0
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}
