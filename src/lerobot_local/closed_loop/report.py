"""The closed-loop results as pictures and HTML: a strip of frames per filmed episode, and the section the
run report and ``--report_html`` show (success rates with intervals beside the baselines, the verdict)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_local.closed_loop.judge import BASELINE_NAMES

RESULTS_FILE = "lerobot_local_closed_loop.json"  # in the run's output dir, read by the run report
_STATUS_CLASS = {"works": "v-learning", "unproven": "v-partly", "fails": "v-not", "suspect": "v-not"}


def frame_strip(frames: list[np.ndarray], title: str, every: int) -> bytes:
    """One PNG: the episode's kept frames side by side, each labelled with its step."""
    import matplotlib  # heavy; only when frames were rendered

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(frames)
    fig, axes = plt.subplots(1, count, figsize=(1.6 * count, 2.0), squeeze=False)
    for i, (ax, frame) in enumerate(zip(axes[0], frames, strict=True)):
        ax.imshow(frame)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("end" if i == count - 1 and i * every != 0 else f"step {i * every}", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def read_results(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(run_dir) / RESULTS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _img(path: str, alt: str) -> str:
    try:
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    except OSError:
        return f"<p class='warning'>{html.escape(alt)}: {html.escape(path)} is missing</p>"
    return f'<div class="chart"><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></div>'


def _actors(loop: dict[str, Any], policy_label: str) -> list[tuple[str, dict[str, Any]]]:
    """(label, rates) of the trained policy, then of each baseline."""
    baselines = [(BASELINE_NAMES.get(k, k), v) for k, v in loop["baselines"].items()]
    return [(policy_label, loop["policy"]), *baselines]


def html_section(results: dict[str, Any]) -> str:
    """The closed-loop section: verdict, a table of policy and baselines, the filmed episodes."""
    loop = results["closed_loop"]
    verdict = loop["verdict"]
    cls = _STATUS_CLASS.get(verdict["status"], "")
    rows = _actors(loop, "the trained policy")
    parts = [
        "<h2>Closed loop in simulation</h2>",
        f"<p class='verdict {cls}' id='closed-loop-verdict'><b>Closed loop:</b> "
        f"{html.escape(verdict['text'])}</p>",
        f"<div class='sub'>{html.escape(loop['env'])} ({html.escape(loop['gym_id'])}), "
        f"{loop['n_episodes']} episodes, seeds {loop['seeds'][0]}-{loop['seeds'][-1]}, at most "
        f"{loop['max_steps']} steps each; success is the env's own "
        f"<code>info[{html.escape(repr(loop['success_key']))}]</code>. "
        f"Checkpoint {html.escape(str(results.get('checkpoint')))}.</div>",
        "<table id='closed-loop'><tr><th>actor</th><th>succeeded</th><th>rate</th><th>95% interval</th>"
        "<th>mean steps</th></tr>",
    ]
    for name, r in rows:
        parts.append(
            f"<tr><td>{html.escape(name)}</td><td>{r['successes']}/{r['episodes']}</td><td>{r['rate']:.0%}</td>"
            f"<td>{r['ci_low']:.0%}-{r['ci_high']:.0%}</td><td>{r.get('mean_steps', 0):.1f}</td></tr>"
        )
    parts.append("</table>")
    notes = loop.get("notes") or []
    if notes:
        parts.append("<ul class='defn'>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    strips = loop.get("frame_strips") or []
    if strips:
        parts.append("<div class='grid' id='closed-loop-frames'>")
        parts.extend(_img(s, "filmed episode") for s in strips)
        parts.append("</div>")
    elif loop.get("frames_note"):
        parts.append(f"<div class='defn'>{html.escape(loop['frames_note'])}</div>")
    return "\n".join(parts)


def html_page(results: dict[str, Any], style: str) -> str:
    """A page of its own for ``--report_html`` (a checkpoint outside a run directory)."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>lerobot-local closed loop</title>"
        f"<style>{style}</style></head><body><h1>Closed-loop evaluation</h1>"
        f"{html_section(results)}</body></html>"
    )


def summary_lines(results: dict[str, Any]) -> list[str]:
    loop = results["closed_loop"]
    lines = [f"  {'actor':<22} {'succeeded':>10} {'rate':>6}   95% interval   mean steps"]
    for name, r in _actors(loop, "trained policy"):
        lines.append(
            f"  {name:<22} {r['successes']:>5}/{r['episodes']:<4} {r['rate']:>6.0%}   "
            f"{r['ci_low']:>4.0%} - {r['ci_high']:<4.0%}   {r.get('mean_steps', 0):>10.1f}"
        )
    return lines
