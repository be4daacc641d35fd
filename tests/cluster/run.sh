#!/usr/bin/env bash
# run.sh: the cluster test's entry (CTest): runs cluster.mjs with node and
# always takes its network namespaces down, even when node dies.
#   run.sh NODE_BIN INTEROP_DIR
# Exit 77 (skipped) without node unless ROSTER_TEST_REQUIRE_SERVERS=1.
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node >/dev/null; then
  echo "cluster: node is not installed (scripts/npm.sh)" >&2
  [[ ${ROSTER_TEST_REQUIRE_SERVERS:-} == 1 ]] && exit 1
  exit 77
fi
export CLUSTER_TAG="rc$(($$ % 100000))"
trap '"$here/netns.sh" down "$CLUSTER_TAG" 3' EXIT
node "$here/cluster.mjs" "$1" "$here/netns.sh" "$2"
