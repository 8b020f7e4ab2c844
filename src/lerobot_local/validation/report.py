"""One self-contained HTML report per run (``lerobot_local_report.html`` in the output dir): the verdict in
words first, then loss curves, learning rate, per-joint action error per checkpoint (with units), the best
checkpoint's trajectories, the check table and the settings. Images are embedded as base64 PNG: the file
opens anywhere, with no network or server.

Written after every checkpoint (an after-checkpoint plugin), so the last one is the report of the end.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.closed_loop.report import html_section, read_results
from lerobot_local.hookspecs import hookimpl
from lerobot_local.validation import plots, records
from lerobot_local.validation.best import best_checkpoint
from lerobot_local.validation.config import REPORT_FILE
from lerobot_local.validation.live import mae_by_unit
from lerobot_local.validation.units import DATASET_UNITS
from lerobot_local.validation.verdict import LEARNING, NOT_YET, PARTLY, judge

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
.v-learning{background:#e9f7ea;border-left-color:#2e7d32}
.v-partly{background:#fff6e0;border-left-color:#c88a00} .v-not{background:#fdecec;border-left-color:#b00020}
.defn{color:#555;font-size:12px;margin-top:4px}
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


def _absolute(path: str | None, cwd: str | None) -> str:
    """A path the run recorded, made absolute against the directory it ran in."""
    if not path or Path(path).is_absolute() or not cwd:
        return str(path)
    return os.path.normpath(Path(cwd) / path)


def _fmt(value: Any, digits: int = 4) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "–"


def _per_unit(errors: dict[str, Any] | None, units: dict[str, str], html_break: bool = True) -> str:
    """A mean over joints per unit: '0.1234' when every joint has one unit (the header names it), else
    '1.2000 degrees, 3.4000 percent': never a mean across units."""
    groups = mae_by_unit(errors or {}, units)
    if not groups:
        return "–"
    if len(groups) == 1:
        return _fmt(next(iter(groups.values())))
    return ("<br>" if html_break else ", ").join(f"{_fmt(v)} {html.escape(u)}" for u, v in groups.items())


_STATUS_CLASS = {LEARNING: "v-learning", PARTLY: "v-partly", NOT_YET: "v-not"}


def row_verdict(row: dict[str, Any]) -> dict[str, Any]:
    """The verdict recorded with a validation row (recomputed for rows written before verdicts existed)."""
    if isinstance(row.get("verdict"), dict):
        return row["verdict"]
    return judge(
        row.get("mae") or {},
        (row.get("baseline_constant") or {}).get("mae"),
        (row.get("untrained") or {}).get("mae"),
        beat_margin=0.05,
    )


def _verdict_html(validation: list[dict[str, Any]]) -> str:
    last = validation[-1]
    verdict = row_verdict(last)
    where = f"step {last['step']}" + (f", checkpoint {last['checkpoint']}" if last.get("checkpoint") else "")
    cls = _STATUS_CLASS.get(verdict.get("status"), "")
    return (
        f"<p class='verdict {cls}' id='verdict'><b>Verdict ({html.escape(where)}):</b> "
        f"{html.escape(verdict.get('text', ''))}</p>"
    )


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
        f"<div class='sub'>{html.escape(str(output_dir.absolute()))} · policy "
        f"{html.escape(str(run.get('policy_type')))}"
        f" · LeRobot {html.escape(str(run.get('lerobot_version')))} · dataset "
        f"{html.escape(_absolute(run.get('dataset_root'), run.get('cwd')))} · {len(train)} logged steps of "
        f"{html.escape(str(run.get('steps')))}</div>",
    ]
    if validation:
        parts.insert(3, _verdict_html(validation))  # the first line under the title
    if best is not None:
        best_row = next((v for v in validation if v.get("checkpoint") == best[0].name), {})
        best_units = best_row.get("units") or {}
        unit_words = sorted(set(best_units.values())) or [DATASET_UNITS]
        said = unit_words[0] if len(unit_words) == 1 else "each unit averaged on its own"

        def mean_of(errors: Any) -> str:
            return _per_unit(errors, best_units, html_break=False)

        parts.append(
            f"<p class='verdict' id='best'>Best checkpoint: <b>{best[0].name}</b> (lowest validation loss "
            f"{_fmt(best[1], 5)}; <code>checkpoints/best</code> links to it). Open-loop action MAE "
            f"({html.escape(said)}) {mean_of(best_row.get('mae'))} vs "
            f"{mean_of((best_row.get('baseline_constant') or {}).get('mae'))} for a constant (mean) action "
            "and "
            f"{mean_of((best_row.get('untrained') or {}).get('mae'))} for the untrained initialisation, on "
            f"{best_row.get('frames', '?')} held-out frames of episodes "
            f"{best_row.get('holdout_episodes')}.</p>"
        )
    elif not validation:
        parts.append(
            "<p class='verdict'>No held-out episodes: train with "
            "<code>--lerobot_local.validation.holdout=0.1</code> for a validation loss and a per-joint "
            "action error.</p>"
        )
    # written by `lerobot-local eval --env.type=...` on one of this run's checkpoints
    closed_loop = read_results(output_dir)
    if closed_loop is not None:
        parts.append(html_section(closed_loop))
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
        units = validation[-1].get("units") or dict.fromkeys(joints, DATASET_UNITS)
        head = "".join(
            f"<th>{html.escape(j)}<br>({html.escape(units.get(j, DATASET_UNITS))})</th>" for j in joints
        )
        distinct = sorted(set(units.values()))
        unit = f"({html.escape(distinct[0])})" if len(distinct) == 1 else "(per unit: no mean across units)"
        parts.append(
            "<h2>Validation per checkpoint</h2><table id='validation'><tr><th>step</th><th>checkpoint</th>"
            f"<th>verdict</th><th>val loss</th><th>MAE<br>{unit}</th><th>RMSE<br>{unit}</th>"
            f"<th>constant MAE<br>{unit}</th><th>untrained MAE<br>{unit}</th>{head}</tr>"
        )
        for v in validation:
            cls = " class='best'" if best is not None and v.get("checkpoint") == best[0].name else ""
            cells = "".join(f"<td>{_fmt(v.get('mae', {}).get(j))}</td>" for j in joints)
            status = html.escape(str(row_verdict(v).get("status")))
            parts.append(
                f"<tr{cls}><td>{v['step']}</td><td>{html.escape(str(v.get('checkpoint') or '–'))}</td>"
                f"<td>{status}</td><td>{_fmt(v.get('val_loss'), 5)}</td>"
                f"<td>{_per_unit(v.get('mae'), units)}</td>"
                f"<td>{_per_unit(v.get('rmse'), units)}</td>"
                f"<td>{_per_unit((v.get('baseline_constant') or {}).get('mae'), units)}</td>"
                f"<td>{_per_unit((v.get('untrained') or {}).get('mae'), units)}</td>{cells}</tr>"
            )
        definition = validation[-1].get("definition") or "MAE/RMSE per joint over the predicted action chunk"
        parts.append(
            f"</table><div class='defn'>{html.escape(definition)}. Constant action: the dataset's mean "
            "action (what a policy that ignores its input can do). Untrained: the policy's initialisation "
            "before training, scored once on the same frames.</div>"
        )
    if best is not None:
        saved = records.read_checkpoint_validation(best[0]) or {}
        trajectories = saved.get("trajectories") or {}
        if trajectories:
            parts.append(f"<h2>Trajectories of the best checkpoint ({best[0].name}), held-out episodes</h2>")
            parts.append("<div class='grid' id='trajectories'>")
            for episode, traj in trajectories.items():
                png = plots.trajectory(
                    traj,
                    saved.get("joints", []),
                    f"episode {episode}: predicted vs recorded",
                    saved.get("units"),
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
    path = write_report(compat.run_dir_of_checkpoint(checkpoint_dir))
    logger.info("lerobot-local: run report %s (written in %.2f s)", path, time.perf_counter() - started)
