"""Logging for lerobot-local, in LeRobot's format, independent of how (or whether) LeRobot set up logging."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(levelname)s %(asctime)s %(filename)s:%(lineno)d %(message)s"
LOGGER_NAME = "lerobot_local"


def setup_logging(level: int = logging.INFO) -> None:
    """Give the ``lerobot_local`` logger its own stderr handler once (LeRobot resets the root logger)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
