// Package testsite builds the repository's Hugo test site (testsite/) with the pinned Hugo, for tests
// and the demo.
//
// The pinned Hugo (v0.165.0) is run as a Go tool from a separate modfile, so nothing depends on a hugo
// binary on PATH:
//
//	cd <repo> && CGO_ENABLED=0 go tool -modfile=tools/hugo.mod hugo --source testsite --destination /abs/out
//
// The first run compiles Hugo (3–5 minutes on 2 cores); later runs reuse Go's build cache (~0.6 s
// overhead). -modfile only works with the main module's root as the working directory, hence Dir.
//
// The video on testsite/media/ is not committed: EnsureMedia generates it with ffmpeg into
// testsite/static/media/clip.webm (gitignored). The images under testsite are committed; they were drawn
// by genimages.go (go run ./internal/testsite/genimages.go).
package testsite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// ModulePath is the main module's path; RepoRoot uses it to recognise the repository.
const ModulePath = "github.com/planktos/planktos"

// MediaPath is the generated video, relative to Dir(). It is published as media/clip.webm.
const MediaPath = "static/media/clip.webm"

// MinMediaSize is the size below which an existing video is considered broken and regenerated.
const MinMediaSize = 1 << 20

// ffmpegArgs make a deterministic ~15 s, ~4.3 MiB WebM: testsrc2 (moving test pattern, frame counter)
// in VP8 at 640x360, 25 fps, a keyframe every 2 s, plus a 440 Hz tone that beeps every second in Vorbis.
// The WebM muxer writes cues (a seek index) when its output is a seekable file, so the video seeks.
// Deterministic: one thread, bitexact flags, no metadata and the "good" deadline give identical bytes on
// every run with the same ffmpeg (Debian 12's ffmpeg 5.1 + libvpx measured: same SHA-256 across runs,
// also with 3 encodes in parallel). The "realtime" deadline is NOT deterministic: libvpx adapts its
// speed to the measured encoding time, so the bytes vary with machine load. Other ffmpeg/libvpx
// versions may produce other bytes. Encoding takes ~2.5 s.
var ffmpegArgs = []string{
	"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
	"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=15",
	"-f", "lavfi", "-i", "sine=frequency=440:beep_factor=2:sample_rate=48000:duration=15",
	"-c:v", "libvpx", "-deadline", "good", "-cpu-used", "5", "-threads", "1",
	"-b:v", "1200k", "-minrate", "1200k", "-maxrate", "1200k", "-bufsize", "1M", "-g", "50",
	"-c:a", "libvorbis", "-b:a", "64k",
	"-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1",
	"-f", "webm",
}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// RepoRoot returns the absolute path of the repository (the directory holding planktos' go.mod). It
// uses this source file's location when that is available (go test, go run), and otherwise searches
// upwards from the working directory.
func RepoRoot() (string, error) {
	rootOnce.Do(func() {
		var tried []string
		if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
			dir := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
			if isRepo(dir) {
				rootDir = dir
				return
			}
			tried = append(tried, dir)
		}
		if wd, err := os.Getwd(); err == nil {
			for dir := wd; ; dir = filepath.Dir(dir) {
				if isRepo(dir) {
					rootDir = dir
					return
				}
				if filepath.Dir(dir) == dir {
					break
				}
			}
			tried = append(tried, wd+" and its parents")
		}
		rootErr = fmt.Errorf("testsite: cannot find the %s repository (tried %s)", ModulePath, strings.Join(tried, ", "))
	})
	return rootDir, rootErr
}

func isRepo(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == ModulePath {
			_, err := os.Stat(filepath.Join(dir, "testsite", "hugo.toml"))
			return err == nil
		}
	}
	return false
}

// Dir returns the absolute path of the repository's testsite. It panics if the repository cannot be
// found (see RepoRoot).
func Dir() string {
	root, err := RepoRoot()
	if err != nil {
		panic(err)
	}
	return filepath.Join(root, "testsite")
}

var mediaMu sync.Mutex

// EnsureMedia generates the test video (Dir()/static/media/clip.webm) with ffmpeg unless it already
// exists. It is safe to call concurrently from goroutines and from parallel test processes: ffmpeg
// writes a temporary file outside the site's mounted folders (testsite/.media-tmp/, so a concurrent Hugo
// build never publishes a half-written file), which is then renamed into place atomically. Two processes
// may both encode; the last rename wins and both files are identical.
func EnsureMedia() error {
	mediaMu.Lock()
	defer mediaMu.Unlock()
	dst := filepath.Join(Dir(), filepath.FromSlash(MediaPath))
	if fi, err := os.Stat(dst); err == nil && fi.Mode().IsRegular() && fi.Size() >= MinMediaSize {
		return nil
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return fmt.Errorf("testsite: ffmpeg is needed to generate %s: install ffmpeg (apt-get install -y ffmpeg): %w", MediaPath, err)
	}
	tmpDir := filepath.Join(Dir(), ".media-tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return fmt.Errorf("testsite: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("testsite: %w", err)
	}
	tmp, err := os.CreateTemp(tmpDir, "clip-*.webm")
	if err != nil {
		return fmt.Errorf("testsite: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpName) // no-op after a successful rename

	args := append(append([]string{}, ffmpegArgs...), tmpName)
	cmd := exec.Command(ffmpeg, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testsite: ffmpeg %s: %w\n%s", strings.Join(args, " "), err, out.Bytes())
	}
	fi, err := os.Stat(tmpName)
	if err != nil {
		return fmt.Errorf("testsite: %w", err)
	}
	if fi.Size() < MinMediaSize {
		return fmt.Errorf("testsite: ffmpeg wrote only %d bytes to %s\n%s", fi.Size(), tmpName, out.Bytes())
	}
	if err := os.Chmod(tmpName, 0o644); err != nil {
		return fmt.Errorf("testsite: %w", err)
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return fmt.Errorf("testsite: %w", err)
	}
	return nil
}

// Hugo returns a command that runs the pinned Hugo with args:
//
//	CGO_ENABLED=0 GOWORK=off go tool -modfile=<repo>/tools/hugo.mod hugo args...
//
// with Dir set to the repository root (go tool -modfile requires the main module's root as working
// directory). Relative paths in args are therefore relative to the repository root, and so is Hugo's
// default --source; prefer absolute paths. Inherited HUGO_* environment variables (other than
// HUGO_CACHEDIR) are dropped so that the caller's environment cannot change the build; set cmd.Env to
// add some back. Stdout and Stderr are left for the caller to set.
func Hugo(args ...string) *exec.Cmd {
	root, err := RepoRoot()
	if err != nil {
		// Keep the signature simple: a command that fails with a clear message when run.
		cmd := exec.Command("false")
		cmd.Err = err
		return cmd
	}
	goArgs := append([]string{"tool", "-modfile=" + filepath.Join(root, "tools", "hugo.mod"), "hugo"}, args...)
	// "go" from PATH: go test and go run put the toolchain that runs them first on PATH.
	cmd := exec.Command("go", goArgs...)
	cmd.Dir = root
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "CGO_ENABLED" || k == "GOWORK" || k == "GOFLAGS":
			continue
		case strings.HasPrefix(strings.ToUpper(k), "HUGO_") && !strings.EqualFold(k, "HUGO_CACHEDIR"):
			continue
		}
		env = append(env, kv)
	}
	// GOFLAGS is dropped too: e.g. -mod=vendor or -modfile from the caller would break the tool build.
	cmd.Env = append(env, "CGO_ENABLED=0", "GOWORK=off")
	return cmd
}

// Build generates the video if needed (EnsureMedia), then builds the testsite with the pinned Hugo into
// dst:
//
//	hugo --source <Dir()> --destination <abs dst> --noBuildLock [extraArgs...]
//
// dst is made absolute against the caller's working directory first. That matters because Hugo resolves
// a relative --destination (and a relative publishDir) against the site's directory (--source), not
// against the working directory: measured with v0.165.0, `cd /tmp/x && hugo --source ../site -d out`
// writes /tmp/site/out. (A relative --source is resolved against the working directory, which for Hugo
// is the repository root, see Hugo.)
//
// --noBuildLock keeps Hugo from creating and locking testsite/.hugo_build.lock, so parallel test
// processes build concurrently instead of queueing (the testsite does no image processing, so nothing is
// written into testsite/resources/). extraArgs follow and may override, e.g. "--minify" or
// "--baseURL", "http://127.0.0.1:8080/project/". dst is not cleaned: pass "--cleanDestinationDir" to
// remove stale files from an earlier build. On failure the error includes Hugo's output.
func Build(dst string, extraArgs ...string) error {
	if dst == "" {
		return errors.New("testsite: Build: empty destination")
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("testsite: %w", err)
	}
	if err := EnsureMedia(); err != nil {
		return err
	}
	args := append([]string{"--source", Dir(), "--destination", abs, "--noBuildLock"}, extraArgs...)
	cmd := Hugo(args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("testsite: hugo %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
