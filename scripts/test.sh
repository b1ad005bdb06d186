#!/usr/bin/env bash
# THE test command: starts RabbitMQ + PostgreSQL (scripts/services.sh up), builds
# the solution in Release and runs every test against those services.
#
#   scripts/test.sh                              all tests
#   scripts/test.sh --filter Category=Unit       extra arguments go to `dotnet test`
#
# Last line of output: "N passed, N failed, N skipped" (from the TRX results).
# Exit code: dotnet test's; 1 when the build fails or no test ran.
# PORTALLINK_SKIP_SERVICES=1 skips `services.sh up` (the env lines are still exported, except
# PORTALLINK_TEST_POSTGRES / PORTALLINK_TEST_RABBITMQ when already set).
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ -z "${PORTALLINK_SKIP_SERVICES:-}" ]]; then
  bash "$ROOT/scripts/services.sh" up || die "services.sh up failed"
fi
env_lines="$(bash "$ROOT/scripts/services.sh" env)" || die "services.sh env failed"
# Servers chosen by the caller win (e.g. a RabbitMQ virtual host of one's own beside another test run).
preset_pg="${PORTALLINK_TEST_POSTGRES:-}" preset_rabbit="${PORTALLINK_TEST_RABBITMQ:-}"
eval "$env_lines"
[[ -n "$preset_pg" ]] && export PORTALLINK_TEST_POSTGRES="$preset_pg"
[[ -n "$preset_rabbit" ]] && export PORTALLINK_TEST_RABBITMQ="$preset_rabbit"

build_args=(-c Release -nologo)
test_args=()
if [[ -n "${CI:-}" ]]; then
  # No compiler/MSBuild servers left behind holding CI's output pipe.
  build_args+=(--disable-build-servers)
  # A hung test must not eat the whole CI budget (unless the caller chose a blame mode).
  [[ " $* " == *" --blame"* ]] || test_args+=(--blame-hang-timeout 15m --blame-hang-dump-type none)
fi

say "dotnet build PortalLinkWorker.sln ${build_args[*]}"
dotnet build PortalLinkWorker.sln "${build_args[@]}"
build_rc=$?
if (( build_rc != 0 )); then
  warn "build failed (exit $build_rc)"
  echo "0 passed, 0 failed, 0 skipped"
  exit "$build_rc"
fi

results_dir="$ROOT/TestResults/run-$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$results_dir"
say "dotnet test (results: $results_dir)"
dotnet test PortalLinkWorker.sln -c Release --no-build \
  --logger "console;verbosity=normal" --logger trx --results-directory "$results_dir" \
  "${test_args[@]}" "$@"
test_rc=$?

# Sum the <Counters .../> of every TRX file (one per test project).
attr() { sed -n "s/.*[[:space:]]$1=\"\([0-9]*\)\".*/\1/p" <<<"$2" | head -n1; }
total=0 executed=0 passed=0 failed=0 files=0
while IFS= read -r -d '' trx; do
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n1)"
  [[ -n "$counters" ]] || continue
  files=$((files + 1))
  t=$(attr total "$counters"); e=$(attr executed "$counters"); p=$(attr passed "$counters")
  f=$(attr failed "$counters"); er=$(attr error "$counters"); to=$(attr timeout "$counters"); ab=$(attr aborted "$counters")
  total=$((total + ${t:-0}))
  executed=$((executed + ${e:-0}))
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${er:-0} + ${to:-0} + ${ab:-0}))
done < <(find "$results_dir" -name '*.trx' -print0 2>/dev/null)
# xunit's skipped tests are counted in total but not in executed.
skipped=$((total - executed))
(( skipped < 0 )) && skipped=0

(( files > 0 )) || warn "no TRX results in $results_dir"
if (( passed + failed == 0 )); then
  warn "no test ran"
  (( test_rc != 0 )) || test_rc=1
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
exit "$test_rc"
