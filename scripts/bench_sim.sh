#!/usr/bin/env bash
# `make bench-sim`: build/reuse the venv of one LeRobot line (0.6 where Python 3.12 is found, else 0.4) and run
# benchmarks/sim_closed_loop.py (record -> convert -> check -> lerobot-train -> closed-loop eval), with the
# network closed when this machine allows it. Extra arguments go to the benchmark (e.g. --device=cuda).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/find_python.sh
source "$repo/scripts/find_python.sh"
line="${SIM_LINE:-}"
if [ -z "$line" ]; then
  if find_python 3.12 >/dev/null; then line=0.6; else line=0.4; fi
fi
venv="$(bash "$repo/scripts/ensure_venv.sh" "$line")"
cmd=("$venv/bin/python" "$repo/benchmarks/sim_closed_loop.py" "$@")
echo "bench-sim on LeRobot $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("lerobot"))')"
if [ "$(id -u)" = "0" ] && unshare -n true 2>/dev/null; then
  echo "running offline: network namespace with no interfaces"
  unshare -n "${cmd[@]}"
else
  echo "WARNING: cannot close the network (needs root); running with HF_HUB_OFFLINE=1 only" >&2
  HF_HUB_OFFLINE=1 "${cmd[@]}"
fi
