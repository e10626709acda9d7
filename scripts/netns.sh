#!/bin/sh
# Runs a command in a private network namespace: loopback plus one non-loopback interface, d0, at
# 198.18.0.1/24 (RFC 2544's benchmarking range; nothing routes there). WebRTC tests need it: traffic
# must not leave the machine, and pion/webrtc (the Go seeder's WebRTC) gathers no loopback ICE candidates.
# d0 is a dummy interface, or one end of a veth pair where the kernel has no dummy driver.
# Needs root (or user namespaces). Usage: scripts/netns.sh COMMAND [ARGS...]
set -e
exec unshare --net -- sh -c '
  set -e
  ip link set lo up
  if ! ip link add d0 type dummy 2>/dev/null; then
    ip link add d0 type veth peer name d1
    ip link set d1 up
  fi
  ip addr add 198.18.0.1/24 dev d0
  ip link set d0 up
  exec "$@"' _ "$@"
