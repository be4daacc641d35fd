#!/usr/bin/env bash
# netns.sh: N network namespaces that stand for N hosts in the cluster
# tests, joined by a bridge in the root namespace.
#
#   netns.sh up NAME N SUBNET    SUBNET is three octets, e.g. 10.47.0
#   netns.sh down NAME N
#
# up makes bridge NAME-br (SUBNET.1/24, the address the test's etcd and
# Redis listen on) and, for host i in 1..N, namespace NAME-i with a veth
# pair whose inner end is eth0 at SUBNET.(10+i)/24 (its default route the
# bridge), and lo up. It prints "netns" on success. Where namespaces
# cannot be made (no root, no CAP_SYS_ADMIN, a container without them) it
# makes nothing, prints "loopback", and the callers put host i on
# 127.0.0.(1+i) instead. down removes what up made and is idempotent.
set -uo pipefail
cmd=${1:?up|down} name=${2:?name} n=${3:?count}

down() {
  for ((i = 1; i <= n; i++)); do
    ip netns del "$name-$i" 2>/dev/null
    ip link del "$name-h$i" 2>/dev/null
  done
  ip link del "$name-br" 2>/dev/null
  return 0
}

up() {
  local subnet=${1:?subnet}
  command -v ip >/dev/null || { echo loopback; return 0; }
  down
  if ! ip netns add "$name-probe" 2>/dev/null; then
    echo loopback
    return 0
  fi
  ip netns del "$name-probe"
  set -e
  ip link add "$name-br" type bridge forward_delay 0 stp_state 0
  ip addr add "$subnet.1/24" dev "$name-br"
  ip link set "$name-br" up
  for ((i = 1; i <= n; i++)); do
    ip netns add "$name-$i"
    ip link add "$name-h$i" type veth peer name "$name-g$i"
    ip link set "$name-h$i" master "$name-br" up
    ip link set "$name-g$i" netns "$name-$i"
    ip -n "$name-$i" link set "$name-g$i" name eth0
    ip -n "$name-$i" addr add "$subnet.$((10 + i))/24" dev eth0
    ip -n "$name-$i" link set eth0 up
    ip -n "$name-$i" link set lo up
    ip -n "$name-$i" route add default via "$subnet.1"
  done
  set +e
  # the bridge's ports forward at once (no STP delay), but wait for them
  for ((t = 0; t < 50; t++)); do
    [[ $(bridge link show master "$name-br" 2>/dev/null | grep -c forwarding) -ge $n ]] && break
    sleep 0.1
  done
  echo netns
}

case $cmd in
up) up "${4:-}" ;;
down) down ;;
*) echo "usage: $0 up|down NAME N [SUBNET]" >&2; exit 2 ;;
esac
