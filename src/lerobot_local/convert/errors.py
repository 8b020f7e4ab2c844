"""Errors raised for bad converter input: one sentence naming the file, the problem and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class ConversionError(Exception):
    """The dataset cannot be converted as it is; the message says which file, what is wrong and the fix."""

    def __init__(self, path: Path | str | None, problem: str, fix: str) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        self.fix = fix
        where = f"{self.path}: " if self.path else ""
        super().__init__(f"{where}{problem}; {fix}")


@dataclass(frozen=True)
class Problem:
    """One problem found while scanning a source: its group (for the listing), episode (if any), error."""

    group: str
    error: ConversionError
    episode: int | None = None
    episodes: tuple[int, ...] = ()  # a problem of several episodes (a check row): every one of them
    camera: str | None = None  # the camera whose file this is (--drop_features=CAMERA converts without it)

    @property
    def all_episodes(self) -> tuple[int, ...]:
        return ((self.episode,) if self.episode is not None else ()) + self.episodes


class ConversionProblems(ConversionError):
    """Every problem a scan found at once: the first line says how many, then one line each, grouped.

    ``path``/``problem`` are the first problem's; ``fix`` is the flag that converts the rest, when every
    problem belongs to an episode, else the first problem's fix.
    """

    def __init__(self, root: Path | str, problems: list[Problem], hint: str | None = None) -> None:
        self.root = str(root)
        self.problems = list(problems)
        self.hint = hint
        first = self.problems[0].error
        self.path, self.problem = first.path, first.problem
        self.fix = hint or first.fix
        Exception.__init__(self, self.render())

    @property
    def episodes(self) -> list[int]:
        """The episodes the problems belong to (sorted, each once)."""
        return sorted({e for p in self.problems for e in p.all_episodes})

    def groups(self) -> dict[str, list[Problem]]:
        grouped: dict[str, list[Problem]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.group, []).append(problem)
        return grouped

    def render(self) -> str:
        n, episodes = len(self.problems), self.episodes
        where = f" in {len(episodes)} episode(s)" if episodes else ""
        lines = [f"{n} problem{'s' if n != 1 else ''}{where} of {self.root}:"]
        for group, members in self.groups().items():
            lines.append(f"  {group} ({len(members)}):")
            lines.extend(f"    {member.error}" for member in members)
        if self.hint:
            lines.append(f"  {self.hint}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "problems": len(self.problems),
            "episodes": self.episodes,
            "groups": {
                group: [
                    {
                        "episode": p.episode,
                        "episodes": list(p.all_episodes),
                        "file": p.error.path,
                        "problem": p.error.problem,
                        "fix": p.error.fix,
                    }
                    for p in members
                ]
                for group, members in self.groups().items()
            },
            "hint": self.hint,
        }
