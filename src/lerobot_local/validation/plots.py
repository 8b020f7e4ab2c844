"""The pictures of the run report and of ``lerobot-local eval`` (matplotlib, rendered to PNG bytes)."""

from __future__ import annotations

import io
from typing import Any


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    _pyplot().close(fig)
    return buffer.getvalue()


def loss_curves(train: list[dict[str, Any]], validation: list[dict[str, Any]]) -> bytes:
    """Train loss per log step and validation loss per validation, one log-scale axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.1), layout="constrained")
    if train:
        ax.plot([r["step"] for r in train], [r.get("loss") for r in train], label="train loss", lw=1.2)
    if validation:
        ax.plot(
            [r["step"] for r in validation],
            [r.get("val_loss") for r in validation],
            "o-",
            label="validation loss (held-out)",
            lw=1.8,
        )
    values = [r.get("loss") for r in train] + [r.get("val_loss") for r in validation]
    if values and all(isinstance(v, (int, float)) and v > 0 for v in values):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Loss")
    return _png(fig)


def learning_rate(train: list[dict[str, Any]]) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.1), layout="constrained")
    rows = [r for r in train if "lr" in r]
    ax.plot([r["step"] for r in rows], [r["lr"] for r in rows], color="tab:green", lw=1.2)
    grads = [r for r in train if "grad_norm" in r]
    if grads:
        twin = ax.twinx()
        twin.plot(
            [r["step"] for r in grads], [r["grad_norm"] for r in grads], color="tab:gray", lw=0.8, alpha=0.7
        )
        twin.set_ylabel("grad norm", color="tab:gray")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate", color="tab:green")
    ax.grid(alpha=0.3)
    ax.set_title("Learning rate (and gradient norm)")
    return _png(fig)


def joint_errors(validation: list[dict[str, Any]]) -> bytes:
    """Per-joint action MAE at each validation, with the constant-action baseline dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 3.1), layout="constrained")
    joints = list(validation[-1].get("mae", {})) if validation else []
    steps = [r["step"] for r in validation]
    for joint in joints:
        ax.plot(steps, [r.get("mae", {}).get(joint) for r in validation], "o-", label=joint, lw=1.2, ms=3)
    base = [r.get("baseline_constant", {}).get("mae_mean") for r in validation]
    if any(b is not None for b in base):
        ax.plot(steps, base, "k--", label="constant action (mean), all joints", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("action MAE (dataset units)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("Open-loop action error per joint (held-out frames)")
    return _png(fig)


def trajectory(traj: dict[str, Any], joints: list[str], title: str) -> bytes:
    """Predicted vs recorded action of every joint over one episode."""
    plt = _pyplot()
    predicted, recorded = traj.get("predicted", []), traj.get("recorded", [])
    n = max(1, len(joints))
    cols = 3 if n > 3 else n
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.4 * cols, 2.4 * rows), squeeze=False, layout="constrained"
    )
    for i in range(rows * cols):
        ax = axes[i // cols][i % cols]
        if i >= n:
            ax.axis("off")
            continue
        ax.plot([r[i] for r in recorded], color="black", lw=1.3, label="recorded")
        ax.plot([p[i] for p in predicted], color="tab:orange", lw=1.1, ls="--", label="predicted")
        ax.set_title(joints[i], fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("frame", fontsize=8)
    return _png(fig)
