"""The ``lerobot_local.validation`` settings (a section of :class:`lerobot_local.settings.LocalSettings`)."""

from __future__ import annotations

from dataclasses import dataclass, field

METRICS_FILE = "lerobot_local_metrics.jsonl"
REPORT_FILE = "lerobot_local_report.html"
CHECKPOINT_VALIDATION_FILE = "lerobot_local_validation.json"
BEST_LINK = "best"


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
    # Held-out frames evaluated at each validation (evenly spaced over the held-out episodes).
    max_samples: int = 256
    # Batch size of the validation passes (0: the training batch size).
    batch_size: int = 0
    # Also validate every N training steps between checkpoints (0: only at checkpoints).
    every_n_steps: int = 0
    # Held-out episodes whose predicted vs recorded trajectories are kept for the report's plots.
    plot_episodes: int = 2
    # Write the run's HTML report (lerobot_local_report.html in the output dir) at every checkpoint.
    report: bool = True

    @property
    def enabled(self) -> bool:
        return self.holdout > 0 or bool(self.episodes)
