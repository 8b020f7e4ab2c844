#!/usr/bin/env bash
# The compatibility row for LeRobot main (unreleased), built from a source snapshot outside CI:
#   bash scripts/compat_main.sh /path/to/lerobot-source COMMIT DATE
# (e.g. the search tool's `fetch github:huggingface/lerobot`, then `git archive HEAD | tar -x -C DIR`).
# Builds a Python 3.12 venv with that source and the 0.6 line's pins (minus LeRobot), runs the core tests
# (scripts/core_tests.txt) plus the multi-node tests with the network closed, and writes
# benchmarks/results/compat/main.{json,xml,log}; then re-renders docs/compatibility.md.
set -euo pipefail
src="${1:?usage: compat_main.sh SOURCE_DIR COMMIT DATE}"
commit="${2:?commit}"
date="${3:?date}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
results="$repo/benchmarks/results/compat"
# shellcheck source=scripts/find_python.sh
source "$repo/scripts/find_python.sh"
python="$(find_python 3.12)"
work="$(mktemp -d "${TMPDIR:-/tmp}/lerobot-local-main.XXXXXX")"
started=$SECONDS
grep -v '^lerobot==' "$repo/constraints/lerobot-0.6.txt" > "$work/constraints.txt"
venv="${LEROBOT_MAIN_VENV:-$work/venv}"  # reuse a venv built earlier from the same snapshot
pip=("$venv/bin/python" -m pip install -q -c "$work/constraints.txt")
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "${pip[@]}" hatchling editables setuptools wheel
  "${pip[@]}" "$src[smolvla,dataset,training]"
fi
"${pip[@]}" --no-build-isolation -e "$repo[test]"
installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("lerobot"))')"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled PYTHONDONTWRITEBYTECODE=1
mapfile -t CORE_TESTS < <(grep -v '^#' "$repo/scripts/core_tests.txt")
cd "$repo"
unshare -n sh -c 'ip link set lo up; exec "$@"' sh "$venv/bin/python" -m pytest -p no:cacheprovider -q \
  "${CORE_TESTS[@]}" tests/test_multinode.py tests/test_fail_closed.py --junitxml="$results/main.xml" \
  > "$results/main.log" 2>&1 || true
tail -n 1 "$results/main.log"
printf '{"release": "main %s (%s, version %s)", "results": "main", "installed": "%s", "python": "%s", "install": "source snapshot + constraints of the 0.6 line", "lerobot_alone": "not probed", "seconds": %d}\n' \
  "${commit:0:7}" "$date" "$installed" "$installed" "$("$venv/bin/python" -c 'import platform; print(platform.python_version())')" \
  $((SECONDS - started)) > "$results/main.json"
rm -rf "$work"
"$(find_python 3.11 || command -v python3)" "$repo/scripts/compat_report.py" "$results" > "$repo/docs/compatibility.md"
echo "wrote docs/compatibility.md"
