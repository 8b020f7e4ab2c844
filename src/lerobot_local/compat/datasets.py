"""A local v3.0 dataset opened with the installed LeRobot (never the Hub), and what our code reads of it.

The dataset as validation and eval read it (the frames a policy reads, batches collated as LeRobot's loader
does), and LeRobot's own v2.1 -> v3.0 converter of this release (benchmarked against ours).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from lerobot_local.compat.offline import force_offline
from lerobot_local.compat.versions import LEROBOT_CONVERTER_MODULES, missing


def load_lerobot_dataset(root: Path, video_backend: str = "pyav") -> Any:
    """Open the local v3.0 dataset at ``root`` with the installed LeRobot (never the Hub)."""
    force_offline()
    root = Path(root)
    try:
        module = importlib.import_module("lerobot.datasets.lerobot_dataset")
        cls = module.LeRobotDataset
    except (ImportError, AttributeError) as exc:
        raise missing("lerobot.datasets.lerobot_dataset.LeRobotDataset") from exc
    return cls(repo_id=f"local/{root.name}", root=root, video_backend=video_backend)


def lerobot_v21_converter() -> Any:
    """LeRobot's ``convert_dataset(repo_id, root=PARENT, push_to_hub=...)`` function of this release."""
    for name in LEROBOT_CONVERTER_MODULES:
        try:
            return importlib.import_module(name).convert_dataset
        except (ImportError, AttributeError):
            continue
    raise missing("v2.1 -> v3.0 converter (" + " or ".join(LEROBOT_CONVERTER_MODULES) + ")")


def action_dim(dataset: Any) -> int:
    """The width of the action of a LeRobotDataset (its metadata's features)."""
    return int(dataset.meta.features["action"]["shape"][0])


def open_dataset(
    root: Path, episodes: list[int] | None, policy_config: Any, video_backend: str = "pyav"
) -> Any:
    """The local v3.0 dataset at ``root`` restricted to ``episodes``, with the frames the policy reads
    (``delta_timestamps`` from its config, as ``make_dataset`` builds them), no image augmentation."""
    force_offline()
    try:
        from lerobot.datasets.factory import resolve_delta_timestamps
        from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata
    except ImportError as exc:
        raise missing("lerobot.datasets.factory.resolve_delta_timestamps") from exc
    root = Path(root)
    meta = LeRobotDatasetMetadata(f"local/{root.name}", root=root)
    return LeRobotDataset(
        f"local/{root.name}",
        root=root,
        episodes=episodes,
        delta_timestamps=resolve_delta_timestamps(policy_config, meta),
        video_backend=video_backend,
    )


def dataset_camera_keys(dataset: Any) -> list[str]:
    return list(dataset.meta.camera_keys)


def dataset_video_keys(dataset: Any) -> list[str]:
    """The camera keys stored as video (decoding them is what data-loader workers are for)."""
    return list(getattr(dataset.meta, "video_keys", []) or [])


def dataset_action_mean(dataset: Any) -> Any:
    """The dataset's mean action (its stats, dataset units) as a numpy array, or None."""
    import numpy as np

    stats = getattr(dataset.meta, "stats", None) or {}
    mean = (stats.get("action") or {}).get("mean")
    return None if mean is None else np.asarray(mean, dtype=np.float64).reshape(-1)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Batch dataset items as LeRobot's dataloader does."""
    try:
        from lerobot.utils.collate import lerobot_collate_fn

        return lerobot_collate_fn(items)
    except ImportError:  # 0.4.x: the torch default
        from torch.utils.data import default_collate

        return default_collate(items)


def prepare_batch(batch: dict[str, Any], camera_keys: list[str]) -> dict[str, Any]:
    """What the train loop does to a batch before the preprocessor (0.6.x: uint8 camera frames -> [0, 1])."""
    import torch

    batch = dict(batch)
    for key in camera_keys:
        if key in batch and getattr(batch[key], "dtype", None) == torch.uint8:
            batch[key] = batch[key].to(dtype=torch.float32) / 255.0
    return batch
