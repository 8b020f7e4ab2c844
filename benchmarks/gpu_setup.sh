#!/usr/bin/env bash
# On the GPU machine: a venv that sees the image's torch/transformers/accelerate (a .pth file listing the image's
# sys.path; `--system-site-packages` would see /usr's, not the image's venv), then the carried wheels of LeRobot
# 0.6.1's other needs and this project's own wheel, offline. Usage: `source benchmarks/gpu_setup.sh WHEEL_DIR`;
# afterwards `python` and `lerobot-train` are the venv's (docs/gpu.md, "How the GPU runs are set up").
set -e
wheels="${1:-.whl}"
base_python="$(command -v python3)"
venv=/tmp/gpu-venv
"$base_python" -m venv "$venv"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$base_python" -c "import sys; print('\n'.join(p for p in sys.path if p))" > "$site/image_site_packages.pth"
"$venv/bin/python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir "$wheels"/*.whl
export PATH="$venv/bin:$PATH" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled
export PYTHONUNBUFFERED=1
set +e
lerobot-local doctor 2>&1 | tail -4
