#!/usr/bin/env bash
# Runs planktos's whole test suite — exactly what CI runs. Installs missing tools first (scripts/deps.sh).
# Tests run inside a private network namespace (scripts/netns.sh: unshare --net --mount, loopback plus one
# interface at 198.18.0.1 with a default route, as a real machine has — browsers offer ICE candidates only
# for the default route's interface, and the Go seeder's WebRTC gathers none on loopback) so that no traffic
# leaves the machine; the field tests build homes behind NAT routers inside it (internal/fieldnet). That
# needs root (or user namespaces). WebRTC tests skip outside it.
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
scripts/netns.sh go test -count=1 -timeout 25m ./... "$@"
