#!/usr/bin/env bash
# Regenerates the LeRobot v2.1 fixture datasets with a REAL v2.1 writer (lerobot==0.3.3):
#   tests/fixtures/v21_video    3 episodes (20/31/17 frames), 2 AV1 video cameras 48x64
#   tests/fixtures/v21_images   2 episodes (12/9 frames), the same 2 cameras stored as PNG images
#   examples/sample_grasp_v21   the demo sample: 4 episodes x 45 frames, 2 AV1 video cameras 96x128
# What it does:
#   1. deletes those three output folders (under --out-root, default: this repository);
#   2. picks the writer interpreter: $V21_WRITER_PYTHON if set (any python with lerobot==0.3.3 installed),
#      otherwise creates a throwaway venv in a temp dir and runs
#      `pip install lerobot==0.3.3 'numpy<2.3'` into it (downloads torch etc.; several GB, minutes);
#   3. runs scripts/make_v21_fixtures.py offline (HF_HUB_OFFLINE=1, PYTHONHASHSEED=0) with that
#      interpreter: it writes the datasets (seeded, byte-for-byte reproducible), loads each back with
#      0.3.3's LeRobotDataset, asserts lengths/tasks/values/decoded frames and prints a summary plus a
#      PyAV probe (codec, frame count, fps) of every mp4;
#   4. removes the throwaway venv (if it made one).
# Usage: scripts/make_v21_fixtures.sh [--out-root DIR]
#        V21_WRITER_PYTHON=/path/to/venv/bin/python scripts/make_v21_fixtures.sh
# Needs: python3 >= 3.10 with the venv module (only when V21_WRITER_PYTHON is unset).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

out_root="$repo"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    --out-root) out_root="${args[$((i + 1))]:?--out-root needs a value}" ;;
    --out-root=*) out_root="${args[$i]#--out-root=}" ;;
  esac
done

for rel in tests/fixtures/v21_video tests/fixtures/v21_images examples/sample_grasp_v21; do
  rm -rf -- "${out_root:?}/$rel"
done

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf -- "$tmp"; fi; }
trap cleanup EXIT

if [ -n "${V21_WRITER_PYTHON:-}" ]; then
  py="$V21_WRITER_PYTHON"
else
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/v21-writer.XXXXXX")"
  echo "[make_v21_fixtures] creating throwaway venv in $tmp/v" >&2
  python3 -m venv "$tmp/v"
  "$tmp/v/bin/pip" install --quiet lerobot==0.3.3 'numpy<2.3'
  py="$tmp/v/bin/python"
fi

"$py" -c 'import importlib.metadata as m; v = m.version("lerobot"); assert v == "0.3.3", v'
HF_HUB_OFFLINE=1 PYTHONHASHSEED=0 "$py" "$repo/scripts/make_v21_fixtures.py" "$@"
