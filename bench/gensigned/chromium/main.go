// Command chromium times the runtime's openEnvelope (runtime/src/common/signed.js) in Debian Chromium,
// headless, on the envelope bench/gensigned wrote — what open.mjs times in Node, in the browser that
// runs it:
//
//	go run ./bench/gensigned -out /tmp/signed -files 10000
//	go run ./bench/gensigned/chromium -dir /tmp/signed
//
// It serves the repository root and DIR on loopback (a secure context: WebCrypto is there), imports
// signed.js as an ES module in a page and prints the medians and minimums, in ms, as JSON.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/planktos/planktos/internal/testsite"
)

// timeJS runs openEnvelope on the good envelope, the Ed25519 check alone, and openEnvelope on an
// envelope with one byte changed, rounds times each after two warm-ups.
const timeJS = `(async (rounds) => {
  const { openEnvelope } = await import('/runtime/src/common/signed.js');
  const env = new Uint8Array(await (await fetch('/signed/envelope.bin')).arrayBuffer());
  const key = (await (await fetch('/signed/key.txt')).text()).trim();
  const time = async (f) => {
    await f(); await f();
    const ms = [];
    for (let i = 0; i < rounds; i++) { const t = performance.now(); await f(); ms.push(performance.now() - t); }
    ms.sort((a, b) => a - b);
    return { median: ms[rounds >> 1], min: ms[0] };
  };
  const opened = await openEnvelope(key, env.slice());
  const bad = env.slice();
  bad[bad.length - 10] ^= 1;
  const raw = Uint8Array.from(atob(key), (c) => c.charCodeAt(0));
  return JSON.stringify({
    bytes: env.byteLength, files: opened ? Object.keys(opened.manifest.files).length : -1,
    openEnvelope: await time(() => openEnvelope(key, env.slice())),
    verify: await time(async () => {
      const k = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
      await crypto.subtle.verify('Ed25519', k, env.subarray(0, 64), env.subarray(64));
    }),
    refused: await time(() => openEnvelope(key, bad)),
    browser: navigator.userAgent,
  });
})`

func main() {
	dir := flag.String("dir", "", "what bench/gensigned wrote (required)")
	rounds := flag.Int("rounds", 30, "timed rounds per measure")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "chromium: -dir is required")
		os.Exit(2)
	}
	out, err := run(*dir, *rounds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chromium:", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

func run(dir string, rounds int) (string, error) {
	root, err := testsite.RepoRoot()
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(root)))
	mux.Handle("/signed/", http.StripPrefix("/signed/", http.FileServer(http.Dir(dir))))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	go http.Serve(l, mux)

	profile, err := os.MkdirTemp("", "planktos-bench-chromium-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(profile)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.Flag("no-sandbox", true), chromedp.UserDataDir(profile))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, stop := context.WithTimeout(ctx, 5*time.Minute)
	defer stop()
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("http://%s/bench/", l.Addr()))); err != nil {
		return "", fmt.Errorf("opening the page: %w", err)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("%s(%d)", timeJS, rounds), chromedp.EvalAwaitPromise))
	if err != nil {
		return "", fmt.Errorf("timing: %w", err)
	}
	return out, nil
}
