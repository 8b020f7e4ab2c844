"""Validation metrics of a policy on held-out frames: the loss as training computes it, and the open-loop
error of the predicted action chunk against the recorded actions, per joint, in the dataset's units.

Used by the validation inside ``lerobot-train`` (the live policy and processors) and by ``lerobot-local eval``
(a checkpoint loaded from disk): same frames, batches and seed give the same numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from lerobot_local import compat
from lerobot_local.dataset import joint_names, names_problem


def select_frames(n_frames: int, max_samples: int) -> list[int]:
    """Up to ``max_samples`` frame positions, evenly spaced over ``n_frames`` (all when fewer)."""
    if n_frames <= 0:
        return []
    if max_samples <= 0 or n_frames <= max_samples:
        return list(range(n_frames))
    return sorted({round(i * (n_frames - 1) / (max_samples - 1)) for i in range(max_samples)})


def action_names(info: dict[str, Any] | None, dim: int) -> list[str]:
    """Joint names of the action from ``info.json`` in any form recorders write (flat, nested, dict),
    else ``action[i]``."""
    feature = ((info or {}).get("features") or {}).get("action")
    if isinstance(feature, dict) and names_problem("action", feature, dim) is None and feature.get("names"):
        return joint_names(feature, dim)
    return [f"action[{i}]" for i in range(dim)]


class _ErrorSums:
    def __init__(self, dim: int) -> None:
        self.abs = np.zeros(dim)
        self.sq = np.zeros(dim)
        self.count = np.zeros(dim)

    def add(self, diff: np.ndarray, mask: np.ndarray) -> None:
        """``diff`` (n, horizon, dim), ``mask`` (n, horizon): True where the recorded action is real."""
        m = mask[..., None].astype(np.float64)
        self.abs += (np.abs(diff) * m).sum(axis=(0, 1))
        self.sq += (diff**2 * m).sum(axis=(0, 1))
        self.count += m.sum(axis=(0, 1))

    def result(self, names: list[str]) -> dict[str, Any]:
        n = np.maximum(self.count, 1)
        mae, rmse = self.abs / n, np.sqrt(self.sq / n)
        return {
            "mae": {k: float(v) for k, v in zip(names, mae, strict=True)},
            "rmse": {k: float(v) for k, v in zip(names, rmse, strict=True)},
            "mae_mean": float(mae.mean()),
            "rmse_mean": float(rmse.mean()),
        }


def definition(chunk_steps: int) -> str:
    """What MAE and RMSE cover, in words (shown beside the numbers)."""
    steps = f"all {chunk_steps} steps" if chunk_steps > 1 else "the one step"
    return (
        f"MAE/RMSE: per joint, over {steps} of each predicted action chunk against the recorded actions "
        "(steps past the episode end excluded), open loop from the recorded observation; "
        "'first action': step 1 of the chunk only; the mean is over joints"
    )


def _forward_loss(policy: Any, batch: dict[str, Any]) -> tuple[float, str]:
    """The training loss on ``batch`` without gradients; eval mode, or train mode for policies whose loss
    needs it (ACT with its VAE has no latent to score in eval mode)."""
    try:
        loss, _ = policy.forward(batch)
        return float(loss.item()), "eval"
    except (TypeError, AttributeError):
        policy.train()
        try:
            loss, _ = policy.forward(batch)
        finally:
            policy.eval()
        return float(loss.item()), "train"


def _batches(frames: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(frames), size):
        yield frames[i : i + size]


def evaluate(
    policy: Any,
    preprocessor: Any,
    postprocessor: Any,
    dataset: Any,
    frames: list[int],
    *,
    batch_size: int,
    seed: int,
    names: list[str],
    progress: Any = None,
) -> dict[str, Any]:
    """Validation loss and per-joint action error (MAE, RMSE) on ``frames`` of ``dataset``.

    The loss is averaged per frame; the action error covers every real (not padded) step of the predicted
    chunk, in the dataset's units (the postprocessor unnormalises); ``baseline`` is the same error for a
    constant action, the dataset's mean (what a policy that learned nothing about the input would get).
    """
    import torch

    started = time.perf_counter()
    camera_keys = compat.dataset_camera_keys(dataset)
    mean_action = compat.dataset_action_mean(dataset)
    was_training = policy.training
    policy.eval()
    device = next(policy.parameters()).device
    sums = _ErrorSums(len(names))
    first = _ErrorSums(len(names))
    baseline = _ErrorSums(len(names))
    per_episode: dict[int, _ErrorSums] = {}
    loss_sum, n, loss_mode, chunk_steps = 0.0, 0, "eval", 0
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            torch.manual_seed(seed)
            for chunk in _batches(frames, max(1, batch_size)):
                raw = compat.collate([dataset[i] for i in chunk])
                recorded = raw["action"].detach().cpu().double().numpy()
                if recorded.ndim == 2:
                    recorded = recorded[:, None, :]
                pad = raw.get("action_is_pad")
                real = (
                    ~pad.cpu().numpy().astype(bool)
                    if pad is not None
                    else np.ones(recorded.shape[:2], dtype=bool)
                )
                if real.ndim == 1:
                    real = real[:, None]
                batch = preprocessor(compat.prepare_batch(raw, camera_keys))
                loss, loss_mode = _forward_loss(policy, batch)
                loss_sum += loss * len(chunk)
                n += len(chunk)
                predicted = postprocessor(compat.action_chunk(policy, batch))
                predicted = predicted.detach().cpu().double().numpy()
                horizon = min(predicted.shape[1], recorded.shape[1])
                chunk_steps = max(chunk_steps, horizon)
                diff = predicted[:, :horizon] - recorded[:, :horizon]
                mask = real[:, :horizon]
                sums.add(diff, mask)
                first.add(diff[:, :1], mask[:, :1])
                if mean_action is not None and mean_action.shape[0] == recorded.shape[-1]:
                    baseline.add(mean_action[None, None, :] - recorded[:, :horizon], mask)
                episodes = raw.get("episode_index")
                if episodes is not None:
                    for row, episode in enumerate(episodes.reshape(-1).tolist()):
                        per_episode.setdefault(int(episode), _ErrorSums(len(names))).add(
                            diff[row : row + 1], mask[row : row + 1]
                        )
                if progress is not None:
                    progress.update(len(chunk))
    finally:
        policy.train(was_training)
    result = {
        "val_loss": loss_sum / max(n, 1),
        "loss_mode": loss_mode,
        "frames": n,
        "chunk_steps": chunk_steps,
        **sums.result(names),
        "first_action": first.result(names),
        "per_episode": {str(e): s.result(names)["mae_mean"] for e, s in sorted(per_episode.items())},
        "seconds": time.perf_counter() - started,
    }
    if baseline.count.any():
        result["baseline_constant"] = baseline.result(names)
    if not math.isfinite(result["val_loss"]):
        result["val_loss"] = None
    return result


def trajectory(
    policy: Any,
    preprocessor: Any,
    postprocessor: Any,
    dataset: Any,
    *,
    executes: int,
    seed: int,
) -> dict[str, Any]:
    """Open-loop predicted vs recorded actions over one episode (``dataset`` holds only that episode):
    a chunk is predicted every ``executes`` frames from the recorded observation and its first ``executes``
    actions are laid end to end, as the policy would execute them."""
    import torch

    camera_keys = compat.dataset_camera_keys(dataset)
    length = len(dataset)
    predicted: list[list[float]] = []
    recorded: list[list[float]] = []
    was_training = policy.training
    policy.eval()
    device = next(policy.parameters()).device
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(seed)
            for t in range(0, length, max(1, executes)):
                raw = compat.collate([dataset[t]])
                batch = preprocessor(compat.prepare_batch(raw, camera_keys))
                chunk = postprocessor(compat.action_chunk(policy, batch))[0].detach().cpu().double().numpy()
                actions = raw["action"][0].detach().cpu().double().numpy()
                actions = actions[None, :] if actions.ndim == 1 else actions
                steps = min(executes, length - t, chunk.shape[0], actions.shape[0])
                predicted.extend(chunk[:steps].tolist())
                recorded.extend(actions[:steps].tolist())
    finally:
        policy.train(was_training)
    return {"predicted": predicted, "recorded": recorded}
