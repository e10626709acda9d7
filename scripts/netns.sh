#!/bin/sh
# Runs a command in a private network namespace: loopback plus one non-loopback interface, d0, at
# 198.18.0.1/24 (RFC 2544's benchmarking range; nothing routes there), with a default route through it
# — as every real machine has one: browsers offer ICE candidates only for the default route's interface,
# and none at all without one. WebRTC tests need it: traffic must not leave the machine, and
# pion/webrtc (the Go seeder's WebRTC) gathers no loopback ICE candidates. d0 is a dummy interface, or
# one end of a veth pair where the kernel has no dummy driver (d1, the other end, has no address: what
# the default route sends beyond 198.18.0.0/24 goes nowhere).
# It is also a private mount namespace with its own tmpfs on /run/netns, so that tests can make more
# namespaces with `ip netns` (internal/fieldnet: homes behind NAT routers) without touching the
# machine's. Needs root (or user namespaces). Usage: scripts/netns.sh COMMAND [ARGS...]
set -e
exec unshare --net --mount --propagation private -- sh -c '
  set -e
  mkdir -p /run/netns
  mount -t tmpfs -o mode=0755 planktos-netns /run/netns
  ip link set lo up
  if ! ip link add d0 type dummy 2>/dev/null; then
    ip link add d0 type veth peer name d1
    ip link set d1 up
  fi
  ip addr add 198.18.0.1/24 dev d0
  ip link set d0 up
  ip route add default dev d0
  exec "$@"' _ "$@"
