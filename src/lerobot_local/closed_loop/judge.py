"""The closed-loop verdict in words: the policy's success rate against random actions and the untrained
policy, each with its 95% interval; "better" only when the intervals do not overlap."""

from __future__ import annotations

from typing import Any

from lerobot_local.closed_loop.interval import wilson

WORKS, UNPROVEN, FAILS, SUSPECT = "works", "unproven", "fails", "suspect"
BASELINE_NAMES = {"random": "random actions", "untrained": "the untrained policy"}


def rate(successes: int, episodes: int) -> dict[str, Any]:
    low, high = wilson(successes, episodes)
    return {
        "successes": successes,
        "episodes": episodes,
        "rate": successes / episodes if episodes else 0.0,
        "ci_low": low,
        "ci_high": high,
    }


def said(r: dict[str, Any]) -> str:
    """'18/50 (36%, 95% CI 24-50%)'."""
    return f"{r['successes']}/{r['episodes']} ({r['rate']:.0%}, 95% CI {r['ci_low']:.0%}-{r['ci_high']:.0%})"


def _named(rates: dict[str, dict[str, Any]]) -> str:
    """'random actions (0/50, 95% CI 0%-7%) and the untrained policy (...)'."""
    parts = [
        f"{BASELINE_NAMES.get(k, k)} ({r['successes']}/{r['episodes']}, "
        f"95% CI {r['ci_low']:.0%}-{r['ci_high']:.0%})"
        for k, r in rates.items()
    ]
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


def judge(policy: dict[str, Any], baselines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """{"status", "text"} for the policy's rate beside the baselines' rates (each as :func:`rate` gives)."""
    head = f"the policy succeeded in {said(policy)} episodes"
    if any(b["rate"] >= 0.5 for b in baselines.values()):
        easy = _named({k: b for k, b in baselines.items() if b["rate"] >= 0.5})
        return {
            "status": SUSPECT,
            "text": f"{head}; but {easy} succeed too: the task is too easy or the env's success signal is "
            "wrong, so this says nothing about the policy",
        }
    if policy["successes"] == 0:
        return {"status": FAILS, "text": f"{head}: it does not do the task yet"}
    beaten = [k for k, b in baselines.items() if policy["ci_low"] > b["ci_high"]]
    others = [k for k in baselines if k not in beaten]
    compared = _named(baselines)
    if not others:
        tail = f"; clearly better than {compared}" if baselines else " (no baseline run)"
        return {"status": WORKS if baselines else UNPROVEN, "text": head + tail}
    unsure = " and ".join(BASELINE_NAMES.get(k, k) for k in others)
    return {
        "status": UNPROVEN,
        "text": f"{head}; not shown to beat {unsure}, whose 95% intervals overlap its own ({compared}); "
        "run more episodes (--n_episodes) or train longer",
    }
