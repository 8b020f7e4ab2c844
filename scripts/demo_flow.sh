#!/usr/bin/env bash
# The end-to-end flow on the bundled sample, with the console scripts of BIN_DIR, inside WORKDIR:
# check the data (lerobot-local check) -> convert (v2.1 -> v3.0, fully verified) -> preflight -> train SmolVLA
# 4 steps (tiny local backbone) with one episode held out for validation -> resume to step 6 -> evaluate the
# best checkpoint offline from another directory -> the verdict, where everything is, what to run next on your
# own data. The terminal gets the lines that matter (under 60); every command's full output goes to a log
# file it names. Offline: HF_HUB_OFFLINE=1, and no network at all when the caller runs it in a network
# namespace (scripts/demo.sh does).
set -euo pipefail
bin="${1:?usage: demo_flow.sh BIN_DIR WORKDIR}"
work="${2:?usage: demo_flow.sh BIN_DIR WORKDIR}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_MODE=disabled
mkdir -p "$work"
work="$(cd "$work" && pwd)"
cd "$work"
rm -rf sample_grasp_v30 train demo_tiny_smolvla.json eval_plots eval_report.json eval.out ./*.log
cp "$repo/configs/demo_tiny_smolvla.json" .

step() { printf '\n=== %s ===\n' "$*"; }
# run CMD..., its output in LOG; on failure show the log's end and stop
logged() {
  local log="$1"
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "FAILED: $* (last lines of $work/$log):" >&2
    tail -n 25 "$log" >&2
    exit 1
  fi
}
said() { grep -h "lerobot-local: $1" "${@:2}" | sed 's/^.*lerobot-local: /  /'; }

step "1/7 check the bundled v2.1 sample (lerobot-local check)"
"$bin/lerobot-local" check "$repo/examples/sample_grasp_v21" | tail -n +2
step "2/7 convert it to v3.0, every frame verified through LeRobot (log: convert.log)"
logged convert.log "$bin/lerobot-convert-local" --input="$repo/examples/sample_grasp_v21" \
  --output=sample_grasp_v30 --verify=full --report_json=convert_report.json --overwrite=true --progress=false
grep -E "^(converted|  episodes)" convert.log | sed 's/^converted/  converted/'
step "3/7 a tiny SmolVLM-compatible backbone, built locally (no Hub) (log: backbone.log)"
logged backbone.log "$bin/python" -m lerobot_local.demo.tiny_vlm tiny_smolvlm
echo "  $work/tiny_smolvlm"
holdout=(--lerobot_local.validation.holdout=0.25 --lerobot_local.validation.max_samples=16)
step "4/7 preflight: the before-train checks, without training (log: preflight.log)"
logged preflight.log "$bin/lerobot-local" preflight --config_path=demo_tiny_smolvla.json "${holdout[@]}"
grep -E "^\s*[0-9]+ ok" preflight.log | tail -n 1 | sed 's/^\s*/  /' || tail -n 1 preflight.log
step "5/7 lerobot-train, 4 steps of SmolVLA, 1 of 4 episodes held out (log: train.log)"
logged train.log "$bin/lerobot-train" --config_path=demo_tiny_smolvla.json "${holdout[@]}"
said "untrained initialisation" train.log | cut -c1-150
said "verdict at step" train.log
step "6/7 resume from the last checkpoint to step 6 (log: resume.log)"
logged resume.log "$bin/lerobot-train" --resume=true \
  --config_path=train/checkpoints/last/pretrained_model/train_config.json --steps=6
said "verdict at step" resume.log
step "7/7 lerobot-local eval of the best checkpoint, run from $repo (log: eval.log)"
(cd "$repo" && "$bin/lerobot-local" eval --policy.path="$work/train/checkpoints/best/pretrained_model" \
  --device=cpu --report_json="$work/eval_report.json" --plots_dir="$work/eval_plots" --progress=false) \
  >eval.out 2>eval.log || { tail -n 25 eval.log >&2; exit 1; }
grep -vE "^(plot|report):|MAE/RMSE:" eval.out

step "done: where everything is"
echo "  run report (open it) : $work/train/lerobot_local_report.html"
echo "  metrics (JSON lines) : $work/train/lerobot_local_metrics.jsonl"
echo "  checkpoints          : $work/train/checkpoints (last -> $(readlink train/checkpoints/last)," \
  "best -> $(readlink train/checkpoints/best), lowest validation loss)"
echo "  eval report, plots   : $work/eval_report.json, $work/eval_plots/"
echo "  TensorBoard (live)   : $bin/tensorboard --logdir $work/train"
echo "  logs                 : $work/{convert,backbone,preflight,train,resume,eval}.log"
echo "verdict: $(said "verdict at step" resume.log | tail -n 1 | sed 's/^ *verdict at step [0-9]*: //')"
echo "  (4-6 steps on 4 episodes cannot learn; a real run trains 20k steps: see the README)"

step "next: your own data"
echo "  (in the demo's environment: the 'source .../bin/activate' line printed last, or 'make shell')"
echo "  lerobot-local check /path/to/your_dataset_v21"
echo "  lerobot-convert-local --input=/path/to/your_dataset_v21 --output=data/grasp_v30"
echo "  lerobot-train --config_path=configs/grasp_smolvla.json --dataset.root=data/grasp_v30"
