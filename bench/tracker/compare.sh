#!/usr/bin/env bash
# Tracker benchmark: `planktos tracker` vs the npm bittorrent-tracker 11 server under the same Go load
# generator (bench/tracker/load), for 1k, 5k and 10k connections, in one run. Each connection joins 3
# swarms (about 60 peers each), then announces in a closed loop with 5 offers of ~3 KB SDP and answers
# (~1.5 KB) every offer relayed to it.
#
#   bench/tracker/compare.sh              # prints a markdown table with planktos ÷ npm ratios
#
# Environment:
#   CONNS="1000 5000 10000"   connection counts
#   DURATION=20s              measured load per run (after WARMUP=3s)
#   ROUNDS=2                  rounds; each runs every connection count against both servers in turn,
#                             and the ratios are of the medians (the machine may be shared)
#   PIN=1                     on ≥ 2 CPUs: server on CPU 0, load generator on CPU 1 (taskset), so
#                             both servers get one core and never compete with the generator; 0 = no pinning
#   OUT=/tmp/...jsonl         where the per-run results go
#   IMPLS="planktos bittorrent-tracker"   the servers, in turn; planktos-goroutine is `planktos tracker`
#                             in its portable goroutine engine (PLANKTOS_TRACKER_ENGINE=goroutine),
#                             so IMPLS="planktos planktos-goroutine" compares the two engines
#
# Memory per connection = (server VmRSS after connecting and joining − VmRSS before) ÷ connections,
# read from /proc/PID/status; "under load" uses the highest RSS sampled during the load.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CONNS=${CONNS:-1000 5000 10000}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
PIN=${PIN:-1}
ROUNDS=${ROUNDS:-2}
IMPLS=${IMPLS:-planktos bittorrent-tracker}
TMP=$(mktemp -d)
OUT=${OUT:-$TMP/results.jsonl}
NODE_MODULES=$REPO/runtime/node_modules

die() { echo "compare: $*" >&2; exit 1; }
if [[ " $IMPLS " == *" bittorrent-tracker "* ]]; then
	command -v node >/dev/null || die "node is missing"
	[ -f "$NODE_MODULES/bittorrent-tracker/package.json" ] || die "run: cd runtime && npm ci --ignore-scripts"
fi

# 10k connections need 10k descriptors on each side (the generator and the server are children).
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 12000 ] || echo "compare: warning: ulimit -n is $(ulimit -n); 10k connections may fail" >&2

SERVER_PIN=() LOAD_PIN=()
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	SERVER_PIN=(taskset -c 0) LOAD_PIN=(taskset -c 1)
fi

SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
	rm -f "$TMP/planktos" "$TMP/load"
}
trap cleanup EXIT

(cd "$REPO" && go build -o "$TMP/planktos" ./cmd/planktos && go build -o "$TMP/load" ./bench/tracker/load)

# The npm server exactly as documented: WebSocket only, imported as bittorrent-tracker/server.
NPM_SERVER="import Server from 'bittorrent-tracker/server'
const server = new Server({ udp: false, http: false, ws: true })
server.on('warning', () => {})
server.on('error', err => console.error(err.message))
server.listen(Number(process.argv[1]), '127.0.0.1')"

start_server() { # impl port
	case $1 in
	planktos)
		"${SERVER_PIN[@]}" "$TMP/planktos" tracker -q --addr "127.0.0.1:$2" --rate 0 --max-conns 0 &
		;;
	planktos-goroutine)
		PLANKTOS_TRACKER_ENGINE=goroutine "${SERVER_PIN[@]}" "$TMP/planktos" tracker -q --addr "127.0.0.1:$2" --rate 0 --max-conns 0 &
		;;
	bittorrent-tracker)
		(cd "$REPO/runtime" && exec "${SERVER_PIN[@]}" node --input-type=module -e "$NPM_SERVER" "$2") &
		;;
	esac
	SERVER_PID=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return
		sleep 0.1
	done
	die "$1 did not start on port $2"
}

stop_server() {
	kill -INT "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -srm), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))," \
	"$(go version | cut -d' ' -f3), node $(node --version), bittorrent-tracker $(node -p "require('$NODE_MODULES/bittorrent-tracker/package.json').version")," \
	"pinning: ${SERVER_PIN[*]:-none} / ${LOAD_PIN[*]:-none}"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
port=18700
for round in $(seq "$ROUNDS"); do
	for n in $CONNS; do
		for impl in $IMPLS; do
			port=$((port + 1))
			while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done # in use
			echo "## round $round, $n connections, $impl"
			start_server "$impl" "$port"
			"${LOAD_PIN[@]}" "$TMP/load" -url "ws://127.0.0.1:$port/announce" -conns "$n" -duration "$DURATION" \
				-warmup "$WARMUP" -pid "$SERVER_PID" -label "$impl" -json "$OUT"
			stop_server
			sleep 2 # let the sockets of the last run close
		done
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$TMP/load" -report "$OUT"
echo
echo "results: $OUT"
