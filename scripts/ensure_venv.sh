#!/usr/bin/env bash
# Prints the path of a ready virtual environment for one LeRobot line ("0.4", "0.5" or "0.6"), building it first if
# needed. Environments live OUTSIDE the clone (LEROBOT_LOCAL_VENV_ROOT, default ~/.cache/lerobot-local/venvs),
# keyed by the hash of the line's constraint file, the Python version AND this checkout's path: each checkout
# has its own environments (its editable install points at itself), so deleting one clone cannot break
# another's. Environments of checkouts that no longer exist are removed. Every call (re)installs this
# checkout in editable mode, so a fresh clone always tests its own code.
set -euo pipefail
line="${1:?usage: ensure_venv.sh 0.4|0.5|0.6}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
constraints="$repo/constraints/lerobot-$line.txt"
[ -f "$constraints" ] || { echo "error: no constraint file $constraints" >&2; exit 2; }
log() { echo "[ensure_venv $line] $*" >&2; }

# shellcheck source=scripts/find_python.sh
source "$repo/scripts/find_python.sh"

case "$line" in
  0.4) want_py="${LEROBOT_LOCAL_PY04:-3.11}" ;;
  0.5) want_py="${LEROBOT_LOCAL_PY05:-3.12}" ;;
  0.6) want_py="${LEROBOT_LOCAL_PY06:-3.12}" ;;
  *) echo "error: unknown LeRobot line '$line' (use 0.4, 0.5 or 0.6)" >&2; exit 2 ;;
esac
python="$(find_python "$want_py" || true)"
if [ -z "$python" ]; then
  echo "ERROR: Python $want_py is required to test the LeRobot $line line and was not found" \
       "(looked for python$want_py on PATH and under pyenv). Install it, e.g. 'pyenv install $want_py'." >&2
  exit 3
fi

key="$( (cat "$constraints"; "$python" -c 'import sys; print(sys.version)'; echo "$repo") | sha256sum | cut -c1-16)"
root="${LEROBOT_LOCAL_VENV_ROOT:-$HOME/.cache/lerobot-local/venvs}"
venv="$root/lerobot-$line-$key"
if [ ! -f "$venv/.complete" ]; then
  log "building $venv with $python (first run only; LeRobot and torch are large)"
  rm -rf "$venv"
  mkdir -p "$root"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  # build tools for --no-build-isolation: hatchling for this package, setuptools+wheel for sdists (e.g. docopt)
  "$venv/bin/python" -m pip install -q -c "$constraints" hatchling editables setuptools wheel >&2
  "$venv/bin/python" -m pip install -q -c "$constraints" --no-build-isolation -e "$repo[test]" >&2
  echo "$repo" > "$venv/.checkout"
  touch "$venv/.complete"
  # drop this checkout's environments built from older constraint files, and those of deleted checkouts
  for old in "$root"/lerobot-"$line"-*; do
    [ "$old" = "$venv" ] && continue
    owner="$(cat "$old/.checkout" 2>/dev/null || true)"
    if [ -z "$owner" ] || [ "$owner" = "$repo" ] || [ ! -d "$owner" ]; then rm -rf "$old"; fi
  done
fi
"$venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$repo" >&2
echo "$venv"
