#!/usr/bin/env bash
# Quick start: services + Upflow simulator + worker, then a few portal-link requests.
#
#   scripts/demo.sh         start everything, send the demo requests, leave it all running
#   scripts/demo.sh stop    stop the worker and the simulator, then `services.sh down`
#
# Logs and pid files: $PORTALLINK_STATE_DIR/demo (default /var/tmp/portallink/demo). The worker listens on
# http://127.0.0.1:$PORTALLINK_WORKER_PORT (default 8080: status page, /health/*, /metrics).
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DEMO_DIR="$STATE_DIR/demo"
SIM_DLL="$ROOT/src/UpflowSimulator/bin/Release/net10.0/UpflowSimulator.dll"
WORKER_DLL="$ROOT/src/PortalLinkWorker/bin/Release/net10.0/PortalLinkWorker.dll"
SIM_LOG="$DEMO_DIR/simulator.log"
SIM_PID="$DEMO_DIR/simulator.pid"
WORKER_LOG="$DEMO_DIR/worker.log"
WORKER_PID="$DEMO_DIR/worker.pid"
SIM_URL="http://127.0.0.1:$SIM_PORT"
WORKER_URL="http://127.0.0.1:${PORTALLINK_WORKER_PORT:-8080}"
SIM_KEY="${Simulator__ApiKey:-sim-key}"
SIM_SECRET="${Simulator__ApiSecret:-sim-secret}"

# live pid from PIDFILE whose command line mentions NAME, else fails
live_pid() {
  local pidfile="$1" name="$2" pid
  [[ -f "$pidfile" ]] || return 1
  read -r pid <"$pidfile" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  local cmdline; cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$name"* ]] || return 1
  echo "$pid"
}

stop_proc() {
  local label="$1" pidfile="$2" name="$3" pid
  if pid="$(live_pid "$pidfile" "$name")"; then
    say "stopping $label (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$(( SECONDS + 20 ))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      warn "$label did not stop in 20 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  stop_proc worker "$WORKER_PID" PortalLinkWorker.dll
  stop_proc simulator "$SIM_PID" UpflowSimulator.dll
  bash "$ROOT/scripts/services.sh" down
}

sim_answers() { curl -fsS --max-time 2 -o /dev/null "$SIM_URL/" 2>/dev/null; }
worker_answers() { curl -sS --max-time 2 -o /dev/null "$WORKER_URL/health/live" 2>/dev/null; }

# quoted ARGS...: the arguments as one would type them (quotes around those with spaces)
quoted() {
  local a out=()
  for a in "$@"; do
    if [[ "$a" == *[[:space:]\#\'\"\$]* ]]; then out+=("\"$a\""); else out+=("$a"); fi
  done
  printf '%s' "${out[*]}"
}

# run_request EXPECT ARGS...: EXPECT is "generated" or a failure reason to find in the output
FAILURES=0
run_request() {
  local expect="$1"; shift
  local out rc ok
  printf '\n--- request %s   (expected: %s)\n' "$(quoted "$@")" "$expect"
  out="$(timeout 90 dotnet "$WORKER_DLL" request "$@" --wait --timeout 30 2>&1)"
  rc=$?
  printf '%s\n' "$out" | sed 's/^/    /'
  if [[ "$expect" == generated ]]; then
    [[ $rc -eq 0 ]] && ok=1 || ok=
  else
    [[ $rc -eq 1 ]] && grep -qi -- "$expect" <<<"$out" && ok=1 || ok=
  fi
  if [[ -n "$ok" ]]; then
    echo "    => exit $rc, as expected"
  else
    echo "    => exit $rc, NOT as expected ($expect)"
    FAILURES=$((FAILURES + 1))
  fi
}

cmd_start() {
  command -v curl >/dev/null 2>&1 || die "curl is needed (apt-get install -y curl)"
  bash "$ROOT/scripts/services.sh" up || die "services.sh up failed"
  eval "$(bash "$ROOT/scripts/services.sh" env)"
  mkdir -p "$DEMO_DIR"

  # A previous demo's processes would keep old binaries and the ports.
  stop_proc worker "$WORKER_PID" PortalLinkWorker.dll
  stop_proc simulator "$SIM_PID" UpflowSimulator.dll

  say "dotnet build PortalLinkWorker.sln -c Release"
  dotnet build PortalLinkWorker.sln -c Release -nologo -v quiet || die "build failed"
  [[ -f "$SIM_DLL" && -f "$WORKER_DLL" ]] || die "build output missing ($SIM_DLL, $WORKER_DLL)"

  if sim_answers; then
    die "something already answers on $SIM_URL; stop it or set PORTALLINK_SIM_PORT"
  fi
  say "starting Upflow simulator on $SIM_URL (log: $SIM_LOG)"
  : >"$SIM_LOG"
  spawn "$SIM_PID" "$SIM_LOG" env Simulator__ApiKey="$SIM_KEY" Simulator__ApiSecret="$SIM_SECRET" Simulator__AdminEndpoints=true \
    dotnet "$SIM_DLL" --urls "$SIM_URL"
  local deadline=$(( SECONDS + 60 ))
  until sim_answers; do
    if ! live_pid "$SIM_PID" UpflowSimulator.dll >/dev/null; then
      tail_log "$SIM_LOG"; die "the simulator exited"
    fi
    if (( SECONDS >= deadline )); then
      tail_log "$SIM_LOG"; die "the simulator does not answer on $SIM_URL/ after 60 s"
    fi
    sleep 1
  done

  if worker_answers; then
    die "something already answers on $WORKER_URL; stop it or set PORTALLINK_WORKER_PORT"
  fi
  export Upflow__BaseUrl="$SIM_URL/v1" Upflow__ApiKey="$SIM_KEY" Upflow__ApiSecret="$SIM_SECRET"
  # The simulator's portal links are on this host; the worker refuses links on hosts it does not know.
  export Upflow__PortalHosts="portal.upflow-simulator.invalid"
  # Portal URLs are stored encrypted: the demo's key is made once and kept beside its database, so its rows stay readable.
  local url_keys_file="$STATE_DIR/demo-url-keys"
  [[ -s "$url_keys_file" ]] || (umask 077 && bash "$ROOT/scripts/url-key.sh" >"$url_keys_file")
  export Database__UrlKeys="${Database__UrlKeys:-$(cat "$url_keys_file")}"
  say "starting worker on $WORKER_URL (log: $WORKER_LOG)"
  : >"$WORKER_LOG"
  spawn "$WORKER_PID" "$WORKER_LOG" env Urls="$WORKER_URL" dotnet "$WORKER_DLL"
  deadline=$(( SECONDS + 60 ))
  until grep -qi 'started' "$WORKER_LOG"; do
    if ! live_pid "$WORKER_PID" PortalLinkWorker.dll >/dev/null; then
      tail_log "$WORKER_LOG"; die "the worker exited"
    fi
    if (( SECONDS >= deadline )); then
      warn "the worker's log does not say 'started' after 60 s; sending the requests anyway"
      break
    fi
    sleep 1
  done

  say "sending demo requests"
  run_request generated "$(cat /proc/sys/kernel/random/uuid)"
  run_request generated "external:123" --expires-in 5184000
  run_request generated "external:ACME/42 #1" --frame-ancestors "extranet.merchant.com intranet.merchant.com"
  run_request CustomerNotFound "external:unknown-7"
  run_request InvalidRequest "external:123" --expires-in 0

  cat <<EOF

Demo done: $(( 5 - FAILURES ))/5 results as expected. Everything is still running:
  status:     $WORKER_URL/   (status page; $WORKER_URL/health/ready, $WORKER_URL/metrics)
  rows:       psql "host=127.0.0.1 port=$PG_PORT dbname=portallink user=postgres" -c 'SELECT * FROM portal_links;'
  logs:       $WORKER_LOG
              $SIM_LOG
              $STATE_DIR/pg/postgres.log, /var/log/rabbitmq/
  more:       eval "\$(scripts/services.sh env)"; dotnet $WORKER_DLL request <customerId> --wait
  settings:   dotnet $WORKER_DLL check-config   (with the same environment as the worker)
  register:   Database__UrlKeys="\$(cat $STATE_DIR/demo-url-keys)" dotnet $WORKER_DLL links external:123
  stop:       scripts/demo.sh stop   (worker + simulator + services)
EOF
  (( FAILURES == 0 ))
}

case "${1:-start}" in
  start) cmd_start ;;
  stop)  cmd_stop ;;
  *)     echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
