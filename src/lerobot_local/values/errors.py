"""The value checks whose findings are errors, what breaks training: NaN/Inf, a joint constant over the
whole dataset in a normalised feature (std 0), ``meta/stats.json`` (or a v2.x source's per-episode stats)
disagreeing with the data."""

from __future__ import annotations

from typing import Any

import numpy as np

from lerobot_local.values.data import ValueData
from lerobot_local.values.findings import (
    ACTION_KEYS,
    CONSTANT,
    MAX_FINDINGS_PER_CHECK,
    NAN,
    STATS,
    Finding,
    Joint,
    ScanContext,
    joint_span,
    make_finding,
)


def check_non_finite(data: ValueData, key: str, x: np.ndarray, starts: np.ndarray) -> list[Finding]:
    bad = ~np.isfinite(x)
    if not bad.any():
        return []
    findings = []
    rows, cols = np.nonzero(bad)
    episode_pos = np.searchsorted(starts, rows, side="right") - 1
    groups = episode_pos * x.shape[1] + cols
    for g in np.unique(groups)[:MAX_FINDINGS_PER_CHECK]:
        member = rows[groups == g]
        j = int(g % x.shape[1])
        values = x[member, j]
        kinds = sorted({"NaN" if np.isnan(v) else ("+Inf" if v > 0 else "-Inf") for v in values})
        what = f"is {'/'.join(kinds)} in {member.size} frame(s)"
        findings.append(make_finding(data, NAN, "error", key, j, int(member[0]), int(member[-1]), what))
    return findings


def _is_normalised(key: str, ctx: ScanContext) -> bool:
    if ctx.normalised is not None:
        return key in ctx.normalised
    return key == "action" or key.startswith("observation.")


def check_constant(data: ValueData, key: str, jt: Joint, ctx: ScanContext) -> list[Finding]:
    """Joints constant over the whole dataset: one finding per feature and value class (a property of the
    dataset, said once)."""
    constant = np.flatnonzero(jt.rng == 0)
    if not constant.size:
        return []
    # Not an error: LeRobot normalises with (x - mean) / (std + 1e-8), so training on a constant joint is
    # fine (its targets are 0); what it means for the robot is said instead.
    severity = "warning"
    names = data.names[key]
    values = sorted({float(jt.mn[j]) for j in constant})
    shown = ", ".join(f"{v:g}" for v in values[:4]) + (" ..." if len(values) > 4 else "")
    many = constant.size > 1
    if not _is_normalised(key, ctx):
        means = ""
    elif key in ACTION_KEYS or key.startswith("action"):
        means = "; the policy will learn to command exactly that value: make sure the joint is meant to stay"
    else:
        means = (
            "; the policy normalises it by std + 1e-8, so on the robot any other reading of it becomes a "
            "huge input: make sure it reads that value there too"
        )
    what = (
        f"{'are' if many else 'is'} constant in every frame of the dataset "
        f"({constant.size} of {len(names)} joints; value{'s' if len(values) > 1 else ''} {shown}), so "
        f"{'their' if many else 'its'} std is 0{means}"
    )
    return [
        Finding(
            check=CONSTANT,
            severity=severity,
            message=f"{data.root}/data: {key}[{joint_span(names, list(constant))}] {what}.",
            feature=key,
            joint=names[int(constant[0])] if not many else ",".join(names[int(j)] for j in constant),
        )
    ]


def _fmt_pair(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` printed with the fewest significant digits (at least 6) that tell them apart."""
    for digits in range(6, 18):
        fa, fb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if fa != fb:
            return fa, fb
    return repr(a), repr(b)


def check_stats(
    data: ValueData,
    ctx: ScanContext,
    starts: np.ndarray,
    lengths: np.ndarray,
    floors: dict[str, np.ndarray],
) -> list[Finding]:
    """meta/stats.json against the whole data; a v2.1 source's per-episode stats against each episode.
    A value disagrees when it is off by more than ``stats_tolerance`` x the joint's std (at least its
    motion floor): what shifts or scales the normalised values materially, not a recorder's float32
    rounding on a joint that sits still at 152.4."""
    findings = []
    tol = ctx.settings.stats_tolerance
    for key, x in data.features.items():
        if not np.isfinite(x).all():
            continue  # the NaN check reports it; stats of NaN data are NaN anyway
        std = x.std(0)
        scale = np.maximum(std, floors[key]) * tol
        computed = {"mean": x.mean(0), "std": std, "min": x.min(0), "max": x.max(0)}
        given = (ctx.stats_json or {}).get(key)
        if isinstance(given, dict):
            for stat, value in computed.items():
                findings += _compare_stat(data, ctx.stats_label, key, stat, given.get(stat), value, scale)
            count = given.get("count")
            if isinstance(count, list) and count and count[0] != data.frames and not data.unreadable:
                findings.append(
                    Finding(
                        STATS,
                        "error",
                        f"{data.root}/{ctx.stats_label}: {key} count is {count[0]} but the data has "
                        f"{data.frames} frames.",
                        key,
                        file=ctx.stats_label,
                    )
                )
        table = ctx.episode_stats
        if table is None or key not in getattr(table, "columns", {}) or ctx.episode_stats_order is None:
            continue
        sums = np.add.reduceat(x, starts, axis=0)
        means = sums / lengths[:, None]
        squares = np.add.reduceat(x * x, starts, axis=0) / lengths[:, None]
        per_episode = {
            "mean": means,
            "std": np.sqrt(np.maximum(squares - means**2, 0)),
            "min": np.minimum.reduceat(x, starts, axis=0),
            "max": np.maximum.reduceat(x, starts, axis=0),
        }
        row_of = {ep: row for row, ep in enumerate(ctx.episode_stats_order)}
        ep_ids = data.episode[starts]
        for stat, values in per_episode.items():
            column = table.columns[key].get(stat)
            if column is None:
                continue
            rows = np.asarray([row_of.get(int(e), -1) for e in ep_ids])
            ok = rows >= 0
            ref = column[rows[ok]].reshape(int(ok.sum()), -1).astype(np.float64)
            got = values[ok]
            if ref.shape != got.shape:
                continue
            bad = ~(np.abs(ref - got) <= scale)
            for i, j in zip(*np.nonzero(bad), strict=True):
                e = int(ep_ids[ok][i])
                shown, real = _fmt_pair(float(ref[i, j]), float(got[i, j]))
                findings.append(
                    Finding(
                        STATS,
                        "error",
                        f"{data.root}/meta/episodes_stats.jsonl: episode {e} {key}[{data.names[key][j]}] "
                        f"{stat} is {shown} but the episode's data gives {real}.",
                        key,
                        data.names[key][j],
                        episode=e,
                        file="meta/episodes_stats.jsonl",
                    )
                )
    return findings


def _compare_stat(
    data: ValueData,
    label: str,
    key: str,
    stat: str,
    given: Any,
    value: np.ndarray,
    scale: np.ndarray,
) -> list[Finding]:
    try:
        ref = np.asarray(given, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        ref = None
    if ref is None or ref.shape != value.shape:
        shape = None if ref is None else list(ref.shape)
        return [
            Finding(
                STATS,
                "error",
                f"{data.root}/{label}: {key} {stat} is {given!r:.60} (shape {shape}), expected "
                f"{value.shape[0]} numbers.",
                key,
                file=label,
            )
        ]
    bad = ~(np.abs(ref - value) <= scale)
    out = []
    for j in np.flatnonzero(bad):
        shown, real = _fmt_pair(float(ref[j]), float(value[j]))
        out.append(
            Finding(
                STATS,
                "error",
                f"{data.root}/{label}: {key}[{data.names[key][j]}] {stat} is {shown} but the data gives "
                f"{real}.",
                key,
                data.names[key][j],
                file=label,
            )
        )
    return out
