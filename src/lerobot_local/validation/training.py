"""Validation inside ``lerobot-train``: the split applied through LeRobot's ``dataset.episodes``, the train
metrics of every log step and the validation metrics of every checkpoint appended to one JSON-lines file.

:func:`install` is called once, after the before-train checks passed, with the train script's namespace. It
wraps three names there (through :mod:`lerobot_local.compat`): the training step (its metrics tracker holds
what LeRobot logs), ``save_checkpoint`` (it receives the live policy and processors: validation needs no
second copy of the model) and the processor factory (for ``every_n_steps`` between checkpoints).
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.validation import records
from lerobot_local.validation.config import ValidationSettings
from lerobot_local.validation.metrics import action_names, definition, evaluate, select_frames, trajectory
from lerobot_local.validation.units import joint_units, units_label
from lerobot_local.validation.verdict import judge

logger = logging.getLogger("lerobot_local")


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

    @property
    def output_dir(self) -> Path:
        return Path(self.cfg.output_dir)

    @property
    def main(self) -> bool:
        return compat.process_rank()[0] == 0

    def start(self) -> None:
        """The run record: settings, checks, split (once, when the output dir exists)."""
        if self.started or not self.main or self.cfg.output_dir is None:
            return
        self.started = True
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

    def _evaluate(
        self, policy: Any, preprocessor: Any, postprocessor: Any, names: list[str]
    ) -> dict[str, Any]:
        """Loss and per-joint action error of ``policy`` on the held-out frames."""
        return evaluate(
            policy,
            preprocessor,
            postprocessor,
            self.dataset,
            self.frames,
            batch_size=self.validation.batch_size or int(self.cfg.batch_size),
            seed=self.validation.seed,
            names=names,
        )

    def _open(self) -> None:
        if self.dataset is not None:
            return
        backend = getattr(self.cfg.dataset, "video_backend", None) or "pyav"
        self.dataset = compat.open_dataset(
            self.facts.dataset_root, self.split.holdout, self.cfg.policy, video_backend=backend
        )
        self.frames = select_frames(len(self.dataset), self.validation.max_samples)
        for episode in self.split.holdout[: max(0, self.validation.plot_episodes)]:
            self.plot_datasets[episode] = compat.open_dataset(
                self.facts.dataset_root, [episode], self.cfg.policy, video_backend=backend
            )

    def validate(
        self, policy: Any, preprocessor: Any, postprocessor: Any, step: int, checkpoint: Path | None
    ):
        started = time.perf_counter()
        self._open()
        names = action_names(self.facts.dataset_info, compat.action_dim(self.dataset))
        reference = self._reference(policy, preprocessor, postprocessor, names)
        result = self._evaluate(policy, preprocessor, postprocessor, names)
        result.update(step=step, holdout_episodes=self.split.holdout, joints=names)
        units = joint_units(self.facts.dataset_info, names, getattr(self.settings, "profile", None))
        result.update(units=units, definition=definition(result.get("chunk_steps", 0)))
        if reference is not None:
            result["untrained"] = reference
        result["verdict"] = self._judge(result, step, checkpoint)
        if checkpoint is not None:
            executes = compat.policy_executes(self.cfg.policy)
            result["trajectories"] = {
                str(e): trajectory(
                    policy, preprocessor, postprocessor, ds, executes=executes, seed=self.validation.seed
                )
                for e, ds in self.plot_datasets.items()
            }
            records.write_checkpoint_validation(checkpoint, result)
        result["total_seconds"] = time.perf_counter() - started  # with the dataset opening and trajectories
        summary = {k: v for k, v in result.items() if k != "trajectories"}
        records.append(
            self.output_dir,
            {"kind": "validation", "checkpoint": checkpoint.name if checkpoint else None, **summary},
        )
        self.last_validated = step
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
        try:
            import torch  # already loaded by the train script; imported here to keep this module light

            device = next(policy.parameters()).device
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # training's RNG
                fresh = compat.untrained_policy(
                    self.cfg.policy, self.dataset, str(device), seed, bool(pretrained)
                )
            metrics = self._evaluate(fresh, preprocessor, postprocessor, names)
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
            if run.main and log_freq > 0 and step % log_freq == 0:
                run.start()
                records.append(
                    run.output_dir, {"kind": "train", "step": step, **compat.tracker_step_metrics(tracker)}
                )
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
            if run.split is not None and run.main:
                bound = signature.bind_partial(*args, **kwargs).arguments
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
