# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; do not run it.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${PORTALLINK_STATE_DIR:-/var/tmp/portallink}"
PG_PORT="${PORTALLINK_PG_PORT:-15432}"
RABBIT_PORT=5672
SIM_PORT="${PORTALLINK_SIM_PORT:-5080}"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say()  { printf '==> %s\n' "$*"; }
warn() { printf '!!  %s\n' "$*" >&2; }
die()  { printf '!!  %s\n' "$*" >&2; exit 1; }

# tail_log FILE [LINES]: print the end of a log file to stderr (for failures).
tail_log() {
  local f="$1" n="${2:-40}"
  if [[ -s "$f" ]]; then
    printf -- '---- last %s lines of %s ----\n' "$n" "$f" >&2
    tail -n "$n" "$f" >&2
    printf -- '---- end of %s ----\n' "$f" >&2
  else
    printf -- '(no log at %s)\n' "$f" >&2
  fi
}

# _detach_exec LOG CMD...: replace the current (sub)shell by CMD with stdin from
# /dev/null, stdout+stderr appended to LOG, every other inherited file
# descriptor closed and in a new session, so that a server it starts holds
# neither the caller's terminal nor a CI output pipe open.
_detach_exec() {
  local log="$1" fd; shift
  for fd in /proc/"$BASHPID"/fd/*; do
    fd="${fd##*/}"
    [[ "$fd" =~ ^[0-9]+$ ]] && (( fd > 2 )) && eval "exec ${fd}>&-" 2>/dev/null
  done
  exec setsid "$@" </dev/null >>"$log" 2>&1
}

# detached LOG CMD...: run CMD detached (see above) and wait for it to exit;
# returns its exit code. For commands that daemonize (pg_ctl, rabbitmq-server -detached).
detached() { ( _detach_exec "$@" ); }

# spawn PIDFILE LOG CMD...: start a long-running CMD detached in the background
# and write its pid (setsid execs in place, so $! is CMD's own pid).
spawn() {
  local pidfile="$1"; shift
  _detach_exec "$@" &
  echo $! >"$pidfile"
}

# wait_for SECONDS CMD...: poll CMD once a second until it succeeds or time runs out.
wait_for() {
  local secs="$1"; shift
  local deadline=$(( SECONDS + secs ))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS >= deadline )) && return 1
    sleep 1
  done
}

tcp_open() { timeout 2 bash -c ": </dev/tcp/$1/$2" 2>/dev/null; }
