#!/usr/bin/env bash
# The demo: builds the bundled testsite with the pinned Hugo, packages it with planktos, and serves it with
# the origin's WebRTC seeder (planktos serve --seed): visitors get the site's files peer to peer from the
# first visit on.
# Usage: ./demo.sh [PORT]   (default 8080) — then open http://127.0.0.1:PORT/
set -euo pipefail
cd "$(dirname "$0")"
port=${1:-8080}
url="http://127.0.0.1:$port/"
bash scripts/deps.sh demo
echo "==> hugo (testsite, baseURL $url)"
go run ./internal/testsite/build "$PWD/testsite/public" --baseURL "$url" --cleanDestinationDir
go build -o "${TMPDIR:-/tmp}/planktos-demo" ./cmd/planktos
"${TMPDIR:-/tmp}/planktos-demo" hugo --source testsite --baseURL "$url"
exec "${TMPDIR:-/tmp}/planktos-demo" serve --seed --addr "127.0.0.1:$port" testsite/public
