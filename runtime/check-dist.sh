#!/bin/sh
# Rebuilds the runtime into a temporary directory and fails if it differs from the committed dist/.
# Needs node_modules (npm ci --ignore-scripts); CI runs: cd runtime && npm ci --ignore-scripts && ./check-dist.sh
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node build.mjs "$tmp/dist" >/dev/null
if ! diff -r dist "$tmp/dist" >/dev/null; then
  echo "runtime/dist is stale: run 'npm run build' in runtime/ and commit dist/" >&2
  diff -rq dist "$tmp/dist" >&2 || true
  exit 1
fi
echo "runtime/dist is up to date"
