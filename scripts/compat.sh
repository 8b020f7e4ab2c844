#!/usr/bin/env bash
# `make compat`: the upgrade drill. For each LeRobot release, build a throw-away venv (pip cache reused),
# install lerobot-local against exactly that release, run the core checks with the network closed, record
# the result as JUnit XML, delete the venv. Then scripts/compat_report.py writes docs/compatibility.md.
#   bash scripts/compat.sh                 # every release from 0.4.0 to 0.6.1
#   bash scripts/compat.sh 0.4.0 0.6.1     # only these
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
# shellcheck source=scripts/find_python.sh
source "$repo/scripts/find_python.sh"
releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(0.4.0 0.4.1 0.4.2 0.4.3 0.4.4 0.5.0 0.5.1 0.6.0 0.6.1)
results="${COMPAT_RESULTS:-$repo/benchmarks/results/compat}"
work="$(mktemp -d "${TMPDIR:-/tmp}/lerobot-local-compat.XXXXXX")"
mkdir -p "$results"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled PYTHONDONTWRITEBYTECODE=1
# The core checks (scripts/core_tests.txt, one pytest node id a line, shared with scripts/compat_main.sh).
mapfile -t CORE_TESTS < <(grep -v '^#' "$repo/scripts/core_tests.txt")

for release in "${releases[@]}"; do
  line="${release%.*}"
  case "$line" in 0.4) want_py=3.11 ;; *) want_py=3.12 ;; esac
  echo "=== LeRobot $release (Python $want_py) ==="
  started=$SECONDS
  meta="$results/$release.json"
  python="$(find_python "$want_py" || true)"
  if [ -z "$python" ]; then
    printf '{"release": "%s", "install": "no Python %s on this machine", "seconds": 0}\n' "$release" "$want_py" > "$meta"
    continue
  fi
  venv="$work/venv-$release"
  "$python" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install -q)
  "${pip[@]}" --upgrade pip >/dev/null 2>&1
  # Pin what the line's tested constraint file pins, except LeRobot itself; fall back to pip's resolver
  # when the line's pins do not fit this older release.
  # ... and except what this release pins exactly itself (e.g. 0.5.0 pins draccus==0.10.0).
  pinned="$("$python" "$repo/scripts/compat_facts.py" --exact-pins "$release" 2>/dev/null | paste -sd'|' -)"
  grep -v -i -E "^(lerobot${pinned:+|$pinned})==" "constraints/lerobot-$line.txt" > "$work/constraints-$release.txt"
  install="constraints of the $line line${pinned:+ (but $pinned)}"
  if ! { "${pip[@]}" -c "$work/constraints-$release.txt" hatchling editables setuptools wheel \
         && "${pip[@]}" -c "$work/constraints-$release.txt" --no-build-isolation "lerobot==$release" -e "$repo[test]"; } \
         > "$work/install-$release.log" 2>&1; then
    install="pip's resolver (the $line pins do not fit)"
    if ! { "${pip[@]}" hatchling editables setuptools wheel \
           && "${pip[@]}" --no-build-isolation "lerobot==$release" -e "$repo[test]"; } >> "$work/install-$release.log" 2>&1; then
      reason="$(grep -E 'ERROR|error:' "$work/install-$release.log" | tail -n 1 | cut -c1-200)"
      printf '{"release": "%s", "install": "failed: %s", "seconds": %d}\n' "$release" "${reason//\"/\'}" $((SECONDS - started)) > "$meta"
      rm -rf "$venv"
      continue
    fi
  fi
  installed="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("lerobot"))')"
  # Does LeRobot's own training script import at all in this environment, with the plugin off?
  alone="ok"
  if ! LEROBOT_LOCAL_DISABLE=1 "$venv/bin/python" -c 'import lerobot.scripts.lerobot_train' > "$work/alone.log" 2>&1; then
    alone="fails without the plugin: $(grep -v '^ ' "$work/alone.log" | tail -n 1 | cut -c1-160)"
  fi
  if [ "$(id -u)" = "0" ] && unshare -n true 2>/dev/null; then closed=(unshare -n); else closed=(); fi
  "${closed[@]}" "$venv/bin/python" -m pytest -p no:cacheprovider -q "${CORE_TESTS[@]}" \
    --junitxml="$results/$release.xml" > "$results/$release.log" 2>&1
  tail -n 1 "$results/$release.log"
  printf '{"release": "%s", "installed": "%s", "python": "%s", "install": "%s", "lerobot_alone": "%s", "seconds": %d}\n' \
    "$release" "$installed" "$("$venv/bin/python" -c 'import platform; print(platform.python_version())')" \
    "$install" "${alone//\"/\'}" $((SECONDS - started)) > "$meta"
  rm -rf "$venv"
done
rm -rf "$work"
report_python="$(find_python 3.11 || command -v python3)"
"$report_python" "$repo/scripts/compat_facts.py" "$results" "${releases[@]}" > /dev/null \
  || echo "warning: could not read the releases' wheels (the facts table is left out)" >&2
"$report_python" "$repo/scripts/compat_report.py" "$results" > "$repo/docs/compatibility.md"
echo "wrote docs/compatibility.md"
