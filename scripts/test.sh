#!/usr/bin/env bash
# The test command (`make test`): for each LeRobot line, build/reuse its venv (scripts/ensure_venv.sh), then
# run ruff and pytest with the network closed (a network namespace with only loopback) and HF_HUB_OFFLINE=1.
# The lines' test runs go side by side (one log each, printed in turn when all ended). Prints the pytest
# summary of every line at the end; exits non-zero if any line failed or could not run.
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
lint_only=0
lines=()
for arg in "$@"; do
  case "$arg" in
    --lint-only) lint_only=1 ;;
    *) lines+=("$arg") ;;
  esac
done
[ ${#lines[@]} -gt 0 ] || lines=(0.4 0.5 0.6)
# What runs on each line: the whole suite on the 0.4 and 0.6 lines (the oldest and newest supported), the core
# tests (hooks inside lerobot-train, converter, config files, the SmolVLA demo flow) on 0.5, which keeps CI
# inside its time budget on a 2-core machine. LEROBOT_LOCAL_TESTS_0_5="tests" runs everything there too.
declare -A selection=(
  [0.4]="${LEROBOT_LOCAL_TESTS_0_4:-tests}"
  [0.5]="${LEROBOT_LOCAL_TESTS_0_5:-tests/test_train_hooks.py tests/test_convert.py tests/test_configs.py tests/test_cli.py tests/test_e2e_demo.py}"
  [0.6]="${LEROBOT_LOCAL_TESTS_0_6:-tests}"
)
# Tests marked any_line (pure numpy/pyarrow logic, fuzzing of our own readers, file texts: nothing that depends
# on the LeRobot version) run on one line only: 0.5 (the line with the fewest other tests), else 0.4, else 0.6,
# else the first line asked for (LEROBOT_LOCAL_ANY_LINE=0.6 picks another). The other lines deselect them with
# -m "not any_line"; a line whose selection is not the whole suite runs them as a second pytest.
any_line=""
for candidate in "${LEROBOT_LOCAL_ANY_LINE:-0.5}" 0.4 0.6 "${lines[0]}"; do
  if [[ " ${lines[*]} " == *" $candidate "* ]]; then any_line="$candidate"; break; fi
done
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled
export PYTHONDONTWRITEBYTECODE=1

closed_network() {  # run "$@" with no network but loopback, when this machine allows it
  if [ "$(id -u)" = "0" ] && unshare -n true 2>/dev/null; then
    unshare -n sh -c 'ip link set lo up 2>/dev/null || true; exec "$@"' sh "$@"
  else
    echo "WARNING: cannot create a network namespace (needs root); relying on the in-process socket guard" >&2
    "$@"
  fi
}

declare -A summary venvs logs rcs
status=0
# Build (or reuse) every line's environment first, one after another (downloads), and lint once.
for line in "${lines[@]}"; do
  echo "=== LeRobot $line line: environment ==="
  if ! venvs[$line]="$(bash scripts/ensure_venv.sh "$line")"; then
    summary[$line]="FAILED: could not build the environment (see above)"
    status=1
    continue
  fi
done
for line in "${lines[@]}"; do
  venv="${venvs[$line]:-}"
  [ -n "$venv" ] || continue
  "$venv/bin/ruff" check src tests scripts benchmarks && "$venv/bin/ruff" format --check src tests scripts benchmarks \
    || { echo "ruff failed: run 'ruff check --fix' and 'ruff format'" >&2; status=1; }
  break
done
[ $lint_only = 1 ] && exit $status

run_line() {  # line venv log: pytest of one line, network closed; its exit code into "$log.rc"
  local marks=() rc=0 tests="${selection[$1]:-tests}"
  [ "$1" = "$any_line" ] && [ "$tests" = tests ] || marks=(-m "not any_line")
  # shellcheck disable=SC2086  # the selection is a list of paths
  closed_network "$2/bin/python" -m pytest -p no:cacheprovider --durations=15 "${marks[@]}" ${PYTEST_ARGS:-} \
    $tests > "$3" 2>&1 || rc=$?
  if [ "$1" = "$any_line" ] && [ "$tests" != tests ]; then
    # shellcheck disable=SC2086
    closed_network "$2/bin/python" -m pytest -p no:cacheprovider --durations=5 -m any_line ${PYTEST_ARGS:-} \
      tests >> "$3" 2>&1 || rc=$((rc ? rc : $?))
  fi
  echo $rc > "$3.rc"
}
# The lines run side by side (LEROBOT_LOCAL_SERIAL_LINES=1: one after another, output live): their tests
# are mostly subprocesses that wait on start-up and I/O, so two cores finish them sooner together.
pids=()
for line in "${lines[@]}"; do
  venv="${venvs[$line]:-}"
  [ -n "$venv" ] || continue
  logs[$line]="$(mktemp)"
  if [ "${LEROBOT_LOCAL_SERIAL_LINES:-0}" = 1 ]; then
    echo "=== LeRobot $line line ==="
    run_line "$line" "$venv" "${logs[$line]}"
    cat "${logs[$line]}"
  else
    run_line "$line" "$venv" "${logs[$line]}" &
    pids+=($!)
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
for line in "${lines[@]}"; do
  venv="${venvs[$line]:-}"
  [ -n "$venv" ] || continue
  log="${logs[$line]}"
  if [ "${LEROBOT_LOCAL_SERIAL_LINES:-0}" != 1 ]; then
    echo "=== LeRobot $line line ==="
    cat "$log"
  fi
  rc="$(cat "$log.rc" 2>/dev/null || echo 1)"
  version="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("lerobot"))')"
  summary[$line]="LeRobot $version (Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())')): $(grep -E '^=+ .*(passed|failed|error).* =+$' "$log" | tr -d '=' | sed 's/^ *//;s/ *$//' | paste -sd '+' | sed 's/+/ + /g')"
  rm -f "$log" "$log.rc"
  [ "$rc" = 0 ] || status=1
done
echo
echo "=== test summary ==="
for line in "${lines[@]}"; do echo "  LeRobot $line line: ${summary[$line]}"; done
exit $status
