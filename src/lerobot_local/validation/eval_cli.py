"""``lerobot-local eval``: evaluate any checkpoint offline on a local v3.0 dataset.

The same metrics as the validation inside ``lerobot-train`` (loss, per-joint open-loop action error in the
joints' units, the constant-action baseline, the untrained initialisation) and the same verdict in words, a
JSON report, and one PNG per evaluated episode (predicted vs recorded trajectory of every joint). Works on
checkpoints written without lerobot-local too. With ``--checkpoint=<run>/checkpoints`` every checkpoint of
the run is evaluated and the best one named. LeRobot's spellings work too (``--policy.path``,
``--dataset.root``, ``--dataset.episodes``); relative paths of the checkpoint's config resolve against the
directory training ran in (recorded in the run's metrics file), wherever eval runs from.

Exit codes: 0 evaluated, 1 bad input (the message names the file and the fix; nothing is written), 2 usage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.validation.eval_args import HELP, EvalError, parse_args
from lerobot_local.validation.eval_offline import run
from lerobot_local.validation.units import units_label


def _summary(results: list[dict[str, Any]]) -> str:
    head = ("checkpoint", "val loss", "MAE", "RMSE", "const MAE", "untrained MAE", "in-training loss")
    lines = ["  " + "  ".join(f"{h:>16}" for h in head)]
    for r in results:
        m = r["metrics"]
        base = (m.get("baseline_constant") or {}).get("mae_mean")
        untrained = (r.get("untrained_reference") or {}).get("mae_mean")
        training = (r.get("in_training") or {}).get("val_loss")
        name = Path(r["checkpoint"]).name + (" untrained" if r.get("untrained") else "")
        cells = [name, m["val_loss"], m["mae_mean"], m["rmse_mean"], base, untrained, training]
        lines.append(
            "  " + "  ".join(f"{c:>16.5f}" if isinstance(c, float) else f"{c or '-':>16}" for c in cells)
        )
    return "\n".join(lines)


def _episode_table(result: dict[str, Any]) -> str:
    units = units_label(result.get("units") or {})
    lines = [f"  {'episode':>8}  {'role':<12}  MAE ({units})"]
    for episode, row in result["episodes"].items():
        mae = row.get("mae_mean")
        role = row["role"] + (" *" if row["role"] == "trained on" else "")
        lines.append(
            f"  {episode:>8}  {role:<12}  {mae:.5f}" if mae is not None else f"  {episode:>8}  {role}"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    from lerobot_local.closed_loop import cli as closed_loop  # its own flags; loads the simulator
    from lerobot_local.logs import setup_logging

    if closed_loop.wants_closed_loop(argv):
        return closed_loop.main(argv)
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip() + "\n\n" + HELP + "\n" + closed_loop.HELP)
        return 0
    try:
        opts = parse_args(argv)
    except ValueError as exc:
        print(f"error: {exc}\n\n{HELP}", file=sys.stderr)
        return 2
    setup_logging()
    compat.force_offline()
    try:
        report = run(opts)
    except EvalError as exc:
        print(f"lerobot-local eval: ERROR: {exc}", file=sys.stderr)
        return 1
    trained = report["trained_on_episodes"]
    print(
        f"lerobot-local eval: {report['dataset_root']}, episodes {report['episodes']} "
        f"({report['episodes_from']})"
    )
    if trained:
        print(
            f"  WARNING: episodes {trained} (marked *) were trained on: their score is not a held-out score; "
            f"held out: {report['held_out_episodes'] or 'none'}"
        )
    print(_summary(report["checkpoints"]))
    last = report["checkpoints"][-1]
    print(_episode_table(last))
    print(f"  {last['definition']}")
    for r in report["checkpoints"]:
        print(f"verdict {Path(r['checkpoint']).name}: {r['verdict']['text']}")
    if len(report["checkpoints"]) > 1:
        print(
            f"best: {report['best']['checkpoint']} "
            f"({report['best']['why']}: {report['best']['val_loss']:.5f})"
        )
    if report["overfitting"]:
        print(f"WARNING: {report['overfitting']['text']}")
    for r in report["checkpoints"]:
        for plot in r["plots"]:
            print(f"plot: {plot}")
    if opts.report_json is not None:
        opts.report_json.parent.mkdir(parents=True, exist_ok=True)
        opts.report_json.write_text(json.dumps(report, indent=2, default=str))
        print(f"report: {opts.report_json}")
    return 0
