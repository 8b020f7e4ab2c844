"""The pictures of the run report and of ``lerobot-local eval`` (matplotlib, rendered to PNG bytes).

Each picture has a ``*_figure`` function returning the matplotlib ``Figure`` (tests read its axes, labels and
legends) and a function of the same name without the suffix that renders it to PNG. Every axis is labelled
with its unit, step axes have integer ticks, legends sit outside the data.
"""

from __future__ import annotations

import io
import math
from typing import Any

from lerobot_local.validation.units import DATASET_UNITS

STEP_LABEL = "training step"
DPI = 80


def _pyplot() -> Any:
    # matplotlib is heavy and only needed when a picture is drawn
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _ticker() -> Any:
    from matplotlib import ticker  # see _pyplot

    return ticker


def png(fig: Any) -> bytes:
    """``fig`` as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    _pyplot().close(fig)
    return buffer.getvalue()


def _integer_steps(ax: Any) -> None:
    ax.xaxis.set_major_locator(_ticker().MaxNLocator(integer=True, nbins=6))


def _legend_outside(ax: Any, **kwargs: Any) -> Any:
    """A legend to the right of the axes (constrained layout makes room): it covers no data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=8, **kwargs)


def _plain(value: float, _pos: Any = None) -> str:
    return f"{value:g}"


def _readable_log(ax: Any, values: list[float]) -> None:
    """A log y axis when the values span more than a decade, with plain tick labels (0.5, 1, 2), else
    linear."""
    ticker = _ticker()
    positive = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v) and v > 0]
    if len(positive) != len(values) or not positive or max(positive) / min(positive) < 10:
        return
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(_plain))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _figure(width: float = 6.4, height: float = 3.2) -> tuple[Any, Any]:
    return _pyplot().subplots(figsize=(width, height), layout="constrained")


def loss_curves_figure(train: list[dict[str, Any]], validation: list[dict[str, Any]]) -> Any:
    """Train loss per log step and validation loss per validation."""
    fig, ax = _figure()
    if train:
        ax.plot([r["step"] for r in train], [r.get("loss") for r in train], label="train loss", lw=1.2)
    if validation:
        ax.plot(
            [r["step"] for r in validation],
            [r.get("val_loss") for r in validation],
            "o-",
            label="validation loss\n(held-out episodes)",
            lw=1.8,
        )
    _readable_log(ax, [r.get("loss") for r in train] + [r.get("val_loss") for r in validation])
    _integer_steps(ax)
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("loss (the policy's training objective)")
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    ax.set_title("Loss")
    return fig


def loss_curves(train: list[dict[str, Any]], validation: list[dict[str, Any]]) -> bytes:
    return png(loss_curves_figure(train, validation))


def learning_rate_figure(train: list[dict[str, Any]]) -> Any:
    """Learning rate per log step, gradient norm on a second axis."""
    fig, ax = _figure()
    rows = [r for r in train if "lr" in r]
    handles = ax.plot([r["step"] for r in rows], [r["lr"] for r in rows], color="tab:green", lw=1.2)
    handles[0].set_label("learning rate")
    grads = [r for r in train if "grad_norm" in r]
    if grads:
        twin = ax.twinx()
        more = twin.plot(
            [r["step"] for r in grads], [r["grad_norm"] for r in grads], color="tab:gray", lw=0.8, alpha=0.7
        )
        more[0].set_label("gradient norm (right axis)")
        twin.set_ylabel("gradient norm (L2, before clipping)", color="tab:gray")
        handles = handles + more
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(_ticker().FuncFormatter(lambda v, _pos: f"{v:.2g}"))
    _integer_steps(ax)
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("learning rate (per step)", color="tab:green")
    ax.grid(alpha=0.3)
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.22), ncol=2, fontsize=8, frameon=False
    )
    ax.set_title("Learning rate and gradient norm")
    return fig


def learning_rate(train: list[dict[str, Any]]) -> bytes:
    return png(learning_rate_figure(train))


def joint_errors_figure(validation: list[dict[str, Any]]) -> Any:
    """Each joint's action MAE divided by the constant action's MAE on that joint, at each validation:
    below 1 the policy beats a constant action on that joint. The untrained initialisation dotted."""
    fig, ax = _figure()
    joints = list(validation[-1].get("mae", {})) if validation else []
    steps = [r["step"] for r in validation]

    def ratio(row: dict[str, Any], joint: str, source: dict[str, Any] | None = None) -> float | None:
        base = ((row.get("baseline_constant") or {}).get("mae") or {}).get(joint)
        value = (source if source is not None else row.get("mae", {})).get(joint)
        return value / base if isinstance(value, (int, float)) and base else None

    # the references above the joints' lines, in styles no joint uses
    ax.axhline(1.0, color="black", ls="--", lw=1.8, zorder=5, label="constant action (= 1)")
    for joint in joints:
        ax.plot(steps, [ratio(r, joint) for r in validation], "o-", label=joint, lw=1.3, ms=4, zorder=3)
    untrained = [
        (r["step"], sum(vals) / len(vals))
        for r in validation
        if (
            vals := [
                v for j in joints if (v := ratio(r, j, (r.get("untrained") or {}).get("mae"))) is not None
            ]
        )
    ]
    if untrained:
        ax.plot(
            [s for s, _ in untrained],
            [v for _, v in untrained],
            "s-.",
            color="dimgray",
            lw=2.4,
            ms=6,
            mfc="white",
            zorder=6,
            label="untrained initialisation\n(mean of joints)",
        )
    drawn = [y for line in ax.get_lines() for y in line.get_ydata() if isinstance(y, (int, float))]
    ax.set_ylim(0, max([1.0, *[y for y in drawn if math.isfinite(y)]]) * 1.12)
    _integer_steps(ax)
    if 0 < len(steps) <= 8:
        ax.set_xticks(steps)  # one tick per validation
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("action MAE ÷ constant-action MAE\n(ratio; below 1 = better)")
    ax.grid(alpha=0.3)
    _legend_outside(ax)
    ax.set_title("Per-joint action error vs a constant action (held-out frames)")
    return fig


def joint_errors(validation: list[dict[str, Any]]) -> bytes:
    return png(joint_errors_figure(validation))


def trajectory_figure(
    traj: dict[str, Any], joints: list[str], title: str, units: dict[str, str] | None = None
) -> Any:
    """Predicted vs recorded action of every joint over one episode, one panel per joint; the time axis in
    seconds when ``traj`` says the dataset's fps, else in frames."""
    plt = _pyplot()
    units = units or {}
    predicted, recorded = traj.get("predicted", []), traj.get("recorded", [])
    n = max(1, len(joints))
    cols = 3 if n > 3 else n
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.5 * rows + 0.6), squeeze=False, layout="constrained"
    )
    for i in range(rows * cols):
        ax = axes[i // cols][i % cols]
        if i >= n:
            ax.axis("off")
            continue
        fps = traj.get("fps")
        in_seconds = isinstance(fps, (int, float)) and fps > 0
        scale = 1.0 / fps if in_seconds else 1.0
        ax.plot(
            [t * scale for t in range(len(recorded))],
            [r[i] for r in recorded],
            color="black",
            lw=1.3,
            label="recorded action",
        )
        ax.plot(
            [t * scale for t in range(len(predicted))],
            [p[i] for p in predicted],
            color="tab:orange",
            lw=1.1,
            ls="--",
            label="predicted (open loop)",
        )
        ax.set_title(joints[i], fontsize=9)
        ax.set_ylabel(units.get(joints[i], DATASET_UNITS), fontsize=8)
        ax.set_xlabel("time (s)" if in_seconds else "frame", fontsize=8)
        ax.xaxis.set_major_locator(_ticker().MaxNLocator(integer=scale == 1.0, nbins=5))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    return fig


def trajectory(
    traj: dict[str, Any], joints: list[str], title: str, units: dict[str, str] | None = None
) -> bytes:
    return png(trajectory_figure(traj, joints, title, units))
