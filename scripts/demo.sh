#!/usr/bin/env bash
# `make demo`: build/reuse the venv of one LeRobot line and run scripts/demo_flow.sh in demo-output/,
# with the network closed when this machine allows it (root: a network namespace with no interfaces).
set -euo pipefail
line="${1:-0.4}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$(bash "$repo/scripts/ensure_venv.sh" "$line")"
work="$repo/demo-output"
started=$SECONDS
if [ "$(id -u)" = "0" ] && unshare -n true 2>/dev/null; then
  echo "running offline: network namespace with no interfaces"
  unshare -n bash "$repo/scripts/demo_flow.sh" "$venv/bin" "$work"
else
  echo "WARNING: cannot close the network (needs root); running with HF_HUB_OFFLINE=1 only" >&2
  bash "$repo/scripts/demo_flow.sh" "$venv/bin" "$work"
fi
echo "demo finished in $((SECONDS - started)) s with LeRobot $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("lerobot"))')"
