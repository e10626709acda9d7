#!/usr/bin/env bash
# The demo: builds the bundled testsite with the pinned Hugo, packages it with planktos, and serves it with
# the origin's WebRTC seeder (planktos serve --seed): visitors get the site's files peer to peer from the
# first visit on. The package has the visitor's badge on (badge = true) and sends visitors' reports to the
# server's tracker (report = true), so the owner's dashboard shows what visitors carried.
# Usage: ./demo.sh [PORT]   (default 8080) — then open http://127.0.0.1:PORT/ and, beside it, the dashboard
set -euo pipefail
cd "$(dirname "$0")"
port=${1:-8080}
url="http://127.0.0.1:$port/"
echo "==> dashboard: ${url}planktos/status (live P2P vs HTTP bytes; or run: planktos stats $url)"
bash scripts/deps.sh demo
echo "==> hugo (testsite, baseURL $url)"
go run ./internal/testsite/build "$PWD/testsite/public" --baseURL "$url" --cleanDestinationDir
go build -o "${TMPDIR:-/tmp}/planktos-demo" ./cmd/planktos
PLANKTOS_BADGE=true PLANKTOS_REPORT=true "${TMPDIR:-/tmp}/planktos-demo" hugo --source testsite --baseURL "$url"
exec "${TMPDIR:-/tmp}/planktos-demo" serve --seed --addr "127.0.0.1:$port" testsite/public
