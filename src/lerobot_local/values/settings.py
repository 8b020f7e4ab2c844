"""Thresholds of the value checks: ``lerobot_local.values`` in a train config, ``--values.*`` for
``lerobot-local check``. Kept free of other lerobot-local imports so that ``settings.py`` can nest it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ValueCheckSettings:
    # Run the value checks (one pass over the numeric columns of data/*.parquet).
    enabled: bool = True
    # Features to check; empty: every float feature except timestamp (observation.state, action, ...).
    features: list[str] = field(default_factory=list)
    # Warn when an episode starts or ends with more than this many seconds of frames identical to its
    # first/last frame (state and action). Real recordings often rest a second at the start.
    max_idle_s: float = 1.0
    # Two frames are "identical" when every value differs by at most this fraction of the joint's range.
    idle_tolerance: float = 0.002
    # A change is a jump when it exceeds jump_factor x the joint's 90th percentile change AND
    # jump_min_fraction x the joint's range over the dataset (encoder wrap, dropped serial packet)
    # (measured between a sensor's updates when it is streamed below the dataset fps), and is a spike
    # (there and back) or a shift larger than the joint travels in any other episode.
    jump_factor: float = 8.0
    jump_min_fraction: float = 0.25
    # No change below max(noise_floor, noise_fraction x the feature's median joint range) is motion:
    # sensor noise and quantisation (e.g. 0.0002 rad on a still arm, 0.022 degree encoder ticks).
    noise_floor: float = 1e-3
    noise_fraction: float = 0.02
    # Frozen frames: at least this many rows in a row repeat state and action exactly, then a catch-up
    # step of frozen_catch_up x the joint's usual change follows (the robot moved on meanwhile).
    frozen_min_frames: int = 5
    frozen_catch_up: float = 3.0
    # Warn when a state joint stays at its dataset min or max for this many seconds in a row inside an
    # episode while its action moves on (saturation).
    saturation_s: float = 1.0
    # Warn when the gripper of an episode travels less than this fraction of its range over the dataset.
    gripper_min_fraction: float = 0.05
    # Index of the gripper in state/action; -1: the dataset profile's, else every joint named "gripper".
    gripper_index: int = -1
    # meta/stats.json (or episodes_stats.jsonl) disagrees when a value is off by more than this fraction
    # of the joint's std (at least of its noise floor): what moves the normalised values materially.
    stats_tolerance: float = 0.25
    # Findings listed per row of the table (all of them are in --report_json).
    max_listed: int = 3
