"""The one result type every check returns, and the table that renders a list of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Severity = Literal["ok", "warning", "error", "skipped"]
SEVERITY_ORDER = {"ok": 0, "skipped": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: ``name`` is stable (used to override severities), ``fix`` says what to do,
    ``episodes`` the episodes it flags (the exclusion flag leaves them out), ``details`` every finding
    behind the row (for ``--report_json``; the message lists the first few)."""

    name: str
    severity: Severity
    message: str
    fix: str = ""
    episodes: tuple[int, ...] = ()
    details: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def apply_severity(results: list[CheckResult], overrides: dict[str, str]) -> list[CheckResult]:
    """The results with the user's severity overrides (``{name or family: error|warning|off}``) applied."""
    adjusted = []
    for r in results:
        override = overrides.get(r.name) or overrides.get(r.name.split(":")[0])
        if override == "off":
            continue
        if override in ("error", "warning") and r.severity in ("error", "warning"):
            r = replace(r, severity=override)
        adjusted.append(r)
    return adjusted


def worst(results: list[CheckResult]) -> Severity:
    """Return the most severe severity among ``results`` (``ok`` for none)."""
    return max((r.severity for r in results), key=SEVERITY_ORDER.__getitem__, default="ok")


def render_table(results: list[CheckResult], title: str = "lerobot-local checks") -> str:
    """Render results as a plain-text table, one row per check, fixes indented below failing rows."""
    width = max([len(r.name) for r in results] + [5])
    lines = [f"{title}", f"  {'check':<{width}}  {'status':<7}  message"]
    lines.append("  " + "-" * (width + 2 + 7 + 2 + 40))
    for r in results:
        lines.append(f"  {r.name:<{width}}  {r.severity.upper():<7}  {r.message}")
        if r.fix and r.severity in ("warning", "error"):
            lines.append(f"  {'':<{width}}  {'':<7}  fix: {r.fix}")
    counts = {s: sum(r.severity == s for r in results) for s in ("ok", "warning", "error", "skipped")}
    lines.append("  " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return "\n".join(lines)


def flagged_episodes(results: list[CheckResult]) -> list[int]:
    """The episodes that the warning and error rows flag (sorted, each once)."""
    return sorted({e for r in results if r.severity in ("warning", "error") for e in r.episodes})
