"""Where this process sits in a launch (torchrun, ``python -m torch.distributed.run``, accelerate), read from
the launcher's environment variables before torch.distributed starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Launch:
    """Where this process sits in a launch (torchrun, ``python -m torch.distributed.run``, accelerate)."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    node_rank: int
    num_nodes: int
    store_host: str | None  # the launcher's own key-value store (torchrun's agent TCPStore), if any
    store_port: int | None
    run_key: str  # the same in every process of one launch (and one restart of it)

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_local_main(self) -> bool:
        return self.local_rank == 0


def launch() -> Launch:
    """Read the launcher's environment variables (set before torch.distributed starts)."""
    env = os.environ

    def number(name: str, default: int) -> int:
        try:
            return int(env.get(name, "") or default)
        except ValueError:
            return default

    world = number("WORLD_SIZE", 1)
    local_world = number("LOCAL_WORLD_SIZE", world)
    # torchrun's agent store at MASTER_ADDR:MASTER_PORT (--master_port=0 exports port 0: not reachable)
    agent_store = (
        env.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
        and bool(env.get("MASTER_ADDR"))
        and number("MASTER_PORT", 0) > 0
    )
    run_key = "-".join(
        (
            env.get("TORCHELASTIC_RUN_ID", "none"),
            env.get("TORCHELASTIC_RESTART_COUNT", "0"),
            env.get("MASTER_PORT", "0"),
        )
    )
    return Launch(
        rank=number("RANK", number("LOCAL_RANK", 0)),
        world_size=world,
        local_rank=number("LOCAL_RANK", 0),
        local_world_size=local_world,
        node_rank=number("GROUP_RANK", number("NODE_RANK", 0)),
        num_nodes=number("GROUP_WORLD_SIZE", max(1, world // max(local_world, 1))),
        store_host=env.get("MASTER_ADDR") if agent_store else None,
        store_port=number("MASTER_PORT", 0) if agent_store else None,
        run_key=run_key,
    )


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process as set by accelerate/torchrun, before torch.distributed starts."""
    found = launch()
    return found.rank, found.world_size


def launch_key() -> str:
    """A key shared by every process of one launch on this host (run id, launcher pid, port)."""
    return f"{launch().run_key}-{os.getppid()}"
