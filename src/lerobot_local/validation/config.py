"""The ``lerobot_local.validation`` settings (a section of :class:`lerobot_local.settings.LocalSettings`)."""

from __future__ import annotations

from dataclasses import dataclass, field

METRICS_FILE = "lerobot_local_metrics.jsonl"
REPORT_FILE = "lerobot_local_report.html"
CHECKPOINT_VALIDATION_FILE = "lerobot_local_validation.json"
BEST_LINK = "best"
FLAG = "--lerobot_local.validation"


@dataclass
class ValidationSettings:
    # Fraction of the episodes to hold out for validation (0 = no validation), split per task: every task
    # keeps at least one training episode.
    holdout: float = 0.0
    # Explicit held-out episode indices (wins over `holdout`). Filled in with the split actually used, so a
    # resumed run (settings restored from the checkpoint) validates on the same episodes.
    episodes: list[int] = field(default_factory=list)
    # Seed of the split (and of the noise of stochastic policies during validation).
    seed: int = 0
    # Held-out frames evaluated at each validation (evenly spaced over the held-out episodes). A CPU run's
    # time budget may lower it at the first validation; the number used is then saved with every checkpoint.
    max_samples: int = 256
    # Batch size of the validation passes (0: the training batch size; at least 64 on a GPU).
    batch_size: int = 0
    # Data-loader workers that decode the held-out frames (-1: the training's num_workers when the dataset has
    # videos, else 0).
    num_workers: int = -1
    # Decoded held-out batches kept in memory between validations, in MiB (0: decode at every validation).
    cache_mb: int = 2048
    # On a CPU: the share of the training time between validations that one validation may cost (0.05: 5%);
    # the first validation lowers the number of held-out frames to fit (at least 32), and says so.
    # 0: no budget.
    time_budget: float = 0.05
    # Also validate every N training steps between checkpoints (0: only at checkpoints).
    every_n_steps: int = 0
    # Held-out episodes whose predicted vs recorded trajectories are kept for the report's plots.
    plot_episodes: int = 2
    # Write the run's HTML report (lerobot_local_report.html in the output dir) at every checkpoint.
    report: bool = True
    # The verdict: a joint "beats" a reference (the constant action, the untrained initialisation) when its
    # action MAE is at least this fraction lower (0.05: 5% lower).
    beat_margin: float = 0.05
    # Also score the policy's untrained initialisation on the same frames, once per run (cached in the
    # metrics file), so the verdict says what training bought.
    untrained_reference: bool = True
    # Warn of overfitting when the validation loss rose at this many checkpoints in a row (0: never).
    overfit_checkpoints: int = 2

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.holdout < 1:
            problems.append(f"holdout={self.holdout} must be a fraction in [0, 1) (e.g. {FLAG}.holdout=0.1)")
        for name in (
            "max_samples",
            "batch_size",
            "cache_mb",
            "every_n_steps",
            "plot_episodes",
            "overfit_checkpoints",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)} must be >= 0 (e.g. {FLAG}.{name}=0)")
        if self.num_workers < -1:
            problems.append(f"num_workers={self.num_workers} must be >= -1 (e.g. {FLAG}.num_workers=-1)")
        if not 0 <= self.time_budget < 1:
            problems.append(
                f"time_budget={self.time_budget} must be a fraction in [0, 1) (e.g. {FLAG}.time_budget=0.05)"
            )
        if not 0 <= self.beat_margin < 1:
            problems.append(
                f"beat_margin={self.beat_margin} must be a fraction in [0, 1) (e.g. {FLAG}.beat_margin=0.05)"
            )
        if any(not isinstance(e, int) or e < 0 for e in self.episodes):
            problems.append(
                f"episodes={self.episodes} must be episode indices >= 0 (e.g. {FLAG}.episodes=[3,7])"
            )
        if problems:
            raise ValueError("lerobot_local.validation: " + "; ".join(problems))

    @property
    def enabled(self) -> bool:
        return self.holdout > 0 or bool(self.episodes)


# Inference at a small batch is bound by kernel launches: on an H100, SmolVLA validated 39 held-out frames/s
# at batch 16 (docs/gpu.md, issue 30); holding no gradients, a batch of 64 fits wherever training fits.
MIN_AUTO_BATCH = 64


def validation_batch_size(asked: int | None, train_batch: int | None, device: str | None) -> int:
    """The validation batch: the one asked for, else the training batch, on a GPU at least
    :data:`MIN_AUTO_BATCH` (one rule for training and ``lerobot-local eval``: a stochastic policy's noise
    follows the batch). On a CPU a big batch buys nothing and delays the first progress."""
    if asked:
        return int(asked)
    batch = int(train_batch or 8)
    return max(batch, MIN_AUTO_BATCH) if str(device or "cpu").startswith("cuda") else batch
