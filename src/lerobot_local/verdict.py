"""One verdict for a whole distributed job, shared without a shared filesystem.

Every node's local main process runs the before-train checks on its own dataset copy and disk and publishes
its node's verdict; every process of every node waits until all nodes passed, and stops as soon as one
failed, naming the node and the reason. The verdicts travel through the launcher's own key-value store
(torchrun's agent ``TCPStore`` at ``MASTER_ADDR:MASTER_PORT``, used by torchrun, ``python -m
torch.distributed.run`` and ``accelerate launch``). A launcher without that store falls back to a file in
the temporary directory, which works on one host only (and says so).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from lerobot_local import compat

logger = logging.getLogger("lerobot_local")
TIMEOUT_S = float(os.environ.get("LEROBOT_LOCAL_VERDICT_TIMEOUT_S", "3600"))
POLL_S = 0.2


@dataclass(frozen=True)
class NodeVerdict:
    node: int
    ok: bool
    message: str
    host: str = ""

    def describe(self) -> str:
        return f"node {self.node} ({self.host})" if self.host else f"node {self.node}"


class VerdictBoard:
    """Where the nodes' verdicts of one launch are published and read."""

    def __init__(self, launch: compat.Launch) -> None:
        self.launch = launch
        self._store = self._connect(launch)
        if self._store is None:
            logger.warning(
                "lerobot-local: this launcher has no torchrun agent store (TORCHELASTIC_USE_AGENT_STORE); "
                "the check verdict is shared through %s, which works only when every process is on this host",
                self._file(0).parent,
            )

    @staticmethod
    def _connect(launch: compat.Launch) -> Any:
        if not launch.store_host or not launch.store_port:
            return None
        from torch.distributed import TCPStore

        return TCPStore(
            launch.store_host,
            launch.store_port,
            is_master=False,
            timeout=timedelta(seconds=60),
            wait_for_workers=False,
        )

    def _key(self, node: int) -> str:
        return f"lerobot_local/verdict/{self.launch.run_key}/node{node}"

    def _file(self, node: int) -> Path:
        return (
            Path(tempfile.gettempdir()) / "lerobot-local-verdicts" / f"{compat.launch_key()}-node{node}.json"
        )

    def publish(self, ok: bool, message: str) -> None:
        """Publish this node's verdict (called by the node's local main process)."""
        value = json.dumps({"ok": ok, "message": message, "host": socket.gethostname(), "time": time.time()})
        if self._store is not None:
            self._store.set(self._key(self.launch.node_rank), value)
            return
        path = self._file(self.launch.node_rank)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(value)
        os.replace(tmp, path)

    def _read(self, node: int, started: float) -> NodeVerdict | None:
        if self._store is not None:
            if not self._store.check([self._key(node)]):
                return None
            data = json.loads(self._store.get(self._key(node)))
        else:
            path = self._file(node)
            if not path.is_file():
                return None
            data = json.loads(path.read_text())
            if data.get("time", 0) < started - 600:  # a verdict left by an earlier launch
                return None
        return NodeVerdict(node, bool(data["ok"]), str(data.get("message", "")), str(data.get("host", "")))

    def wait_for_job(self, started: float) -> list[NodeVerdict]:
        """Every node's verdict once all are in, or as soon as one failed (that one first)."""
        nodes = range(self.launch.num_nodes)
        while time.time() - started < TIMEOUT_S:
            seen = [v for v in (self._read(n, started) for n in nodes) if v is not None]
            failed = [v for v in seen if not v.ok]
            if failed:
                return failed + [v for v in seen if v.ok]
            if len(seen) == self.launch.num_nodes:
                return seen
            time.sleep(POLL_S)
        missing = [n for n in nodes if self._read(n, started) is None]
        return [
            NodeVerdict(n, False, f"no verdict from node {n} after {TIMEOUT_S:.0f} s (did it start?)")
            for n in missing
        ]
