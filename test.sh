#!/usr/bin/env bash
# Runs planktos's whole test suite — exactly what CI runs. Installs missing tools first (scripts/deps.sh).
# Browser tests that use WebRTC run inside a private network namespace (unshare --net) so that no traffic
# leaves loopback; that needs root (or user namespaces).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/deps.sh test

echo "==> gofmt, go vet"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './runtime/node_modules/*'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...

echo "==> runtime: unit tests and reproducible bundle"
(cd runtime && npm test && npm run typecheck && sh check-dist.sh)

echo "==> go test (build first: nothing is downloaded inside the network namespace)"
go test -count=1 -run XXX_build_only ./... >/dev/null
unshare --net -- sh -c 'ip link set lo up && exec "$@"' _ \
  go test -count=1 -timeout 25m ./... "$@"
