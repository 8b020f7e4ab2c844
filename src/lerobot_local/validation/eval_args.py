"""The command line of ``lerobot-local eval`` (offline): its flags, LeRobot's spellings of them, the
options they make; a usage error is a ``ValueError`` naming the flag (exit code 2), bad input later an
:class:`EvalError` (exit code 1)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lerobot_local.argv import bare_booleans, bool_fields
from lerobot_local.suggest import closest

HELP = """usage: lerobot-local eval --checkpoint=DIR [options]

  --checkpoint=DIR     a checkpoint (outputs/train/RUN/checkpoints/000020), its pretrained_model folder, or a
                       run's checkpoints folder (every checkpoint is evaluated, the best one named);
                       LeRobot's --policy.path=DIR/pretrained_model works too
  --dataset_root=PATH  local v3.0 dataset (default: dataset.root of the checkpoint's train_config.json,
                       relative to where training ran); also --dataset.root=PATH
  --episodes=[3,7]     episodes to evaluate (default: the held-out episodes recorded with the checkpoint;
                       else those its train_config.json's dataset.episodes left out; all episodes when it
                       saw them all or on another dataset); also --dataset.episodes=;
                       episodes the checkpoint was trained on are marked "trained on" (not a held-out score)
  --max_samples=N      frames evaluated, evenly spaced over the episodes (default: the run's setting, or 256)
  --batch_size=N       (default: the run's validation batch size, else its training batch size)
  --seed=N             noise of stochastic policies (default: the run's validation seed, or 0)
  --device=DEV         cpu, cuda, cuda:1, mps (default: cuda when available, else cpu)
  --report_json=FILE   write the metrics as JSON
  --plots_dir=DIR      write one PNG per evaluated episode: predicted vs recorded, every joint
  --plot_episodes=N    plot only the first N evaluated episodes (default: all)
  --untrained=true     evaluate the policy's untrained initialisation instead (a reference: same config,
                       fresh weights), to see what training bought
  --untrained_reference=false
                       skip scoring the untrained initialisation for the verdict (reused from the run's
                       metrics file when it holds one for the same frames, else computed once)
  --beat_margin=0.05   a joint beats a reference when its MAE is this fraction lower (default: the run's)
  --progress=false     no progress bars
"""


# LeRobot's spelling -> ours
LEROBOT_SPELLINGS = {
    "policy.path": "checkpoint",
    "dataset.root": "dataset_root",
    "dataset.episodes": "episodes",
    "policy.device": "device",
}


class EvalError(Exception):
    """Bad input: the message names the file and the fix."""


@dataclass
class Options:
    checkpoint: Path
    dataset_root: Path | None = None
    episodes: list[int] | None = None
    max_samples: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    device: str | None = None
    report_json: Path | None = None
    plots_dir: Path | None = None
    plot_episodes: int = 0
    untrained: bool = False
    untrained_reference: bool = True
    beat_margin: float | None = None
    progress: bool = True
    _targets: list[Any] = field(default_factory=list, repr=False)


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _flags(argv: list[str]) -> dict[str, str]:
    """``--name=value`` flags, LeRobot's spellings translated; unknown names refused with the closest."""
    known = {n for n in Options.__dataclass_fields__ if not n.startswith("_")}
    flags: dict[str, str] = {}
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            raise ValueError(f"unexpected argument {arg!r} (flags are --name=value)")
        key, value = arg[2:].split("=", 1)
        name = LEROBOT_SPELLINGS.get(key, key)
        if name not in known:
            matches = closest(key, known | set(LEROBOT_SPELLINGS))
            hint = f"; did you mean {' or '.join('--' + m for m in matches)}?" if matches else ""
            raise ValueError(f"unknown flag --{key}{hint}")
        if name in flags and flags[name] != value:
            raise ValueError(f"--{key}={value} contradicts an earlier flag for the same setting ({name})")
        flags[name] = value
    return flags


def parse_args(argv: list[str]) -> Options:
    flags = _flags(bare_booleans(argv, bool_fields(Options)))  # --untrained = --untrained=true
    if "checkpoint" not in flags:
        raise ValueError("--checkpoint=DIR (or LeRobot's --policy.path=DIR/pretrained_model) is required")
    # the user's relative paths are relative to where eval runs (the checkpoint's own ones are not)
    opts = Options(checkpoint=Path(flags["checkpoint"]).expanduser().absolute())
    for name in ("dataset_root", "report_json", "plots_dir"):
        if name in flags:
            setattr(opts, name, Path(flags[name]).expanduser().absolute())
    for name in ("max_samples", "batch_size", "seed", "plot_episodes"):
        if name in flags:
            setattr(opts, name, int(flags[name]))
    if "episodes" in flags:
        episodes = json.loads(flags["episodes"])
        if not isinstance(episodes, list) or not all(isinstance(e, int) for e in episodes):
            raise ValueError("--episodes must be a JSON list of episode indices, e.g. --episodes=[0,3]")
        opts.episodes = episodes
    opts.device = flags.get("device")
    opts.untrained = _bool(flags.get("untrained", "false"))
    opts.untrained_reference = _bool(flags.get("untrained_reference", "true"))
    if "beat_margin" in flags:
        opts.beat_margin = float(flags["beat_margin"])
        if not 0 <= opts.beat_margin < 1:
            raise ValueError(f"--beat_margin={opts.beat_margin} must be a fraction in [0, 1), e.g. 0.05")
    opts.progress = _bool(flags.get("progress", "true"))
    return opts
