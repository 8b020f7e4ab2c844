"""Logging set-up for our command-line tools, in LeRobot's format."""

from __future__ import annotations

import logging

FORMAT = "%(levelname)s %(asctime)s %(filename)s:%(lineno)d %(message)s"


def setup_logging(level: int = logging.INFO) -> None:
    """Configure the root logger once (LeRobot's ``init_logging`` format)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format=FORMAT, datefmt="%H:%M:%S")
