"""TensorBoard event files in the run's output folder, so a run can be watched live and offline
(``tensorboard --logdir outputs/train``): LeRobot's own training scalars at its ``log_freq``, the validation
of every checkpoint (loss, action MAE per unit group and per joint in its unit, the constant-action and
untrained references), the verdict and the check table as text.

Written by the main process only, through ``torch.utils.tensorboard.SummaryWriter`` (it needs the
``tensorboard`` package, a dependency of lerobot-local). When it cannot be imported or a write fails, the run
says so once, loudly, and trains on: the HTML report and the JSON-lines metrics do not depend on it.
"""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path
from typing import Any

from lerobot_local.results import render_table

logger = logging.getLogger("lerobot_local")

# tag -> key of compat.tracker_step_metrics (plus samples_per_s, computed by the caller)
TRAIN_TAGS = {
    "train/loss": "loss",
    "train/grad_norm": "grad_norm",
    "train/lr": "lr",
    "train/update_s": "update_s",
    "train/dataloading_s": "dataloading_s",
    "train/samples_per_s": "samples_per_s",
}
FLUSH_SECS = 10  # the writer's own background flush; every write below also flushes


def _tag_part(text: str) -> str:
    """A joint name or unit as a tag component (TensorBoard splits groups at '/')."""
    return str(text).replace("/", "_").replace(" ", "_")


def mae_by_unit(mae: dict[str, float], units: dict[str, str]) -> dict[str, float]:
    """Mean action MAE over the joints of each unit ({"degrees": ..., "percent": ...}): never a mean across
    units."""
    groups: dict[str, list[float]] = {}
    for joint, value in mae.items():
        if isinstance(value, (int, float)) and math.isfinite(value):
            groups.setdefault(units.get(joint, "dataset units"), []).append(float(value))
    return {unit: sum(v) / len(v) for unit, v in groups.items()}


def validation_scalars(result: dict[str, Any]) -> dict[str, float]:
    """Tag -> value of one validation result (see the module docstring)."""
    units: dict[str, str] = result.get("units") or {}
    out: dict[str, float] = {}

    def put(tag: str, value: Any) -> None:
        if isinstance(value, (int, float)) and math.isfinite(value):
            out[tag] = float(value)

    put("val/loss", result.get("val_loss"))
    for unit, value in mae_by_unit(result.get("mae") or {}, units).items():
        put(f"val/action_mae_{_tag_part(unit)}", value)
    for joint, value in (result.get("mae") or {}).items():
        put(f"val_joint_mae/{_tag_part(joint)}_{_tag_part(units.get(joint, 'dataset units'))}", value)
    constant = result.get("baseline_constant") or {}
    for unit, value in mae_by_unit(constant.get("mae") or {}, units).items():
        put(f"reference/constant_action_mae_{_tag_part(unit)}", value)
    untrained = result.get("untrained") or {}
    put("reference/untrained_loss", untrained.get("val_loss"))
    for unit, value in mae_by_unit(untrained.get("mae") or {}, units).items():
        put(f"reference/untrained_mae_{_tag_part(unit)}", value)
    put("val/seconds", result.get("seconds"))
    if result.get("seconds"):
        put("val/frames_per_s", (result.get("frames") or 0) / result["seconds"])
    return out


class LiveBoard:
    """One run's TensorBoard writer, opened on the first write (after LeRobot made the output folder)."""

    def __init__(self, output_dir: Path | None) -> None:
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self._writer: Any = None
        self._off = output_dir is None

    @property
    def active(self) -> bool:
        return self._writer is not None

    def _disable(self, why: str) -> None:
        self._off = True
        bar = "!" * 100
        logger.warning(
            "lerobot-local: %s\nlerobot-local: NO TENSORBOARD EVENT FILES for this run: %s. Training goes "
            "on; the HTML report and %s still record it. Fix: pip install tensorboard (a dependency of "
            "lerobot-local: reinstall it in this environment).\nlerobot-local: %s",
            bar,
            why,
            "lerobot_local_metrics.jsonl",
            bar,
        )
        try:
            if self._writer is not None:
                self._writer.close()
        except Exception:
            pass
        self._writer = None

    def _get(self) -> Any:
        if self._off:
            return None
        if self._writer is None:
            try:
                from torch.utils.tensorboard import SummaryWriter  # heavy: only inside a training run
            except ImportError as exc:
                self._disable(f"torch.utils.tensorboard cannot be imported ({exc})")
                return None
            try:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                self._writer = SummaryWriter(log_dir=str(self.output_dir), flush_secs=FLUSH_SECS)
            except Exception as exc:  # an unwritable folder: say so, train on
                self._disable(f"the event file in {self.output_dir} cannot be opened ({exc})")
                return None
            logger.info(
                "lerobot-local: TensorBoard event files in %s (watch live: tensorboard --logdir %s)",
                self.output_dir,
                self.output_dir.parent,
            )
        return self._writer

    def _write(self, step: int, scalars: dict[str, float], texts: dict[str, str] | None = None) -> None:
        writer = self._get()
        if writer is None:
            return
        try:
            for tag, value in scalars.items():
                writer.add_scalar(tag, value, global_step=step)
            for tag, text in (texts or {}).items():
                writer.add_text(tag, text, global_step=step)
            writer.flush()
        except Exception as exc:  # a full disk: the event file is extra information
            self._disable(f"writing the event file failed ({exc})")

    def train(self, step: int, metrics: dict[str, float]) -> None:
        """LeRobot's training scalars at a log step (``compat.tracker_step_metrics`` + samples_per_s)."""
        scalars = {}
        for tag, key in TRAIN_TAGS.items():
            value = metrics.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                scalars[tag] = float(value)
        self._write(step, scalars)

    def validation(self, step: int, result: dict[str, Any]) -> None:
        """One validation: scalars, and the verdict as text."""
        verdict = (result.get("verdict") or {}).get("text")
        texts = {"verdict": f"step {step}: {verdict}"} if verdict else {}
        self._write(step, validation_scalars(result), texts)

    def checks(self, step: int, results: list[Any]) -> None:
        """The before-train check table as text (monospace in TensorBoard: indented as a code block)."""
        if not results:
            return
        table = render_table(list(results))
        self._write(step, {}, {"checks": "\n".join("    " + line for line in table.splitlines())})

    def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
