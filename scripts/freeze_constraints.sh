#!/usr/bin/env bash
# `make constraints`: re-resolve each LeRobot line from scratch (newest release of the line, no pins) and
# write constraints/lerobot-LINE.txt as the pip freeze of that environment. Run `make test` afterwards: the
# files are only "tested" once the suite passed on them.
#   bash scripts/freeze_constraints.sh 0.6        # one line
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/find_python.sh
source "$repo/scripts/find_python.sh"
lines=("$@")
[ ${#lines[@]} -gt 0 ] || lines=(0.4 0.5 0.6)
for line in "${lines[@]}"; do
  case "$line" in 0.4) want_py=3.11 ;; *) want_py=3.12 ;; esac
  python="$(find_python "$want_py")" || { echo "ERROR: Python $want_py not found" >&2; exit 3; }
  venv="$(mktemp -d)/venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q hatchling editables setuptools wheel
  "$venv/bin/python" -m pip install -q --no-build-isolation "lerobot~=$line.0" -e "$repo[test]"
  out="$repo/constraints/lerobot-$line.txt"
  {
    echo "# Tested, pinned environment for the LeRobot $line line (pip freeze of the CI venv)."
    echo "# Regenerate with: make constraints"
    "$venv/bin/python" -m pip freeze --all --exclude-editable | grep -v -E '^(pip|lerobot-local)=='
  } > "$out"
  rm -rf "$(dirname "$venv")"
  echo "wrote $out"
done
