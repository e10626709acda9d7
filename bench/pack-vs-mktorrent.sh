#!/usr/bin/env bash
# Packaging benchmark: `planktos pack` vs `mktorrent` on the generated ~1 GB site (10,000 pages + 20 × 40 MiB),
# alternating the tools round by round in one run, so that both see the same machine state.
#
#   bench/pack-vs-mktorrent.sh [BENCH_DIR]        # BENCH_DIR defaults to $PLANKTOS_BENCH_DIR or /tmp/planktos-bench
#
# Environment:
#   ROUNDS=5        warm-cache rounds (each: mktorrent, full pack, repack unchanged, repack after one page changed)
#   THREADS=2       mktorrent -t (planktos uses GOMAXPROCS = all CPUs)
#   COLD=1          also measure cold-cache runs (needs root: echo 3 > /proc/sys/vm/drop_caches); 0 to skip
#   COLD_ROUNDS=3   cold rounds
#   KEEP=1          keep the generated site for the next run (0 deletes BENCH_DIR/site and the store at the end)
#   NICE=           e.g. -5 to run the measured commands with that niceness on a busy machine
#
# The site is generated once (go run ./bench/gensite) and cached in BENCH_DIR/site. Before every full pack,
# BENCH_DIR/site/planktos and planktos.sw.js are removed, and the pages planktos rewrites (the few without the
# install tag, and the page the "one page changed" variant edits) are restored from BENCH_DIR/pristine,
# so that every round does the same work and mktorrent never sees planktos's output.
# Wall time is measured around the process; peak RSS, user and sys CPU come from /usr/bin/time.
# Results: one TSV row per run in BENCH_DIR/results-<time>.tsv, summary on stdout.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-${PLANKTOS_BENCH_DIR:-/tmp/planktos-bench}}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-2}
COLD=${COLD:-1}
COLD_ROUNDS=${COLD_ROUNDS:-3}
KEEP=${KEEP:-1}
NICE=${NICE:-}
SITE=$DIR/site
BIN=$DIR/planktos
TORRENT=$DIR/mktorrent.torrent
CHANGED=docs/topic-05/page-010/index.html # the page the "one page changed" variant edits
BASE_URL=http://127.0.0.1:8080/
TRACKER=ws://127.0.0.1:8000/announce
STAMP="gensite default seed=1 v1"

die() { echo "pack-vs-mktorrent: $*" >&2; exit 1; }
for t in mktorrent go awk; do command -v $t >/dev/null || die "$t is missing (apt-get install -y mktorrent; Go ≥ 1.26)"; done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install -y time"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
SITE=$DIR/site BIN=$DIR/planktos TORRENT=$DIR/mktorrent.torrent

# --- the site, generated once ------------------------------------------------------------------------------
if [ "$(cat "$DIR/site.stamp" 2>/dev/null)" != "$STAMP" ]; then
	avail=$(df -Pk "$DIR" | awk 'NR==2 {print $4}')
	[ "$avail" -gt $((3 * 1024 * 1024)) ] || die "need 3 GB free in $DIR (site + store), have $((avail / 1024)) MB"
	rm -rf "$SITE" "$DIR/pristine" "$DIR/site.stamp"
	echo "Generating the site in $SITE (once; cached for later runs)"
	(cd "$REPO" && go run ./bench/gensite -out "$SITE" -list "$DIR/untagged.list")
	mkdir -p "$DIR/pristine"
	(cd "$SITE" && cp -a --parents $(cat "$DIR/untagged.list") "$CHANGED" "$DIR/pristine/")
	echo "$STAMP" >"$DIR/site.stamp"
fi
(cd "$REPO" && go build -o "$BIN" ./cmd/planktos)

# restore: the site as gensite wrote it, without any planktos output.
restore() {
	rm -rf "$SITE/planktos" "$SITE/planktos.sw.js" "$TORRENT"
	cp -a "$DIR/pristine/." "$SITE/"
}

# --- machine --------------------------------------------------------------------------------------------------
BYTES=$(find "$SITE" -type f -not -path "$SITE/planktos/*" -not -name planktos.sw.js -printf '%s\n' | awk '{s+=$1} END {print s}')
FILES=$(find "$SITE" -type f -not -path "$SITE/planktos/*" -not -name planktos.sw.js | wc -l)
# planktos's automatic piece length: the smallest power of two ≥ 16 KiB giving at most 1500 pieces.
PL=14
while [ $PL -lt 24 ] && [ $((BYTES / (1 << PL))) -gt 1500 ]; do PL=$((PL + 1)); done
echo "== planktos pack vs mktorrent, $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine:   $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "bench dir: $DIR ($(findmnt -no FSTYPE -T "$DIR" 2>/dev/null | head -1 || stat -f -c %T "$DIR"))"
echo "tools:     $(go version | cut -d' ' -f3-4), $(mktorrent -h 2>&1 | head -1 | cut -d' ' -f1-2), planktos built from $REPO"
echo "site:      $FILES files, $BYTES bytes; piece length 2^$PL"
echo "rounds:    $ROUNDS warm$([ "$COLD" = 1 ] && echo ", $COLD_ROUNDS cold"); mktorrent -t $THREADS; planktos GOMAXPROCS=$(nproc)"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"

OUT=$DIR/results-$(date +%Y%m%dT%H%M%S).tsv
printf 'round\tcase\twall_s\tpeak_rss_kb\tuser_s\tsys_s\tload1\n' >"$OUT"
LOG=$DIR/last-run.log

# measure ROUND CASE CMD...: one timed run, appended to $OUT.
measure() {
	local round=$1 case=$2
	shift 2
	sync # write back what the previous run left dirty, outside the timing
	local load t0 t1
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$EPOCHREALTIME
	${NICE:+nice -n "$NICE"} /usr/bin/time -f '%M %U %S' -o "$DIR/time.out" "$@" >"$LOG" 2>&1 ||
		{ cat "$LOG" >&2; die "$case failed"; }
	t1=$EPOCHREALTIME
	read -r rss user sys <"$DIR/time.out"
	local wall
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$case" "$wall" "$rss" "$user" "$sys" "$load" >>"$OUT"
	printf '  %-3s %-18s %7.3f s  %7d KB  user %6.2f  sys %6.2f  load %s\n' "$round" "$case" "$wall" "$rss" "$user" "$sys" "$load"
}

mk() { rm -f "$TORRENT"; measure "$1" "${2:-mktorrent}" mktorrent -t "$THREADS" -l "$PL" -o "$TORRENT" -a "$TRACKER" "$SITE"; }
pack() { (cd "$DIR" && measure "$1" "$2" "$BIN" pack --quiet --trackers "$TRACKER" --base-url "$BASE_URL" "$SITE"); }
edit() { printf '<!-- edited in round %s -->\n' "$1" >>"$SITE/$CHANGED"; }

# --- warm cache -------------------------------------------------------------------------------------------------
restore
echo "warming the page cache (reading the site once)"
find "$SITE" -type f -print0 | xargs -0 cat >/dev/null
for r in $(seq 1 "$ROUNDS"); do
	restore
	if [ $((r % 2)) = 1 ]; then mk "$r"; fi
	pack "$r" pack-full
	pack "$r" repack-unchanged
	edit "$r"
	pack "$r" repack-1-page
	if [ $((r % 2)) = 0 ]; then restore; mk "$r"; fi
done

# --- cold cache ---------------------------------------------------------------------------------------------------
drop() { sync && echo 3 >/proc/sys/vm/drop_caches; }
if [ "$COLD" = 1 ]; then
	if drop 2>/dev/null; then
		for r in $(seq 1 "$COLD_ROUNDS"); do
			restore
			drop
			mk "c$r" mktorrent-cold
			restore
			drop
			pack "c$r" pack-full-cold
		done
	else
		echo "cold cache: cannot drop the page cache here (needs root); skipped"
	fi
fi
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at the end"

# --- summary ----------------------------------------------------------------------------------------------------
echo
echo "results: $OUT"
awk -F'\t' -v bytes="$BYTES" '
NR == 1 { next }
{ n[$2]++; wall[$2, n[$2]] = $3; rss[$2, n[$2]] = $4; cpu[$2, n[$2]] = $5 + $6; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
function median(a, c, m,   i, j, t, v) {
	for (i = 1; i <= m; i++) v[i] = a[c, i]
	for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
	return m % 2 ? v[(m+1)/2] : (v[m/2] + v[m/2+1]) / 2
}
function maxof(a, c, m,   i, x) { x = 0; for (i = 1; i <= m; i++) if (a[c, i] + 0 > x) x = a[c, i] + 0; return x }
function minof(a, c, m,   i, x) { x = a[c, 1]; for (i = 2; i <= m; i++) if (a[c, i] + 0 < x) x = a[c, i] + 0; return x }
END {
	printf "%-18s %4s %10s %9s %11s %13s %10s\n", "case", "runs", "median s", "min s", "MB/s (med)", "peak RSS MiB", "CPU s (med)"
	for (i = 1; i <= k; i++) {
		c = order[i]; m = n[c]; med[c] = median(wall, c, m); mcpu[c] = median(cpu, c, m)
		printf "%-18s %4d %10.3f %9.3f %11.0f %13.1f %10.2f\n", c, m, med[c], minof(wall, c, m), bytes / med[c] / 1e6, maxof(rss, c, m) / 1024, mcpu[c]
	}
	print ""
	if (med["mktorrent"] > 0) {
		printf "ratio pack-full / mktorrent (median wall):   %.2fx  (target <= 1.5x)\n", med["pack-full"] / med["mktorrent"]
		printf "ratio pack-full / mktorrent (median CPU):    %.2fx\n", mcpu["pack-full"] / mcpu["mktorrent"]
	}
	if (med["pack-full"] > 0) {
		printf "ratio repack-unchanged / pack-full (wall):   %.2fx\n", med["repack-unchanged"] / med["pack-full"]
		printf "ratio repack-1-page / pack-full (wall):      %.2fx  (target <= 0.1x)\n", med["repack-1-page"] / med["pack-full"]
	}
	if (med["mktorrent-cold"] > 0)
		printf "ratio pack-full-cold / mktorrent-cold (wall): %.2fx\n", med["pack-full-cold"] / med["mktorrent-cold"]
}' "$OUT"

restore
if [ "$KEEP" = 0 ]; then rm -rf "$SITE" "$DIR/pristine" "$DIR/site.stamp" "$BIN"; fi
