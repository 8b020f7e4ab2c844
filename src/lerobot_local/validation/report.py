"""One self-contained HTML report per run (``lerobot_local_report.html`` in the output dir): loss curves,
learning rate, per-joint action error per checkpoint, the best checkpoint's trajectories, the check table
and the settings. Images are embedded as base64 PNG: the file opens anywhere, with no network or server.

Written after every checkpoint (an after-checkpoint plugin), so the last one is the report of the end.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import time
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.hookspecs import hookimpl
from lerobot_local.validation import plots, records
from lerobot_local.validation.best import best_checkpoint
from lerobot_local.validation.config import REPORT_FILE

logger = logging.getLogger("lerobot_local")

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #ddd}
.sub{color:#666;font-size:13px} .grid{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #e3e3e3;border-radius:6px;padding:6px;background:#fff}
.chart img{display:block;max-width:100%} table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top} th{background:#f5f5f5}
.best{background:#e8f6e8;font-weight:600} .error{color:#b00020;font-weight:600} .warning{color:#a86b00}
.ok{color:#2e7d32} .verdict{font-size:15px;padding:8px 12px;background:#f3f7ff;border-left:4px solid #3b6ed8}
pre{background:#f7f7f7;padding:8px;font-size:12px;overflow:auto;max-height:420px}
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<div class="chart"><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></div>'


def _by_step(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last record of each step (a resumed run re-logs the steps after its checkpoint)."""
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        if isinstance(row.get("step"), int):
            found[row["step"]] = row
    return [found[s] for s in sorted(found)]


def _fmt(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "–"


def build_report(output_dir: Path) -> str:
    """The report's HTML for the run in ``output_dir``."""
    output_dir = Path(output_dir)
    rows = records.read(output_dir)
    runs = [r for r in rows if r.get("kind") == "run"]
    run = runs[-1] if runs else {}
    train = _by_step([r for r in rows if r.get("kind") == "train"])
    validation = _by_step([r for r in rows if r.get("kind") == "validation"])
    checkpoints = output_dir / compat.CHECKPOINTS_DIR
    best = best_checkpoint(checkpoints) if checkpoints.is_dir() else None
    title = html.escape(str(run.get("job_name") or output_dir.name))
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>lerobot-local report: {title}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Training report: {title}</h1>",
        f"<div class='sub'>{html.escape(str(output_dir))} · policy {html.escape(str(run.get('policy_type')))}"
        f" · LeRobot {html.escape(str(run.get('lerobot_version')))} · dataset "
        f"{html.escape(str(run.get('dataset_root')))} · {len(train)} logged steps of "
        f"{html.escape(str(run.get('steps')))}</div>",
    ]
    if best is not None:
        best_row = next((v for v in validation if v.get("checkpoint") == best[0].name), {})
        base = (best_row.get("baseline_constant") or {}).get("mae_mean")
        parts.append(
            f"<p class='verdict'>Best checkpoint: <b>{best[0].name}</b> (lowest validation loss "
            f"{_fmt(best[1], 5)}; <code>checkpoints/best</code> links to it). Open-loop action MAE "
            f"{_fmt(best_row.get('mae_mean'))} vs {_fmt(base)} for a constant (mean) action, on "
            f"{best_row.get('frames', '?')} held-out frames of episodes "
            f"{best_row.get('holdout_episodes')}.</p>"
        )
    elif not validation:
        parts.append(
            "<p class='verdict'>No held-out episodes: train with "
            "<code>--lerobot_local.validation.holdout=0.1</code> for a validation loss and a per-joint "
            "action error.</p>"
        )
    parts.append("<h2>Curves</h2><div class='grid' id='charts'>")
    if train or validation:
        parts.append(_img(plots.loss_curves(train, validation), "loss curves"))
    if train:
        parts.append(_img(plots.learning_rate(train), "learning rate"))
    if validation:
        parts.append(_img(plots.joint_errors(validation), "per-joint action error"))
    parts.append("</div>")
    if validation:
        joints = list(validation[-1].get("mae", {}))
        head = "".join(f"<th>{html.escape(j)}</th>" for j in joints)
        parts.append(
            "<h2>Validation per checkpoint</h2><table id='validation'><tr><th>step</th><th>checkpoint</th>"
            f"<th>val loss</th><th>MAE</th><th>RMSE</th><th>constant MAE</th>{head}</tr>"
        )
        for v in validation:
            cls = " class='best'" if best is not None and v.get("checkpoint") == best[0].name else ""
            cells = "".join(f"<td>{_fmt(v.get('mae', {}).get(j))}</td>" for j in joints)
            parts.append(
                f"<tr{cls}><td>{v['step']}</td><td>{html.escape(str(v.get('checkpoint') or '–'))}</td>"
                f"<td>{_fmt(v.get('val_loss'), 5)}</td><td>{_fmt(v.get('mae_mean'))}</td>"
                f"<td>{_fmt(v.get('rmse_mean'))}</td>"
                f"<td>{_fmt((v.get('baseline_constant') or {}).get('mae_mean'))}</td>{cells}</tr>"
            )
        parts.append("</table><div class='sub'>MAE per joint, dataset units (info.json names).</div>")
    if best is not None:
        saved = records.read_checkpoint_validation(best[0]) or {}
        trajectories = saved.get("trajectories") or {}
        if trajectories:
            parts.append(f"<h2>Trajectories of the best checkpoint ({best[0].name}), held-out episodes</h2>")
            parts.append("<div class='grid' id='trajectories'>")
            for episode, traj in trajectories.items():
                png = plots.trajectory(
                    traj, saved.get("joints", []), f"episode {episode}: predicted vs recorded"
                )
                parts.append(_img(png, f"trajectory episode {episode}"))
            parts.append("</div>")
    checks = run.get("checks") or []
    if checks:
        parts.append(
            "<h2>Before-train checks</h2><table id='checks'><tr><th>check</th><th>status</th>"
            "<th>message</th></tr>"
        )
        for c in checks:
            sev = html.escape(str(c.get("severity")))
            parts.append(
                f"<tr><td>{html.escape(str(c.get('name')))}</td><td class='{sev}'>{sev.upper()}</td>"
                f"<td>{html.escape(str(c.get('message')))}</td></tr>"
            )
        parts.append("</table>")
    if run.get("settings") is not None:
        parts.append(
            "<h2>Settings</h2><pre>lerobot_local = " + html.escape(json.dumps(run["settings"], indent=1))
        )
        parts.append("</pre>")
    if run.get("train_config"):
        parts.append("<details><summary>train config (as LeRobot parsed it)</summary><pre>")
        parts.append(html.escape(json.dumps(run["train_config"], indent=1, default=str)) + "</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(output_dir: Path) -> Path:
    path = Path(output_dir) / REPORT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(build_report(output_dir), encoding="utf-8")
    tmp.replace(path)
    return path


@hookimpl(trylast=True)
def lerobot_local_after_checkpoint(config: Any, settings: Any, step: int, checkpoint_dir: Path) -> None:
    validation = getattr(settings, "validation", None)
    if validation is None or not validation.report:
        return
    started = time.perf_counter()
    path = write_report(Path(checkpoint_dir).parent.parent)
    logger.info("lerobot-local: run report %s (written in %.2f s)", path, time.perf_counter() - started)
