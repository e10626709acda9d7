package e2e

import (
	"fmt"
	"testing"
)

// ffFreshVideoJS points the page's video at its own URL with a new query string (the service worker
// ignores it: the same manifest file) so that Firefox, which keeps media in its own cache across
// pages, asks the service worker for every range again — once the page's agent (planktos/peer.js,
// added after the load event) has loaded; then waits for the metadata.
const ffFreshVideoJS = `(async () => {
  const v = document.querySelector('video');
  const end = Date.now() + 30000;
  while (!performance.getEntriesByType('resource').some(e => e.name.endsWith('/planktos/peer.js') && e.responseEnd > 0)) {
    if (Date.now() > end) throw new Error('planktos/peer.js not loaded in 30 s');
    await new Promise(r => setTimeout(r, 50));
  }
  const loaded = new Promise((resolve, reject) => {
    v.addEventListener('loadedmetadata', resolve, { once: true });
    v.addEventListener('error', () => reject(new Error('video error ' + (v.error && v.error.message))), { once: true });
  });
  v.src = v.currentSrc.split('?')[0] + '?' + %d;
  await loaded;
  return true;
})()`

// ffSettledJS waits (up to 30 s) until the page's video reads nothing more (buffered to its end, or
// the element idle).
const ffSettledJS = `(async () => {
  const end = Date.now() + 30000;
  const v = document.querySelector('video');
  const idle = () => !v || v.networkState !== 2 ||
    (v.buffered.length > 0 && v.buffered.end(v.buffered.length - 1) >= v.duration - 0.01);
  while (!idle()) {
    if (Date.now() > end) return 'networkState ' + (v && v.networkState);
    await new Promise(r => setTimeout(r, 50));
  }
  return '';
})()`

// Firefox, the video page 20 times in a row, each time reading the video through the service worker
// again: it plays and seeks (ffVideoJS) and loads to its end. Firefox logs "A ServiceWorker
// intercepted the request and encountered an unexpected error" whenever a response its service worker
// gave is cancelled before the page read it to the end, whatever its body (a stream, a Blob, bytes in
// memory; see TestFirefoxStreamCancelError), and its media element cancels often: when the page goes
// or the src changes while it holds the response it suspended after the metadata
// (preload="metadata"), when it leaves the range it reads for the WebM index at the file's end, and to
// seek. Each run first points the paused video at a new URL (so that Firefox, which keeps media in its
// own cache across pages, reads it again). Measured with one open-ended `bytes=0-` answer (the
// runtime before 2026-12-02): the report on all 20 src changes and in 2 of 20 runs while playing and
// seeking. With media ranges answered in 256 KiB slices: 0–3 reports in all per 20 runs (in 100 runs,
// 5 on src changes and 3 while playing and seeking). So any other console error fails, and so do more
// than 4 reports in 20 runs.
func TestFirefoxVideoConsole(t *testing.T) {
	needFirefox(t)
	dir := packedSite(t, "/", "")
	m := readManifest(t, dir)
	serveSite(t, dir, "/")
	f := newFirefox(t, "")
	f.installed("/", m.storable())
	f.consoleErrors()
	left, cancelled := 0, 0
	for i := 0; i < 20; i++ {
		f.open("/media/")
		var ok bool
		f.mustEval(fmt.Sprintf(ffFreshVideoJS, i), &ok)
		known, other := ffKnownErrors(pageErrors(f.consoleErrors()))
		left += len(known)
		if len(other) > 0 {
			t.Errorf("run %d, opening the page: console: %q", i, other)
		}
		var v ffVideo
		f.mustEval(ffVideoJS, &v)
		if v.At < 9.5 || v.Played <= 0 || v.RangeStatus != 206 || v.RangeBytes != 1000 || v.Source == "" {
			t.Errorf("run %d: video %+v (want played, at 10 s after seeking, and a 206 from the service worker)", i, v)
		}
		var unsettled string
		f.mustEval(ffSettledJS, &unsettled)
		if unsettled != "" {
			t.Errorf("run %d: the page did not settle in 30 s: %s", i, unsettled)
		}
		known, other = ffKnownErrors(pageErrors(f.consoleErrors()))
		if len(known) > 0 {
			cancelled++
			t.Logf("run %d, playing, seeking and loading the video: %q", i, known)
		}
		if len(other) > 0 {
			t.Errorf("run %d, playing, seeking and loading the video: console: %q", i, other)
		}
	}
	t.Logf("Firefox's report of a cancelled response: in %d of 20 runs while playing and seeking; %d times when the src changed", cancelled, left)
	if cancelled+left > 4 {
		t.Errorf("Firefox reported %d cancelled responses in 20 runs (%d while playing and seeking, %d on src changes): want at most 4",
			cancelled+left, cancelled, left)
	}
}
