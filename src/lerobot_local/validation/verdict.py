"""Did it learn, in words: the trained policy's action error against the constant action and against its
untrained initialisation, overall and per joint, and a warning when the validation loss keeps rising.

One function, :func:`judge`, used wherever a result is shown (the validation log line, the run report,
``lerobot-local eval``, the demo); the returned dict carries the verdict and every input it was made from.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

LEARNING, PARTLY, NOT_YET, UNKNOWN = "learning", "partly learned", "not learned yet", "unknown"


def _change(value: float, reference: float) -> float | None:
    return value / reference - 1 if reference > 0 else None


def _pct(change: float | None) -> str:
    if change is None:
        return "n/a"
    rounded = round(change * 100)
    return f"{rounded:+d}%" if rounded else "about 0%"  # not "-0%" for a change that rounds to nothing


def _compare(mae: dict[str, float], reference: dict[str, float], margin: float) -> dict[str, Any]:
    """Which joints beat ``reference`` (MAE at least ``margin`` lower), which are worse (higher)."""
    joints = [j for j in mae if isinstance(reference.get(j), (int, float))]
    beats = [j for j in joints if mae[j] < (1 - margin) * reference[j]]
    worse = [j for j in joints if mae[j] > reference[j]]
    mean = sum(mae[j] for j in joints) / max(len(joints), 1)
    ref_mean = sum(reference[j] for j in joints) / max(len(joints), 1)
    return {
        "joints": len(joints),
        "beats": beats,
        "worse": worse,
        "mae_mean": mean,
        "reference_mae_mean": ref_mean,
        "change": _change(mean, ref_mean),
        "per_joint_change": {j: _change(mae[j], reference[j]) for j in joints},
        "beats_overall": mean < (1 - margin) * ref_mean,
    }


def overfitting(val_losses: list[tuple[int, float]], checkpoints: int) -> dict[str, Any] | None:
    """A warning when the validation loss rose at the last ``checkpoints`` checkpoints in a row.

    ``val_losses``: (step, validation loss) of every checkpoint so far, in step order.
    """
    if checkpoints <= 0 or len(val_losses) <= checkpoints:
        return None
    window = [loss for _, loss in val_losses[-checkpoints - 1 :]]
    rises = sum(after > before for before, after in pairwise(window))
    if rises < checkpoints:
        return None
    best_step, best_loss = min(val_losses, key=lambda sl: (sl[1], -sl[0]))
    first_step, first_loss = val_losses[-checkpoints - 1]
    last_step, last_loss = val_losses[-1]
    return {
        "rises": rises,
        "from": {"step": first_step, "val_loss": first_loss},
        "to": {"step": last_step, "val_loss": last_loss},
        "best": {"step": best_step, "val_loss": best_loss},
        "text": (
            f"overfitting? the validation loss rose at the last {checkpoints} checkpoints "
            f"({first_loss:.4g} at step {first_step} -> {last_loss:.4g} at step {last_step}); the lowest was "
            f"{best_loss:.4g} at step {best_step} (checkpoints/best keeps it): stop there, or add data or "
            "augmentation"
        ),
    }


def judge(
    mae: dict[str, float],
    constant: dict[str, float] | None,
    untrained: dict[str, float] | None,
    *,
    beat_margin: float,
    val_losses: list[tuple[int, float]] | None = None,
    overfit_checkpoints: int = 0,
) -> dict[str, Any]:
    """The verdict on one evaluation: ``status`` (learning / partly learned / not learned yet / unknown),
    ``text`` (one line), the comparisons, the overfitting warning, and the ``inputs``."""
    vs_constant = _compare(mae, constant, beat_margin) if constant else None
    vs_untrained = _compare(mae, untrained, beat_margin) if untrained else None
    n = len(mae)
    if vs_constant is None or not vs_constant["joints"]:
        status = UNKNOWN
        text = "no verdict: the dataset has no action statistics for a constant-action baseline"
    else:
        beats, worse = vs_constant["beats"], vs_constant["worse"]
        overall = f"MAE {_pct(vs_constant['change'])} overall"
        if len(beats) == vs_constant["joints"]:
            status, text = LEARNING, f"learning: beats the constant action on every joint ({overall})"
        elif beats and vs_constant["beats_overall"]:
            lagging = [j for j in mae if j not in beats]
            status = PARTLY
            text = (
                f"partly learned: beats the constant action on {len(beats)} of {n} joints ({overall}); "
                f"not yet on {', '.join(lagging)}"
            )
        elif worse:
            status = NOT_YET
            text = f"not learned yet: worse than a constant action on {len(worse)} of {n} joints ({overall})"
        else:
            status, text = NOT_YET, f"not learned yet: no better than a constant action ({overall})"
    if vs_untrained is not None and vs_untrained["joints"]:
        overall = f"MAE {_pct(vs_untrained['change'])} overall"
        if vs_untrained["beats_overall"]:
            text += (
                f"; better than the untrained initialisation ({overall}, on "
                f"{len(vs_untrained['beats'])} of {n} joints)"
            )
        elif status in (LEARNING, PARTLY):  # beats the constant action, but so did its starting point
            lead = text.split(": ", 1)[1]
            status = NOT_YET
            text = (
                f"not learned yet: no better than the untrained initialisation ({overall}), which also {lead}"
            )
        else:
            text += f"; no better than the untrained initialisation ({overall}): training has not helped yet"
    warning = overfitting(val_losses or [], overfit_checkpoints)
    if warning is not None:
        text += f"; WARNING: {warning['text']}"
    return {
        "status": status,
        "text": text,
        "vs_constant": vs_constant,
        "vs_untrained": vs_untrained,
        "overfitting": warning,
        "inputs": {
            "mae": mae,
            "constant_mae": constant,
            "untrained_mae": untrained,
            "beat_margin": beat_margin,
            "overfit_checkpoints": overfit_checkpoints,
            "checkpoint_val_losses": [list(sl) for sl in val_losses or []],
        },
    }
