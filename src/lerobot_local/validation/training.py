"""Validation inside ``lerobot-train``: the split applied through LeRobot's ``dataset.episodes``, the train
metrics of every log step and the validation metrics of every checkpoint appended to one JSON-lines file.

:func:`install` is called once, after the before-train checks passed, with the train script's namespace. It
wraps three names there (through :mod:`lerobot_local.compat`): the training step (its metrics tracker holds
what LeRobot logs), ``save_checkpoint`` (it receives the live policy and processors: validation needs no
second copy of the model) and the processor factory (for ``every_n_steps`` between checkpoints).
"""

from __future__ import annotations

import atexit
import inspect
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lerobot_local import compat
from lerobot_local.runner import mark_checkpoint
from lerobot_local.validation import records
from lerobot_local.validation.config import ValidationSettings, validation_batch_size
from lerobot_local.validation.cost import MIN_FRAMES, budget_frames, duration, steps_between
from lerobot_local.validation.live import LiveBoard
from lerobot_local.validation.metrics import (
    HeldOutBatches,
    action_names,
    definition,
    evaluate,
    select_frames,
    serial_batches,
    trajectory,
)
from lerobot_local.validation.units import joint_units, units_label
from lerobot_local.validation.verdict import judge

logger = logging.getLogger("lerobot_local")


class _Progress:
    """A tqdm bar over frames (on stderr, as LeRobot's) that says the expected duration after the first batch
    when nothing could estimate it before."""

    def __init__(self, total: int, desc: str, estimated: bool) -> None:
        interactive = sys.stderr.isatty()
        self.bar = tqdm(
            total=total, desc=desc, unit="frame", leave=False, mininterval=0.5 if interactive else 10.0
        )
        self.total, self.desc, self.said = total, desc, estimated
        self.started, self.done = time.perf_counter(), 0

    def update(self, n: int) -> None:
        self.bar.update(n)
        self.done += n
        if not self.said and 0 < self.done < self.total:
            self.said = True
            per_frame = (time.perf_counter() - self.started) / self.done
            logger.info(
                "lerobot-local: %s: first batch of %d frames in %.1f s; %s for the %d frames",
                self.desc,
                self.done,
                per_frame * self.done,
                duration(per_frame * self.total),
                self.total,
            )

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.close()


class _Run:
    """What the wrappers share during one training run."""

    def __init__(self, cfg: Any, settings: Any, facts: Any, results: list[Any], split: Any) -> None:
        self.cfg = cfg
        self.settings = settings
        self.validation: ValidationSettings = settings.validation
        self.facts = facts
        self.results = results
        self.split = split
        self.processors: tuple[Any, Any] | None = None
        self.dataset: Any = None
        self.frames: list[int] = []
        self.plot_datasets: dict[int, Any] = {}
        self.started = False
        self.last_validated = -1
        self.reference: dict[str, Any] | None = None
        self.reference_done = False
        self.batches: HeldOutBatches | None = None
        self.seconds_per_frame: float | None = None  # of the last validation pass (the next one's estimate)
        self.first_step: tuple[int, float] | None = None  # (step, time) after the first training step
        self.last_step: tuple[int, float] | None = None
        self.board = LiveBoard(cfg.output_dir if cfg.output_dir is not None else None)
        atexit.register(self.board.close)

    @property
    def output_dir(self) -> Path:
        return Path(self.cfg.output_dir)

    @property
    def main(self) -> bool:
        return compat.process_rank()[0] == 0

    def tick(self, step: int) -> None:
        """A training step ended (its wall time feeds the validation's time budget)."""
        now = time.perf_counter()
        if self.first_step is None:
            self.first_step = (step, now)
        self.last_step = (step, now)

    @property
    def seconds_per_step(self) -> float | None:
        """Wall time of a training step, measured since the first (warm-up) step; None before two."""
        if self.first_step is None or self.last_step is None or self.last_step[0] <= self.first_step[0]:
            return None
        return (self.last_step[1] - self.first_step[1]) / (self.last_step[0] - self.first_step[0])

    def start(self) -> None:
        """The run record: settings, checks, split (once, when the output dir exists)."""
        if self.started or not self.main or self.cfg.output_dir is None:
            return
        self.started = True
        self.board.checks(0, self.results)
        records.append(
            self.output_dir,
            {
                "kind": "run",
                "lerobot_version": compat.lerobot_version(),
                "resume": bool(getattr(self.cfg, "resume", False)),
                # relative paths of the config (dataset.root, a local backbone) resolve against this
                "cwd": os.getcwd(),
                "profile": getattr(self.settings, "profile", None) or None,
                "job_name": getattr(self.cfg, "job_name", None),
                "dataset_root": str(self.facts.dataset_root) if self.facts.dataset_root else None,
                "policy_type": getattr(getattr(self.cfg, "policy", None), "type", None),
                "steps": getattr(self.cfg, "steps", None),
                "checks": [r.to_dict() for r in self.results],
                "settings": self.settings.to_dict(),
                "train_config": compat.train_config_dict(self.cfg),
                **(self.split.to_dict() if self.split else {}),
            },
        )

    # --- validation ---------------------------------------------------------------------------------------

    @property
    def batch_size(self) -> int:
        device = getattr(getattr(self.cfg, "policy", None), "device", None)
        return validation_batch_size(self.validation.batch_size, self.cfg.batch_size, device)

    @property
    def workers(self) -> int:
        """Data-loader workers that decode the held-out frames: the setting, else the training's number where
        the frames are video (a parquet-only dataset reads faster than a worker starts)."""
        if self.validation.num_workers >= 0:
            return self.validation.num_workers
        return int(getattr(self.cfg, "num_workers", 0) or 0) if compat.dataset_video_keys(self.dataset) else 0

    def _evaluate(
        self, policy: Any, preprocessor: Any, postprocessor: Any, names: list[str], label: str
    ) -> dict[str, Any]:
        """Loss and per-joint action error of ``policy`` on the held-out frames, with a progress bar and the
        expected duration said first."""
        if self.batches is not None and self.batches.cached is not None:
            how = "decoded once, kept in memory"
        elif self.batches is not None and self.batches.workers:
            how = f"{self.batches.workers} loader workers"
        else:
            how = "read in this process"
        estimate = None if self.seconds_per_frame is None else self.seconds_per_frame * len(self.frames)
        logger.info(
            "lerobot-local: %s: %d held-out frames in batches of %d (%s), %s",
            label,
            len(self.frames),
            self.batch_size,
            how,
            duration(estimate),
        )
        with _Progress(len(self.frames), label, estimate is not None) as bar:
            result = evaluate(
                policy,
                preprocessor,
                postprocessor,
                self.dataset,
                self.frames,
                batch_size=self.batch_size,
                seed=self.validation.seed,
                names=names,
                progress=bar,
                batches=self.batches,
            )
        if result.get("frames"):
            self.seconds_per_frame = result["seconds"] / result["frames"]
        return result

    def _open(self, policy: Any, preprocessor: Any, postprocessor: Any, names_of: Any) -> None:
        if self.dataset is not None:
            return
        backend = getattr(self.cfg.dataset, "video_backend", None) or "pyav"
        started = time.perf_counter()
        self.dataset = compat.open_dataset(
            self.facts.dataset_root, self.split.holdout, self.cfg.policy, video_backend=backend
        )
        self.frames = select_frames(len(self.dataset), self.validation.max_samples)
        self._fit_budget(policy, preprocessor, postprocessor, names_of(self.dataset))
        workers = self.workers
        self.batches = HeldOutBatches(
            self.dataset,
            self.frames,
            self.batch_size,
            workers=workers,
            context=compat.dataloader_start_method(self.cfg) if workers else None,
            cache_bytes=self.validation.cache_mb * 2**20,
        )
        logger.info(
            "lerobot-local: validation set: %d of the %d frames of held-out episodes %s, opened in %.1f s",
            len(self.frames),
            len(self.dataset),
            self.split.holdout,
            time.perf_counter() - started,
        )
        for episode in self.split.holdout[: max(0, self.validation.plot_episodes)]:
            self.plot_datasets[episode] = compat.open_dataset(
                self.facts.dataset_root, [episode], self.cfg.policy, video_backend=backend
            )

    def _fit_budget(self, policy: Any, preprocessor: Any, postprocessor: Any, names: list[str]) -> None:
        """On a CPU, at the first validation of a run: fewer held-out frames when scoring them all would cost
        more than ``time_budget`` of the training time between validations. The number is said, and kept for
        the run (``max_samples``, saved with every checkpoint: a resume and lerobot-local eval use the same
        frames)."""
        share = self.validation.time_budget
        if any(r.get("kind") == "validation" for r in records.read(self.output_dir)):
            return  # a resumed run keeps the frames its checkpoints were compared on
        device = next(policy.parameters()).device
        per_step = self.seconds_per_step
        if share <= 0 or device.type != "cpu" or len(self.frames) <= MIN_FRAMES or per_step is None:
            return
        probe = self.frames[: self.batch_size]
        logger.info(
            "lerobot-local: validation time budget (%.0f%% of the training time): timing one batch of %d "
            "held-out frames",
            100 * share,
            len(probe),
        )
        started = time.perf_counter()
        evaluate(
            policy,
            preprocessor,
            postprocessor,
            self.dataset,
            probe,
            batch_size=self.batch_size,
            seed=self.validation.seed,
            names=names,
            batches=serial_batches(self.dataset, probe, self.batch_size),
        )
        per_frame = (time.perf_counter() - started) / max(1, len(probe))
        between = steps_between(self.validation.every_n_steps, self.cfg.save_freq, self.cfg.steps)
        wanted = len(self.frames)
        budget_s = share * between * per_step
        fits = budget_frames(
            seconds_per_step=per_step,
            steps_between=between,
            seconds_per_frame=per_frame,
            share=share,
            max_frames=wanted,
        )
        words = (
            f"training takes {per_step:.3f} s a step and validates every {between} steps, so "
            f"{100 * share:.0f}% of it is {budget_s:.1f} s; one held-out frame costs {per_frame:.3f} s here"
        )
        if fits >= wanted:
            logger.info("lerobot-local: validation time budget: %s: all %d frames fit", words, wanted)
            return
        self.frames = select_frames(len(self.dataset), fits)
        self.validation.max_samples = len(self.frames)
        over = f" (the floor of {MIN_FRAMES}: over budget)" if len(self.frames) * per_frame > budget_s else ""
        logger.warning(
            "lerobot-local: validation time budget: %s: validating on %d of the %d held-out frames for the "
            "whole run%s (--lerobot_local.validation.time_budget=0 for all of them, or a larger share)",
            words,
            len(self.frames),
            wanted,
            over,
        )

    def validate(
        self, policy: Any, preprocessor: Any, postprocessor: Any, step: int, checkpoint: Path | None
    ):
        started = time.perf_counter()

        def names_of(dataset: Any) -> list[str]:
            return action_names(self.facts.dataset_info, compat.action_dim(dataset))

        self._open(policy, preprocessor, postprocessor, names_of)
        names = names_of(self.dataset)
        reference = self._reference(policy, preprocessor, postprocessor, names)
        result = self._evaluate(policy, preprocessor, postprocessor, names, f"validating at step {step}")
        result.update(step=step, holdout_episodes=self.split.holdout, joints=names)
        units = joint_units(self.facts.dataset_info, names, getattr(self.settings, "profile", None))
        result.update(units=units, definition=definition(result.get("chunk_steps", 0)))
        if reference is not None:
            result["untrained"] = reference
        result["verdict"] = self._judge(result, step, checkpoint)
        if checkpoint is not None:
            executes = compat.policy_executes(self.cfg.policy)
            predictions = sum(-(-len(ds) // max(1, executes)) for ds in self.plot_datasets.values())
            if predictions:
                estimate = None if self.seconds_per_frame is None else self.seconds_per_frame * predictions
                logger.info(
                    "lerobot-local: trajectories of episodes %s for the report: %d predicted chunks, %s",
                    list(self.plot_datasets),
                    predictions,
                    duration(estimate),
                )
            result["trajectories"] = {}
            with _Progress(predictions, "trajectories", True) as bar:
                for e, ds in self.plot_datasets.items():
                    result["trajectories"][str(e)] = trajectory(
                        policy,
                        preprocessor,
                        postprocessor,
                        ds,
                        executes=executes,
                        seed=self.validation.seed,
                        batch_size=self.batch_size,
                        progress=bar,
                    )
                    fps = (self.facts.dataset_info or {}).get("fps")
                    if isinstance(fps, (int, float)) and fps > 0:  # the report's time axis in seconds
                        result["trajectories"][str(e)]["fps"] = fps
            records.write_checkpoint_validation(checkpoint, result)
        result["total_seconds"] = time.perf_counter() - started  # with the dataset opening and trajectories
        summary = {k: v for k, v in result.items() if k != "trajectories"}
        records.append(
            self.output_dir,
            {"kind": "validation", "checkpoint": checkpoint.name if checkpoint else None, **summary},
        )
        self.last_validated = step
        self.board.validation(step, result)
        worst = max(result["mae"].items(), key=lambda kv: kv[1])
        base = result.get("baseline_constant", {}).get("mae_mean")
        untrained = (result.get("untrained") or {}).get("mae_mean")
        logger.info(
            "lerobot-local: validation at step %d on %d held-out frames (episodes %s): val_loss=%.5f, "
            "action MAE %.4f / RMSE %.4f (%s; mean over joints, all %d steps of each predicted chunk); "
            "constant action MAE %s, untrained MAE %s; worst joint %s MAE %.4f %s; %.1f s",
            step,
            result["frames"],
            self.split.holdout,
            result["val_loss"],
            result["mae_mean"],
            result["rmse_mean"],
            units_label(units),
            result.get("chunk_steps", 0),
            f"{base:.4f}" if base is not None else "n/a",
            f"{untrained:.4f}" if untrained is not None else "n/a",
            worst[0],
            worst[1],
            units[worst[0]],
            result["seconds"],
        )
        verdict = result["verdict"]
        (logger.warning if verdict.get("overfitting") else logger.info)(
            "lerobot-local: verdict at step %d: %s", step, verdict["text"]
        )
        return result

    def _judge(self, result: dict[str, Any], step: int, checkpoint: Path | None) -> dict[str, Any]:
        """The verdict, with the validation loss of every checkpoint so far (for the overfitting warning)."""
        losses: dict[int, float] = {}
        for row in records.read(self.output_dir):
            at_checkpoint = row.get("kind") == "validation" and row.get("checkpoint")
            earlier = at_checkpoint and row.get("step", step) < step
            if earlier and isinstance(row.get("val_loss"), (int, float)):
                losses[int(row["step"])] = float(row["val_loss"])
        if checkpoint is not None and isinstance(result.get("val_loss"), (int, float)):
            losses[step] = float(result["val_loss"])
        return judge(
            result["mae"],
            (result.get("baseline_constant") or {}).get("mae"),
            (result.get("untrained") or {}).get("mae"),
            beat_margin=self.validation.beat_margin,
            val_losses=sorted(losses.items()),
            overfit_checkpoints=self.validation.overfit_checkpoints,
        )

    def _reference(self, policy: Any, preprocessor: Any, postprocessor: Any, names: list[str]) -> Any:
        """The untrained initialisation's metrics on the same frames: computed once per run, cached in the
        metrics file (a resumed run reads it back)."""
        if self.reference_done or not self.validation.untrained_reference:
            return self.reference
        self.reference_done = True
        key = {
            "holdout_episodes": self.split.holdout,
            "frames": len(self.frames),
            "seed": self.validation.seed,
        }
        for row in records.read(self.output_dir):
            if row.get("kind") == "reference" and all(row.get(k) == v for k, v in key.items()):
                self.reference = row["untrained"]
                return self.reference
        resumed = bool(getattr(self.cfg, "resume", False))
        pretrained = getattr(self.cfg.policy, "pretrained_path", None) if not resumed else None
        # the run's own seed: LeRobot seeds with it right before it builds the policy, so these are the very
        # weights training started from
        seed = getattr(self.cfg, "seed", None)
        seed = self.validation.seed if seed is None else int(seed)
        started = time.perf_counter()
        estimate = None if self.seconds_per_frame is None else self.seconds_per_frame * len(self.frames)
        logger.info(
            "lerobot-local: scoring the untrained initialisation on the same %d held-out frames, once for "
            "this run (%s; --lerobot_local.validation.untrained_reference=false skips it)",
            len(self.frames),
            duration(estimate),
        )
        try:
            import torch  # already loaded by the train script; imported here to keep this module light

            device = next(policy.parameters()).device
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # training's RNG
                fresh = compat.untrained_policy(
                    self.cfg.policy, self.dataset, str(device), seed, bool(pretrained)
                )
            metrics = self._evaluate(fresh, preprocessor, postprocessor, names, "untrained initialisation")
            del fresh
        except Exception as exc:  # the reference is extra information: never stop training for it
            logger.warning("lerobot-local: could not score the untrained initialisation (%s)", exc)
            return None
        self.reference = {
            "weights": f"pretrained weights of {pretrained}"
            if pretrained
            else f"random weights, seed {seed}",
            **{k: metrics.get(k) for k in ("val_loss", "mae", "mae_mean", "rmse", "rmse_mean")},
        }
        records.append(self.output_dir, {"kind": "reference", **key, "untrained": self.reference})
        logger.info(
            "lerobot-local: untrained initialisation (%s) on the same frames: val_loss=%.5f, action MAE %.4f "
            "(computed once for this run in %.1f s)",
            self.reference["weights"],
            metrics["val_loss"] if metrics.get("val_loss") is not None else float("nan"),
            metrics["mae_mean"],
            time.perf_counter() - started,
        )
        return self.reference


def _apply_split(cfg: Any, settings: Any, facts: Any) -> Any:
    validation = settings.validation
    if not validation.enabled:
        return None
    split = facts.split  # computed once with the run's facts; the validation check stopped a failed one
    if split is None:
        return None
    cfg.dataset.episodes = split.train
    validation.episodes = split.holdout  # saved with every checkpoint: a resume validates on the same
    logger.info(
        "lerobot-local: training on %d episodes, %d held out for validation: %s (seed %d)",
        len(split.train),
        len(split.holdout),
        split.holdout,
        validation.seed,
    )
    return split


def install(train_globals: dict[str, Any], cfg: Any, settings: Any, facts: Any, results: list[Any]) -> None:
    """Apply the holdout to ``cfg.dataset.episodes`` and hook the train script (see the module docstring)."""
    run = _Run(cfg, settings, facts, list(results or []), _apply_split(cfg, settings, facts))

    def wrap_step(original):
        def update_policy(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            tracker = out[0] if isinstance(out, tuple) else out
            step = compat.tracker_steps(tracker) + 1
            log_freq = int(getattr(cfg, "log_freq", 0) or 0)
            if run.main:
                run.tick(step)
            if run.main and log_freq > 0 and step % log_freq == 0:
                run.start()
                metrics = compat.tracker_step_metrics(tracker)
                step_s = metrics.get("update_s", 0.0) + metrics.get("dataloading_s", 0.0)
                if step_s > 0:  # as LeRobot 0.6 logs it: the effective batch over the step time
                    metrics["samples_per_s"] = int(cfg.batch_size) * compat.process_rank()[1] / step_s
                records.append(run.output_dir, {"kind": "train", "step": step, **metrics})
                run.board.train(step, metrics)
            every = run.validation.every_n_steps
            if (
                run.split is not None
                and run.main
                and every > 0
                and step % every == 0
                and run.processors is not None
                and not (step % int(cfg.save_freq or 0) == 0 if cfg.save_freq else False)
                and step != cfg.steps
            ):
                policy = kwargs.get("policy", args[1] if len(args) > 1 else None)
                run.start()
                run.validate(compat.unwrap_model(policy), *run.processors, step=step, checkpoint=None)
            return out

        return update_policy

    def wrap_processors(original):
        def make_pre_post_processors(*args: Any, **kwargs: Any) -> Any:
            made = original(*args, **kwargs)
            run.processors = (made[0], made[1])
            return made

        return make_pre_post_processors

    def wrap_save(original):
        signature = inspect.signature(original)

        def save_checkpoint(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            bound = signature.bind_partial(*args, **kwargs).arguments
            if run.main:  # resumable from here on, even when killed during the validation below
                mark_checkpoint(run.settings, Path(bound["checkpoint_dir"]))
            if run.split is not None and run.main:
                run.start()
                run.validate(
                    bound["policy"],
                    bound["preprocessor"],
                    bound["postprocessor"],
                    step=int(bound["step"]),
                    checkpoint=Path(bound["checkpoint_dir"]),
                )
            return out

        return save_checkpoint

    compat.wrap_train_global(train_globals, compat.TRAIN_STEP_NAME, wrap_step)
    compat.wrap_train_global(train_globals, compat.PROCESSORS_FACTORY_NAME, wrap_processors)
    compat.wrap_train_global(train_globals, compat.SAVE_CHECKPOINT_NAME, wrap_save)
