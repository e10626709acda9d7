#!/usr/bin/env bash
# Installs what planktos's demo and tests need beyond Go, if it is missing:
#   ffmpeg (the testsite's video), chromium (browser tests), mktorrent (benchmarks), btrfs-progs (the
#   copy-on-write store test mounts a btrfs image), iptables (the field network's NAT routers,
#   internal/fieldnet), coturn (STUN in the field tests), libnss3-tools (certutil: browsers trust the
#   test CA), firefox-esr (the Firefox tests), webkit2gtk-driver, xvfb, python3-gi, gir1.2-webkit2-4.1
#   (the WebKitGTK tests: WebKitWebDriver, a display, e2e/webkit/shell.py; video needs only the
#   GStreamer plugins WebKitGTK depends on) from Debian,
#   doxygen-doc, asciidoctor-doc, and with PLANKTOS_E2E_LARGE=1 python3-doc (built documentation sites
#   nobody here wrote — Doxygen, RDoc, Sphinx — that e2e/sites_test.go packages and loads) from Debian,
#   the runtime's npm packages, and the pinned Hugo (compiled once through the Go module proxy).
# Usage: scripts/deps.sh [demo|test]   (demo needs only ffmpeg and Hugo)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-test}

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
if [ "$what" = test ]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v mktorrent >/dev/null || need+=(mktorrent)
  command -v mkfs.btrfs >/dev/null || need+=(btrfs-progs)
  command -v iptables >/dev/null || need+=(iptables)
  command -v turnserver >/dev/null || need+=(coturn)
  command -v certutil >/dev/null || need+=(libnss3-tools)
  command -v firefox-esr >/dev/null || need+=(firefox-esr)
  command -v WebKitWebDriver >/dev/null || need+=(webkit2gtk-driver)
  command -v Xvfb >/dev/null || need+=(xvfb)
  /usr/bin/python3 -c "import gi; gi.require_version('WebKit2', '4.1')" 2>/dev/null || need+=(python3-gi gir1.2-webkit2-4.1)
  if [ -n "${PLANKTOS_E2E_LARGE:-}" ]; then dpkg -s python3-doc >/dev/null 2>&1 || need+=(python3-doc); fi
  dpkg -s doxygen-doc >/dev/null 2>&1 || need+=(doxygen-doc)
  dpkg -s asciidoctor-doc >/dev/null 2>&1 || need+=(asciidoctor-doc)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "planktos: please install ${need[*]} (sudo apt-get install -y ${need[*]})" >&2
    exit 1
  fi
  echo "==> apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ "$what" = test ]; then
  echo "==> npm ci (runtime)"
  (cd runtime && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "==> npm ci (e2e/firefox: puppeteer-core, drives the system's firefox-esr)" && (cd e2e/firefox && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "==> npm ci (e2e/webkit: selenium-webdriver, drives the system's WebKitWebDriver)" && (cd e2e/webkit && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi

echo "==> Go modules and the pinned Hugo (the first build of Hugo takes a few minutes)"
go mod download
CGO_ENABLED=0 GOWORK=off GOFLAGS= go tool -modfile=tools/hugo.mod hugo version
