#!/usr/bin/env bash
# Local backing services for PortalLinkWorker: RabbitMQ and PostgreSQL 15.
#
#   scripts/services.sh up     start them (installing rabbitmq-server / postgresql-15 when missing, and Debian's chromium
#                              for the status page test)
#   scripts/services.sh down   stop what `up` started (data is kept)
#   scripts/services.sh env    print `export` lines: eval "$(scripts/services.sh env)"
#   scripts/services.sh status one line per service
#
# Docker Compose is used only when a Docker engine answers (`docker info`);
# otherwise RabbitMQ runs from the Debian package and PostgreSQL as a private
# cluster under $PORTALLINK_STATE_DIR/pg (default /var/tmp/portallink/pg).
#
# Environment: PORTALLINK_STATE_DIR (default /var/tmp/portallink),
#   PORTALLINK_PG_PORT (default 15432, below the ephemeral port range so no outgoing connection can take it), PORTALLINK_SERVICES=auto|native|docker,
#   PORTALLINK_PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN="${PORTALLINK_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_ROOT="$STATE_DIR/pg"
PGDATA_DIR="$PG_ROOT/data"
PG_LOG="$PG_ROOT/postgres.log"
PG_RUN="$PG_ROOT/run"
MODE_FILE="$STATE_DIR/services.mode"
RABBIT_MARKER="$STATE_DIR/rabbitmq.started-by-services-sh"
RABBIT_START_LOG="$STATE_DIR/rabbitmq-start.log"
APT_LOG="$STATE_DIR/apt.log"
DB_NAME=portallink

PG_CONN="Host=127.0.0.1;Port=$PG_PORT;Database=$DB_NAME;Username=postgres;Password=postgres"
PG_TEST_CONN="Host=127.0.0.1;Port=$PG_PORT;Database=postgres;Username=postgres;Password=postgres"
RABBIT_URI="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/"
# The tests use a virtual host of their own, so a demo worker left running on the default one never takes their messages.
TEST_VHOST=portallink-test
RABBIT_TEST_URI="amqp://guest:guest@127.0.0.1:$RABBIT_PORT/$TEST_VHOST"
# A PORTALLINK_TEST_RABBITMQ already set wins (`env` prints it back): two checkouts running their tests side by side
# each keep a virtual host of their own.
RABBIT_TEST_URI="${PORTALLINK_TEST_RABBITMQ:-$RABBIT_TEST_URI}"

# ---------------------------------------------------------------- helpers

as_postgres() {
  if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

APT_UPDATED=
apt_install() {
  [[ $EUID -eq 0 ]] || die "need root to apt-get install $* (run as root or install it yourself)"
  if [[ -z "$APT_UPDATED" ]]; then
    say "apt-get update (log: $APT_LOG)"
    if ! detached "$APT_LOG" env DEBIAN_FRONTEND=noninteractive apt-get update; then
      tail_log "$APT_LOG"; die "apt-get update failed"
    fi
    APT_UPDATED=1
  fi
  say "apt-get install $* (log: $APT_LOG)"
  if ! detached "$APT_LOG" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"; then
    tail_log "$APT_LOG"; die "apt-get install $* failed"
  fi
}

docker_usable() {
  command -v docker >/dev/null 2>&1 || return 1
  timeout 20 docker info >/dev/null 2>&1 || return 1
  timeout 20 docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1
}

compose() {
  if timeout 20 docker compose version >/dev/null 2>&1; then
    docker compose -f "$ROOT/docker-compose.yml" "$@"
  else
    docker-compose -f "$ROOT/docker-compose.yml" "$@"
  fi
}

current_mode() { if [[ -f "$MODE_FILE" ]]; then cat "$MODE_FILE"; else echo native; fi; }

choose_mode() {
  case "${PORTALLINK_SERVICES:-auto}" in
    native) echo native ;;
    docker) docker_usable || die "PORTALLINK_SERVICES=docker but no Docker engine / compose answers"; echo docker ;;
    auto)   if docker_usable; then echo docker; else echo native; fi ;;
    *)      die "PORTALLINK_SERVICES must be auto, native or docker" ;;
  esac
}

# ---------------------------------------------------------------- RabbitMQ (native)

RABBIT_LOG_OFFSET=0
rabbit_node_log() { echo "/var/log/rabbitmq/rabbit@$(hostname -s 2>/dev/null || hostname).log"; }

rabbit_log_tail() {
  local f; f="$(rabbit_node_log)"
  if [[ -f "$f" ]]; then
    printf -- '---- first errors in %s since this start ----\n' "$f" >&2
    { tail -c +"$(( RABBIT_LOG_OFFSET + 1 ))" "$f" | grep -E '\[(error|critical)\]' | cut -c1-300 | head -n 5 >&2; } || true
    tail_log "$f" 30
  else
    warn "no RabbitMQ log at $f; see /var/log/rabbitmq/"
  fi
  tail_log "$RABBIT_START_LOG" 20
  local host; host="$(hostname -s 2>/dev/null || hostname)"
  getent hosts "$host" >/dev/null 2>&1 \
    || warn "hint: this host's name '$host' does not resolve; RabbitMQ's node rabbit@$host needs it (add it to /etc/hosts)"
}

rabbit_ping() { timeout 30 rabbitmq-diagnostics -q ping >/dev/null 2>&1; }

rabbit_up() {
  if ! command -v rabbitmq-server >/dev/null 2>&1 || ! command -v rabbitmqctl >/dev/null 2>&1; then
    apt_install rabbitmq-server
  fi
  if rabbit_ping; then
    say "RabbitMQ already running"
  else
    say "starting RabbitMQ (rabbitmq-server -detached)"
    RABBIT_LOG_OFFSET="$(stat -c %s "$(rabbit_node_log)" 2>/dev/null || echo 0)"
    # The package's wrapper switches to the rabbitmq user when run as root.
    if ! detached "$RABBIT_START_LOG" rabbitmq-server -detached; then
      rabbit_log_tail; die "rabbitmq-server -detached failed"
    fi
    touch "$RABBIT_MARKER"
    if ! wait_for 90 rabbit_ping; then
      rabbit_log_tail; die "RabbitMQ node did not answer within 90 s"
    fi
  fi
  say "waiting for RabbitMQ to finish booting (rabbitmqctl await_startup)"
  if ! timeout 150 rabbitmqctl -q await_startup >/dev/null 2>&1; then
    rabbit_log_tail; die "RabbitMQ did not finish booting"
  fi
  if ! wait_for 30 tcp_open 127.0.0.1 "$RABBIT_PORT"; then
    rabbit_log_tail; die "RabbitMQ is running but nothing listens on 127.0.0.1:$RABBIT_PORT"
  fi
}

rabbit_down() {
  if ! command -v rabbitmqctl >/dev/null 2>&1; then
    rm -f "$RABBIT_MARKER"; return 0
  fi
  if ! rabbit_ping; then
    say "RabbitMQ not running"
    rm -f "$RABBIT_MARKER"
  elif [[ -f "$RABBIT_MARKER" || -n "${PORTALLINK_STOP_RABBITMQ:-}" ]]; then
    say "stopping RabbitMQ"
    if ! timeout 90 rabbitmqctl -q shutdown >/dev/null 2>&1; then
      rabbit_log_tail; die "rabbitmqctl shutdown failed"
    fi
    rm -f "$RABBIT_MARKER"
  else
    say "RabbitMQ was not started by services.sh; leaving it running (PORTALLINK_STOP_RABBITMQ=1 to stop it)"
  fi
}

# ---------------------------------------------------------------- PostgreSQL (native)

# pid of our postmaster if it is alive, else fails. A postmaster's cwd is its
# data directory, which tells a live server from a reused pid after a reboot.
pg_pid() {
  local pid
  [[ -f "$PGDATA_DIR/postmaster.pid" ]] || return 1
  read -r pid <"$PGDATA_DIR/postmaster.pid" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == postgres* ]] || return 1
  [[ "$(readlink -f /proc/"$pid"/cwd 2>/dev/null)" == "$(readlink -f "$PGDATA_DIR")" ]] || return 1
  echo "$pid"
}

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -t 3; }

psql_admin() { PGCONNECT_TIMEOUT=10 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

pg_write_config() {
  cat >"$PGDATA_DIR/pg_hba.conf" <<'EOF'
# Written by scripts/services.sh: a private development/test server, trust on loopback only.
local   all          all                  trust
host    all          all   127.0.0.1/32   trust
host    all          all   ::1/128        trust
local   replication  all                  trust
host    replication  all   127.0.0.1/32   trust
EOF
  cat >"$PGDATA_DIR/portallink.conf" <<EOF
# Written by scripts/services.sh on every 'up'; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
synchronous_commit = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  chown postgres:postgres "$PGDATA_DIR/pg_hba.conf" "$PGDATA_DIR/portallink.conf" 2>/dev/null || true
  if ! grep -q "^include_if_exists = 'portallink.conf'" "$PGDATA_DIR/postgresql.conf"; then
    printf "\ninclude_if_exists = 'portallink.conf'\n" >>"$PGDATA_DIR/postgresql.conf"
  fi
}

pg_up() {
  if [[ ! -x "$PG_BIN/initdb" || ! -x "$PG_BIN/pg_ctl" || ! -x "$PG_BIN/psql" ]]; then
    apt_install postgresql-15
  fi
  [[ -x "$PG_BIN/initdb" ]] || die "no PostgreSQL binaries in $PG_BIN"
  id postgres >/dev/null 2>&1 || die "no 'postgres' user (installing postgresql-15 creates it)"

  mkdir -p "$PG_ROOT" "$PG_RUN"
  if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$PG_ROOT" "$PG_RUN"
    chmod 0750 "$PG_ROOT"; chmod 0775 "$PG_RUN"
  fi
  as_postgres test -w "$PG_ROOT" \
    || die "user postgres cannot write $PG_ROOT (is a parent directory private?); set PORTALLINK_STATE_DIR elsewhere"
  touch "$PG_LOG"; [[ $EUID -eq 0 ]] && chown postgres:postgres "$PG_LOG"

  if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
    rm -rf "$PGDATA_DIR"   # leftovers of an interrupted initdb
    say "creating PostgreSQL cluster in $PGDATA_DIR"
    if ! as_postgres "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth=trust -E UTF8 --no-locale \
        >"$PG_ROOT/initdb.log" 2>&1; then
      tail_log "$PG_ROOT/initdb.log"; die "initdb failed"
    fi
  fi
  chmod 0700 "$PGDATA_DIR"
  pg_write_config

  local pid
  if pid="$(pg_pid)"; then
    if wait_for 10 pg_ready; then
      say "PostgreSQL already running (pid $pid, port $PG_PORT)"
    else
      say "PostgreSQL running (pid $pid) but not answering on port $PG_PORT; restarting it"
      as_postgres "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 >/dev/null 2>&1 || true
      pg_start
    fi
  else
    if [[ -f "$PGDATA_DIR/postmaster.pid" ]]; then
      say "removing stale postmaster.pid (no live server)"
      rm -f "$PGDATA_DIR/postmaster.pid"
    fi
    rm -f "$PG_RUN"/.s.PGSQL.*   # stale socket and socket lock of a dead server
    pg_start
  fi

  if [[ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]]; then
    say "creating database $DB_NAME"
    psql_admin -d postgres -c "CREATE DATABASE $DB_NAME" >/dev/null || die "CREATE DATABASE $DB_NAME failed"
  fi
}

port_holders() {
  printf -- '---- sockets on port %s ----\n' "$1" >&2
  local socks; socks="$(ss -tanp 2>/dev/null || true)"
  grep -E "[:.]$1[[:space:]]" <<<"$socks" | head -n 10 >&2 || true
}

pg_start() {
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT (log: $PG_LOG)"
  local deadline=$(( SECONDS + 75 )) offset retrying=
  while :; do
    offset="$(stat -c %s "$PG_LOG" 2>/dev/null || echo 0)"
    if detached "$PG_ROOT/pg_ctl.log" runuser -u postgres -- \
        "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -l "$PG_LOG" -w -t 60 -s; then
      break
    fi
    if [[ "$(tail -c +"$(( offset + 1 ))" "$PG_LOG")" == *"could not bind"* ]]; then
      # A socket that used this port as its local port lingers ~60 s after
      # closing (TIME_WAIT); this kernel does not let a listener reuse it meanwhile.
      if (( SECONDS < deadline )); then
        [[ -n "$retrying" ]] || say "port $PG_PORT is still in use; retrying for up to 75 s"
        retrying=1; sleep 3; continue
      fi
      tail_log "$PG_LOG" 10; port_holders "$PG_PORT"
      die "PostgreSQL cannot bind 127.0.0.1:$PG_PORT (see above); free the port or set PORTALLINK_PG_PORT"
    fi
    tail_log "$PG_ROOT/pg_ctl.log" 10; tail_log "$PG_LOG" 30
    die "PostgreSQL did not start"
  done
  if ! wait_for 30 pg_ready; then
    tail_log "$PG_LOG"; die "PostgreSQL started but does not answer on 127.0.0.1:$PG_PORT"
  fi
}

pg_down() {
  if pg_pid >/dev/null; then
    say "stopping PostgreSQL"
    if ! as_postgres "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 -s >/dev/null 2>&1; then
      tail_log "$PG_LOG"; die "pg_ctl stop failed"
    fi
  else
    say "PostgreSQL not running"
  fi
}

# ---------------------------------------------------------------- Docker Compose

docker_up() {
  say "starting rabbitmq and postgres with Docker Compose"
  if ! compose up -d rabbitmq postgres; then
    compose logs --tail 40 rabbitmq postgres >&2 || true
    die "docker compose up failed"
  fi
  local svc cid status deadline=$(( SECONDS + 180 ))
  for svc in rabbitmq postgres; do
    say "waiting for $svc to be healthy"
    while :; do
      cid="$(compose ps -q "$svc" 2>/dev/null || true)"
      status="$( [[ -n "$cid" ]] && docker inspect -f '{{.State.Health.Status}}' "$cid" 2>/dev/null || echo unknown)"
      [[ "$status" == healthy ]] && break
      if (( SECONDS >= deadline )); then
        compose logs --tail 40 "$svc" >&2 || true
        die "$svc is not healthy after 180 s (status: $status)"
      fi
      sleep 2
    done
  done
}

# $@: how to run rabbitmqctl (natively, or inside the compose container). The tests' virtual host and the
# benchmarks' (each bench purges its queues on a vhost of its own).
rabbit_vhosts() {
  local vhost existing
  existing="$("$@" -q list_vhosts 2>/dev/null || true)"
  for vhost in "$TEST_VHOST" portallink-bench portallink-perf; do
    grep -qx "$vhost" <<<"$existing" && continue
    say "creating RabbitMQ virtual host $vhost"
    "$@" -q add_vhost "$vhost" >/dev/null || die "rabbitmqctl add_vhost $vhost failed"
    "$@" -q set_permissions -p "$vhost" guest '.*' '.*' '.*' >/dev/null || die "rabbitmqctl set_permissions -p $vhost failed"
  done
}

docker_down() {
  say "stopping rabbitmq and postgres (Docker Compose)"
  compose stop rabbitmq postgres || die "docker compose stop failed"
}

# ---------------------------------------------------------------- Chromium (for the status page test)

# Debian's package, never a browser download of a test tool's own.
chromium_up() {
  command -v chromium >/dev/null 2>&1 && return 0
  if [[ $EUID -ne 0 ]]; then
    warn "chromium is missing: the status page test will fail (apt-get install chromium, or set PORTALLINK_CHROMIUM)"
    return 0
  fi
  apt_install chromium
}

# ---------------------------------------------------------------- commands

cmd_up() {
  local mode
  mode="$(choose_mode)"
  if [[ "$mode" == docker ]]; then
    docker_up
    rabbit_vhosts compose exec -T rabbitmq rabbitmqctl
  else
    say "no Docker engine in use: native PostgreSQL + RabbitMQ (state: $STATE_DIR)"
    pg_up
    rabbit_up
    rabbit_vhosts timeout 60 rabbitmqctl
  fi
  chromium_up
  echo "$mode" >"$MODE_FILE"
  say "services up: postgres 127.0.0.1:$PG_PORT (db $DB_NAME), rabbitmq 127.0.0.1:$RABBIT_PORT"
}

cmd_down() {
  if [[ "$(current_mode)" == docker ]]; then
    docker_down
  else
    pg_down
    rabbit_down
  fi
}

cmd_env() {
  printf "export ConnectionStrings__Postgres='%s'\n" "$PG_CONN"
  printf "export ConnectionStrings__RabbitMq='%s'\n" "$RABBIT_URI"
  printf "export PORTALLINK_TEST_POSTGRES='%s'\n" "$PG_TEST_CONN"
  printf "export PORTALLINK_TEST_RABBITMQ='%s'\n" "$RABBIT_TEST_URI"
  printf "export PORTALLINK_TEST_RESTART='bash %s restart'\n" "$ROOT/scripts/services.sh"
}

# For the fault-injection tests: a real restart of one service, as an operator or a crash would cause it.
cmd_restart() {
  local svc="${1:-}"
  [[ "$svc" == postgres || "$svc" == rabbitmq ]] || die "usage: $0 restart postgres|rabbitmq"
  if [[ "$(current_mode)" == docker ]]; then
    say "restarting $svc (Docker Compose)"
    compose restart "$svc" || die "docker compose restart $svc failed"
    docker_up
  elif [[ "$svc" == postgres ]]; then
    pg_down
    pg_start
  else
    say "restarting RabbitMQ (rabbitmqctl stop_app / start_app: every connection drops, durable queues stay)"
    timeout 60 rabbitmqctl -q stop_app >/dev/null || die "rabbitmqctl stop_app failed"
    timeout 120 rabbitmqctl -q start_app >/dev/null || die "rabbitmqctl start_app failed"
    wait_for 30 tcp_open 127.0.0.1 "$RABBIT_PORT" || die "RabbitMQ did not listen again on $RABBIT_PORT"
  fi
}

cmd_status() {
  local rc=0
  if PGCONNECT_TIMEOUT=3 "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
    echo "postgres: up (127.0.0.1:$PG_PORT)"
  else
    echo "postgres: down"; rc=1
  fi
  if tcp_open 127.0.0.1 "$RABBIT_PORT"; then
    echo "rabbitmq: up (127.0.0.1:$RABBIT_PORT)"
  else
    echo "rabbitmq: down"; rc=1
  fi
  return "$rc"
}

with_lock() {
  [[ -d "$STATE_DIR" ]] || mkdir -p -m 0755 "$STATE_DIR"
  exec 9>"$STATE_DIR/services.lock"
  flock -w 600 9 || die "another services.sh is running (lock $STATE_DIR/services.lock)"
  "$@"
}

case "${1:-}" in
  up)     with_lock cmd_up ;;
  down)   with_lock cmd_down ;;
  env)    cmd_env ;;
  status) cmd_status ;;
  restart) shift; with_lock cmd_restart "$@" ;;
  *)      echo "usage: $0 up|down|env|status|restart postgres|rabbitmq" >&2; exit 2 ;;
esac
