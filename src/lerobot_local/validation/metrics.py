"""Validation metrics of a policy on held-out frames: the loss as training computes it, and the open-loop
error of the predicted action chunk against the recorded actions, per joint, in the dataset's units.

Used by the validation inside ``lerobot-train`` (the live policy and processors) and by ``lerobot-local eval``
(a checkpoint loaded from disk): same frames, batches and seed give the same numbers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
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


def serial_batches(dataset: Any, frames: list[int], size: int) -> Iterator[dict[str, Any]]:
    """Collated batches of ``frames``, read one item at a time in this process (no workers, no cache)."""
    for i in range(0, len(frames), max(1, size)):
        yield compat.collate([dataset[f] for f in frames[i : i + size]])


def _pack(batch: dict[str, Any], camera_keys: list[str]) -> dict[str, Any]:
    """A copy of ``batch`` to keep in memory: camera frames that are exactly ``uint8 / 255`` (LeRobot's float
    frames) stored as uint8, a quarter of the bytes; anything else cloned as it is."""
    import torch

    packed: dict[str, Any] = {}
    for key, value in batch.items():
        if not isinstance(value, torch.Tensor):
            packed[key] = value
            continue
        if key in camera_keys and value.dtype == torch.float32:
            as_u8 = (value * 255).round_().clamp_(0, 255).to(torch.uint8)
            if torch.equal(as_u8.to(torch.float32) / 255, value):
                packed[key] = ("uint8/255", as_u8)
                continue
        packed[key] = value.clone()
    return packed


def _unpack(packed: dict[str, Any]) -> dict[str, Any]:
    import torch

    out = {}
    for key, value in packed.items():
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "uint8/255":
            out[key] = value[1].to(torch.float32) / 255
        elif isinstance(value, torch.Tensor):
            out[key] = value.clone()
        else:
            out[key] = value
    return out


def _nbytes(packed: dict[str, Any]) -> int:
    total = 0
    for value in packed.values():
        tensor = value[1] if isinstance(value, tuple) else value
        total += int(getattr(tensor, "nbytes", 0) or 0)
    return total


class HeldOutBatches:
    """The held-out frames as collated batches, in order: decoded by a DataLoader (``workers`` processes, for
    video; 0: in this process), kept in memory after the first full pass when they fit in ``cache_bytes``, so
    later validations (and the untrained reference's pass) only run the model. Same batches as
    :func:`serial_batches`, so the same numbers."""

    def __init__(
        self,
        dataset: Any,
        frames: list[int],
        batch_size: int,
        *,
        workers: int = 0,
        context: str | None = None,
        cache_bytes: int = 0,
    ) -> None:
        self.dataset = dataset
        self.frames = list(frames)
        self.batch_size = max(1, int(batch_size))
        n_batches = -(-len(self.frames) // self.batch_size)
        self.workers = max(0, min(int(workers), n_batches))
        self.context = context
        self.cache_bytes = max(0, int(cache_bytes))
        self.cached: list[dict[str, Any]] | None = None
        self.cached_bytes = 0

    def __len__(self) -> int:
        return len(self.frames)

    def _loader(self) -> Iterable[dict[str, Any]]:
        if self.workers == 0:
            return serial_batches(self.dataset, self.frames, self.batch_size)
        import torch
        from torch.utils.data import DataLoader, Subset

        return DataLoader(
            Subset(self.dataset, self.frames),
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=self.workers,
            collate_fn=compat.collate,
            multiprocessing_context=self.context,
            # its own generator: the loader's base seed must not draw from the global RNG, which the
            # policies' noise reads (same numbers as the serial path)
            generator=torch.Generator(),
        )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.cached is not None:
            for packed in self.cached:
                yield _unpack(packed)
            return
        camera_keys = compat.dataset_camera_keys(self.dataset)
        kept: list[dict[str, Any]] | None = [] if self.cache_bytes else None
        size = 0
        for batch in self._loader():
            if kept is not None:
                packed = _pack(batch, camera_keys)
                size += _nbytes(packed)
                if size <= self.cache_bytes:
                    kept.append(packed)
                else:
                    kept = None  # too big to keep: every validation decodes again
            yield batch
        if kept is not None:
            self.cached, self.cached_bytes = kept, size


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
    batches: Iterable[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Validation loss and per-joint action error (MAE, RMSE) on ``frames`` of ``dataset``.

    The loss is averaged per frame; the action error covers every real (not padded) step of the predicted
    chunk, in the dataset's units (the postprocessor unnormalises); ``baseline`` is the same error for a
    constant action, the dataset's mean (what a policy that learned nothing about the input would get).
    ``batches``: the collated batches of ``frames`` (a :class:`HeldOutBatches`); default: read one item at a
    time here, in batches of ``batch_size``.
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
            for raw in batches if batches is not None else serial_batches(dataset, frames, batch_size):
                size = int(raw["action"].shape[0])
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
                loss_sum += loss * size
                n += size
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
                    progress.update(size)
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
    batch_size: int = 1,
    workers: int = 0,
    context: str | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Open-loop predicted vs recorded actions over one episode (``dataset`` holds only that episode):
    a chunk is predicted every ``executes`` frames from the recorded observation and its first ``executes``
    actions are laid end to end, as the policy would execute them. The chunks are predicted in batches of
    ``batch_size`` (a stochastic policy's noise then depends on the batch size; deterministic ones do not)."""
    import torch

    camera_keys = compat.dataset_camera_keys(dataset)
    length = len(dataset)
    starts = list(range(0, length, max(1, executes)))
    predicted: list[list[float]] = []
    recorded: list[list[float]] = []
    was_training = policy.training
    policy.eval()
    device = next(policy.parameters()).device
    loader = HeldOutBatches(dataset, starts, batch_size, workers=workers, context=context)
    done = 0
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(seed)
            for raw in loader:
                batch = preprocessor(compat.prepare_batch(raw, camera_keys))
                chunks = postprocessor(compat.action_chunk(policy, batch)).detach().cpu().double().numpy()
                actions_all = raw["action"].detach().cpu().double().numpy()
                for row in range(chunks.shape[0]):
                    t = starts[done + row]
                    actions = actions_all[row]
                    actions = actions[None, :] if actions.ndim == 1 else actions
                    steps = min(executes, length - t, chunks.shape[1], actions.shape[0])
                    predicted.extend(chunks[row, :steps].tolist())
                    recorded.extend(actions[:steps].tolist())
                done += chunks.shape[0]
                if progress is not None:
                    progress.update(chunks.shape[0])
    finally:
        policy.train(was_training)
    return {"predicted": predicted, "recorded": recorded}
