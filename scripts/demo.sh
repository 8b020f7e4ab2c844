#!/usr/bin/env bash
# `make demo`: build/reuse the venv of one LeRobot line and run scripts/demo_flow.sh in demo-output/,
# with the network closed when this machine allows it (root: a network namespace with no interfaces).
# `make shell` (`demo.sh --shell LINE`): an interactive shell in that venv instead.
# Every run ends with the one line that puts the venv's tools (lerobot-local, lerobot-train, tensorboard) on
# the PATH.
set -euo pipefail
shell=0
if [ "${1:-}" = "--shell" ]; then shell=1; shift; fi
line="${1:-0.4}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="$(bash "$repo/scripts/ensure_venv.sh" "$line")"
if [ $shell = 1 ]; then
  echo "a shell in $venv (LeRobot $line line): lerobot-local, lerobot-train, tensorboard on the PATH; exit to leave"
  exec bash --rcfile <(printf '[ -f ~/.bashrc ] && source ~/.bashrc\nsource %q/bin/activate\n' "$venv") -i
fi
name_the_venv() {  # last, on every run (also a failed one): the one line to copy
  echo
  echo "The demo's tools (lerobot-local doctor, lerobot-train, tensorboard --logdir demo-output) live in its"
  echo "environment; put them on your PATH with the line below (or run 'make shell'):"
  echo "source $venv/bin/activate"
}
trap name_the_venv EXIT
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
