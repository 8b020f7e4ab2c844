"""Errors raised for bad converter input: one sentence naming the file, the problem and the fix."""

from __future__ import annotations

from pathlib import Path


class ConversionError(Exception):
    """The dataset cannot be converted as it is; the message says which file, what is wrong and the fix."""

    def __init__(self, path: Path | str | None, problem: str, fix: str) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        self.fix = fix
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}; {fix}")
