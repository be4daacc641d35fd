#!/usr/bin/env bash
# Installs every Debian 12 package roster needs to build, test and benchmark.
# Idempotent and quiet: asks apt only for what is missing.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git       # toolchain
  liburcu-dev libxxhash-dev                  # core: RCU hash table, XXH3
  libjansson-dev                             # core: JSON (graph, config, log)
  liburiparser-dev                           # core: service URLs
  libyaml-dev                                # config: YAML files
  tzdata                                     # cron: IANA time zones
  libsqlite3-dev                             # module sqlite
  libpq-dev                                  # module pg
  libmariadb-dev                             # module mariadb
  libhiredis-dev                             # module redis
  libhttp-parser-dev libwslay-dev libssl-dev # module httpd
  libcurl4-openssl-dev                       # module http
  libmongoc-dev                              # module mongodb (libbson too)
  libmsgpack-dev                             # module sio_redis (msgpack-c)
  libcmocka-dev                              # tests
  clang libclang-rt-14-dev                   # fuzzing: libFuzzer, sanitizers
  clang-format                               # make format; the source_format test
  postgresql mariadb-server mariadb-client   # test servers (and pgbench,
  redis-server redis-tools                   #   mariadb-slap, redis-benchmark)
  sqlite3                                    # tests: inspect SQLite files
  prometheus                                 # tests: promtool checks /metrics
  chromium                                   # tests: the dashboard in a browser
  openssl                                    # tests: a certificate for HTTP/2
  etcd-server etcd-client                    # tests: a 3-member etcd cluster
  iproute2                                   # tests: hosts in network namespaces
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
