#!/usr/bin/env bash
# The end-to-end flow on the bundled sample, with the console scripts of BIN_DIR, inside WORKDIR:
# convert (v2.1 -> v3.0, fully verified) -> preflight -> train SmolVLA 4 steps (tiny local backbone) with one
# episode held out for validation -> resume to step 6 -> evaluate the best checkpoint offline -> print where
# everything is (the run report among it). Offline: HF_HUB_OFFLINE=1, and no network at all when
# the caller runs it in a network namespace (scripts/demo.sh does).
set -euo pipefail
bin="${1:?usage: demo_flow.sh BIN_DIR WORKDIR}"
work="${2:?usage: demo_flow.sh BIN_DIR WORKDIR}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled
mkdir -p "$work"
cd "$work"
rm -rf sample_grasp_v30 train demo_tiny_smolvla.json eval_plots eval_report.json
cp "$repo/configs/demo_tiny_smolvla.json" .

step() { printf '\n=== %s ===\n' "$*"; }
step "1/6 convert the bundled v2.1 sample to v3.0 (verify every frame through LeRobot)"
"$bin/lerobot-convert-local" --input="$repo/examples/sample_grasp_v21" --output=sample_grasp_v30 \
  --verify=full --report_json=convert_report.json --overwrite=true --progress=false
step "2/6 build a tiny SmolVLM-compatible backbone locally (no Hub)"
"$bin/python" -m lerobot_local.demo.tiny_vlm tiny_smolvlm
holdout=(--lerobot_local.validation.holdout=0.25 --lerobot_local.validation.max_samples=32)
step "3/6 preflight: the before-train checks, without training"
"$bin/lerobot-local" preflight --config_path=demo_tiny_smolvla.json "${holdout[@]}"
step "4/6 native lerobot-train, 4 steps of SmolVLA, 1 of 4 episodes held out, validated at every checkpoint"
"$bin/lerobot-train" --config_path=demo_tiny_smolvla.json "${holdout[@]}" 2>&1 | tee train.log
step "5/6 resume from the last checkpoint to step 6"
"$bin/lerobot-train" --resume=true --config_path=train/checkpoints/last/pretrained_model/train_config.json \
  --steps=6 2>&1 | tee resume.log
step "6/6 evaluate the best checkpoint offline (same held-out episode): metrics, trajectory plots"
"$bin/lerobot-local" eval --checkpoint=train/checkpoints/best --device=cpu --report_json=eval_report.json \
  --plots_dir=eval_plots --progress=false

step "done: where everything is"
echo "  converted dataset : $work/sample_grasp_v30"
echo "  conversion report : $work/convert_report.json"
echo "  tiny backbone     : $work/tiny_smolvlm"
echo "  train config      : $work/demo_tiny_smolvla.json"
echo "  run               : $work/train"
for manifest in train/checkpoints/[0-9]*/lerobot_local_manifest.json; do
  echo "  checkpoint        : $work/$(dirname "$manifest")  (manifest: $(basename "$manifest"))"
done
echo "  last              : $(readlink train/checkpoints/last)"
echo "  best              : $(readlink train/checkpoints/best)  (lowest validation loss)"
grep -h "lerobot-local: validation at step" train.log resume.log | sed 's/^.*lerobot-local: /  /' | tail -n 1
echo "  metrics (JSONL)   : $work/train/lerobot_local_metrics.jsonl"
echo "  run report        : $work/train/lerobot_local_report.html"
echo "  eval report/plots : $work/eval_report.json, $work/eval_plots/"
echo "  logs              : $work/train.log, $work/resume.log"
