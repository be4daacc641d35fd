#!/usr/bin/env bash
# Real servers for the tests and benchmarks, on 127.0.0.1 high ports, each
# in a fresh directory, each stopped by its pid.
#
#   scripts/services.sh start DIR [pg] [mariadb] [redis] [mongodb] [etcd]
#       starts the named servers (all five when none is named) under DIR
#       and writes DIR/env: export lines for ROSTER_TEST_PG_URL,
#       ROSTER_TEST_MARIADB_URL, ROSTER_TEST_REDIS_URL,
#       ROSTER_TEST_MONGODB_URL (and their pids), and for etcd
#       ROSTER_TEST_ETCD_ENDPOINTS ("http://127.0.0.1:P1,...": a 3-member
#       cluster, data in DIR/etcd/mN), ROSTER_TEST_ETCD_PID1..3 and
#       ROSTER_TEST_ETCD_DIR (DIR, for etcd-member).
#       Ports: ROSTER_PORT_BASE (default 47000) + 1 (pg), + 2 (mariadb),
#       + 3 (redis), + 4 (mongodb), + 5..7 (etcd members' clients),
#       + 8..10 (etcd members' peers). Fails if a server does not come up.
#   scripts/services.sh etcd-member DIR N start|stop
#       stops (SIGTERM, by its pid) or starts again (on its data) etcd
#       member N (1..3) of the cluster started under DIR: the fault tests
#       use it; the member's pid is in DIR/etcd/mN/pid.
#   scripts/services.sh stop DIR
#       stops every server started under DIR (SIGINT for PostgreSQL, SIGTERM
#       for the others, SIGKILL after 20 s) and waits until each is gone.
#   scripts/services.sh start-one KIND DIR PORT
#   scripts/services.sh stop-one DIR
#       one server in its own directory: the fault tests use these to run a
#       server of their own that they can stop and start again (start-one
#       on an existing DIR keeps its data). Redis also listens on
#       DIR/redis.sock (for unix:// URLs).
#
# The MongoDB server is CongoDB, a wire-protocol server in TypeScript, in
# memory, without authentication (scripts/mongo; installed here on first
# use by scripts/mongo/setup-congo.sh).
#
# Every server's three standard streams are redirected, so that a piped
# caller never hangs. PostgreSQL refuses to run as root: as root its data
# directory belongs to the postgres user and initdb and postgres run under
# setpriv (which execs in place, so $! is the server's pid).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
REDIS_PASSWORD=roster-test
MARIADB_USER=roster
MARIADB_PASSWORD=roster-test

die() { echo "services: $*" >&2; exit 1; }

# alive PID: the process exists and is not a zombie.
alive() {
  local st
  [[ -r /proc/$1/stat ]] || return 1
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $st != Z && $st != X ]]
}

# AS_PG: the command prefix that runs PostgreSQL's programs (an array, not
# a function, so that a backgrounded server is a direct child and $! is it).
AS_PG=()
if [[ $(id -u) -eq 0 ]]; then
  AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi

# show_logs LOGDIR: the end of the server's logs there, on stderr (the
# directory is removed when the tests end, so a failure shows them now).
show_logs() {
  local f
  for f in "$1"/server.log "$1"/stdout.log; do
    [[ -s $f ]] || continue
    echo "--- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

# wait_up NAME PID LOGDIR CHECK...: until CHECK succeeds (20 s), the server
# alive; its logs (LOGDIR) shown when it does not come up.
wait_up() {
  local name=$1 pid=$2 logdir=$3
  shift 3
  for _ in $(seq 200); do
    if ! alive "$pid"; then
      show_logs "$logdir"
      die "$name exited while starting"
    fi
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  show_logs "$logdir"
  die "$name did not come up within 20 s"
}

# reserve_ports FIRST LAST: the kernel hands none of these out as the
# local port of an outgoing connection (they are in its ephemeral range,
# 32768-60999), so a test's client cannot hold the port a server is about
# to listen on. Root only (as in CI); otherwise nothing is done.
reserve_ports() {
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports cur
  [[ -w $f ]] || return 0
  cur=$(cat "$f")
  echo "${cur:+$cur,}$1-$2" >"$f" 2>/dev/null || true
}

start_pg() { # DIR PORT
  local dir=$1 port=$2
  mkdir -p "$dir"
  chmod 0755 "$dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$dir"
    "${AS_PG[@]}" "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync \
      -E UTF8 --locale=C.UTF-8 </dev/null >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  "${AS_PG[@]}" "$PGBIN/postgres" -D "$dir/data" -p "$port" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$dir" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=300 </dev/null >"$dir/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  echo pg >"$dir/kind"
  wait_up postgresql "$pid" "$dir" "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port"
  if ! "$PGBIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'roster_test'" | grep -q 1; then
    "$PGBIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
      -c "CREATE DATABASE roster_test" </dev/null >/dev/null
  fi
  echo "postgresql://postgres@127.0.0.1:$port/roster_test"
}

start_mariadb() { # DIR PORT
  local dir=$1 port=$2
  mkdir -p "$dir"
  if [[ ! -d $dir/data/mysql ]]; then
    rm -rf "$dir/data"
    mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db \
      </dev/null >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/sock" \
    --port="$port" --bind-address=127.0.0.1 --user=root \
    --skip-name-resolve --innodb-flush-log-at-trx-commit=0 \
    --innodb-doublewrite=0 --max-connections=300 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --pid-file="$dir/mariadbd.pid" --log-error="$dir/server.log" \
    </dev/null >"$dir/stdout.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  echo mariadb >"$dir/kind"
  wait_up mariadb "$pid" "$dir" mariadb-admin --no-defaults -S "$dir/sock" -u root ping
  mariadb --no-defaults -S "$dir/sock" -u root </dev/null >/dev/null -e "
    CREATE DATABASE IF NOT EXISTS roster_test;
    CREATE USER IF NOT EXISTS '$MARIADB_USER'@'%' IDENTIFIED BY '$MARIADB_PASSWORD';
    GRANT ALL ON *.* TO '$MARIADB_USER'@'%';
    FLUSH PRIVILEGES;"
  echo "mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$port/roster_test"
}

start_redis() { # DIR PORT
  local dir=$1 port=$2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$dir" --requirepass "$REDIS_PASSWORD" \
    --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
    --logfile "$dir/server.log" </dev/null >"$dir/stdout.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  echo redis >"$dir/kind"
  wait_up redis "$pid" "$dir" redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning \
    -a "$REDIS_PASSWORD" ping
  echo "redis://:$REDIS_PASSWORD@127.0.0.1:$port/0"
}

# tcp_open PORT: something accepts connections on 127.0.0.1:PORT.
tcp_open() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

start_mongodb() { # DIR PORT
  local dir=$1 port=$2 here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  "$here/mongo/setup-congo.sh" >&2 || die "CongoDB could not be installed"
  mkdir -p "$dir"
  node "$here/mongo/congo-server.mjs" "$port" \
    </dev/null >"$dir/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  echo mongodb >"$dir/kind"
  wait_up mongodb "$pid" "$dir" tcp_open "$port"
  echo "mongodb://127.0.0.1:$port/roster_test"
}

# The etcd cluster: member N (1..3) serves clients on BASE+4+N and its
# peers on BASE+7+N; DIR/etcd/mN/cmd keeps its command line for a restart
# (on an existing data directory etcd ignores the initial-cluster flags).
etcd_member_start() { # DIR N
  local dir=$1/etcd/m$2 pid
  [[ -f $dir/cmd ]] || die "etcd member $2: no cluster under $1"
  # shellcheck disable=SC2046
  etcd $(cat "$dir/cmd") </dev/null >>"$dir/server.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/pid"
  echo etcd >"$dir/kind"
  wait_up "etcd member $2" "$pid" "$dir" tcp_open "$(cat "$dir/port")"
}

start_etcd() { # DIR BASE
  local top=$1/etcd base=$2 cl="" i
  command -v etcd >/dev/null || die "etcd is not installed (scripts/deps.sh: etcd-server)"
  for i in 1 2 3; do cl+="${cl:+,}m$i=http://127.0.0.1:$((base + 7 + i))"; done
  for i in 1 2 3; do
    mkdir -p "$top/m$i"
    echo $((base + 4 + i)) >"$top/m$i/port"
    echo "--name m$i --data-dir $top/m$i/data" \
      "--listen-client-urls http://127.0.0.1:$((base + 4 + i))" \
      "--advertise-client-urls http://127.0.0.1:$((base + 4 + i))" \
      "--listen-peer-urls http://127.0.0.1:$((base + 7 + i))" \
      "--initial-advertise-peer-urls http://127.0.0.1:$((base + 7 + i))" \
      "--initial-cluster $cl --initial-cluster-token roster-test-$base" \
      "--initial-cluster-state new --heartbeat-interval 50" \
      "--election-timeout 500 --log-outputs stderr" >"$top/m$i/cmd"
  done
  # The members start together: each waits for a quorum of the others.
  for i in 1 2 3; do
    local dir=$top/m$i
    # shellcheck disable=SC2046
    etcd $(cat "$dir/cmd") </dev/null >"$dir/server.log" 2>&1 &
    echo "$!" >"$dir/pid"
    echo etcd >"$dir/kind"
  done
  for i in 1 2 3; do
    wait_up "etcd member $i" "$(cat "$top/m$i/pid")" "$top/m$i" curl -sf \
      "http://127.0.0.1:$((base + 4 + i))/health"
  done
}

stop_one() { # DIR
  local dir=$1 pid kind
  [[ -f $dir/pid ]] || return 0
  pid=$(cat "$dir/pid")
  kind=$(cat "$dir/kind" 2>/dev/null || echo "")
  if alive "$pid"; then
    if [[ $kind == pg ]]; then kill -INT "$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
    for _ in $(seq 200); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$dir/pid"
}

cmd=${1:-}
case $cmd in
  start)
    dir=${2:?usage: services.sh start DIR [pg] [mariadb] [redis] [mongodb] [etcd]}
    shift 2
    kinds=("$@")
    ((${#kinds[@]})) || kinds=(pg mariadb redis mongodb etcd)
    base=${ROSTER_PORT_BASE:-47000}
    reserve_ports "$base" $((base + 10))
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    chmod 0755 "$dir" # the postgres user must reach its data directory
    : >"$dir/env"
    for k in "${kinds[@]}"; do
      if [[ $k == etcd ]]; then
        start_etcd "$dir" "$base"
        eps=""
        for i in 1 2 3; do
          eps+="${eps:+,}http://127.0.0.1:$((base + 4 + i))"
          echo "export ROSTER_TEST_ETCD_PID$i=$(cat "$dir/etcd/m$i/pid")" >>"$dir/env"
        done
        echo "export ROSTER_TEST_ETCD_ENDPOINTS='$eps'" >>"$dir/env"
        echo "export ROSTER_TEST_ETCD_DIR='$dir'" >>"$dir/env"
        continue
      fi
      case $k in
        pg) url=$(start_pg "$dir/pg" $((base + 1))); var=PG ;;
        mariadb) url=$(start_mariadb "$dir/mariadb" $((base + 2))); var=MARIADB ;;
        redis) url=$(start_redis "$dir/redis" $((base + 3))); var=REDIS ;;
        mongodb) url=$(start_mongodb "$dir/mongodb" $((base + 4))); var=MONGODB ;;
        *) die "unknown server '$k' (pg, mariadb, redis, mongodb, etcd)" ;;
      esac
      echo "export ROSTER_TEST_${var}_URL='$url'" >>"$dir/env"
      echo "export ROSTER_TEST_${var}_PID=$(cat "$dir/$k/pid")" >>"$dir/env"
    done
    ;;
  stop)
    dir=${2:?usage: services.sh stop DIR}
    for d in "$dir"/*/ "$dir"/etcd/*/; do [[ -d $d ]] && stop_one "${d%/}"; done
    ;;
  etcd-member)
    dir=${2:?usage: services.sh etcd-member DIR N start|stop}
    n=${3:?}
    [[ $n == [123] ]] || die "etcd member must be 1, 2 or 3"
    case ${4:?} in
      start) etcd_member_start "$dir" "$n" ;;
      stop) stop_one "$dir/etcd/m$n" ;;
      *) die "etcd-member: start or stop" ;;
    esac
    ;;
  start-one)
    kind=${2:?usage: services.sh start-one KIND DIR PORT}
    dir=${3:?}
    port=${4:?}
    case $kind in
      pg) start_pg "$dir" "$port" ;;
      mariadb) start_mariadb "$dir" "$port" ;;
      redis) start_redis "$dir" "$port" ;;
      mongodb) start_mongodb "$dir" "$port" ;;
      *) die "unknown server '$kind'" ;;
    esac
    ;;
  stop-one)
    stop_one "${2:?usage: services.sh stop-one DIR}"
    ;;
  *)
    sed -n '2,37p' "$0" >&2
    exit 2
    ;;
esac
