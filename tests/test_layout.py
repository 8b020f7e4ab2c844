"""The house rules that a reader of the code relies on, checked on the source itself: imports never run in a
circle at module level, only compat.py imports LeRobot, and only dataset.py builds a dataset path."""

from __future__ import annotations

import ast

import pytest

from conftest import REPO

pytestmark = pytest.mark.any_line
PACKAGE = REPO / "src" / "lerobot_local"
LAYOUT_NAMES = ("meta", "info.json", "stats.json", "episodes.jsonl", "episodes_stats.jsonl", "tasks.jsonl")


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(("lerobot_local", *path.relative_to(PACKAGE).with_suffix("").parts))
        trees[name.removesuffix(".__init__")] = ast.parse(path.read_text(), str(path))
    return trees


def _top_level_imports(tree: ast.Module) -> set[str]:
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_no_import_circle_at_module_level() -> None:
    trees = _modules()
    graph = {
        name: {m for m in _top_level_imports(tree) if m in trees and m != name}
        for name, tree in trees.items()
    }
    circles = []

    def visit(node: str, path: list[str], done: set[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in done:
                done.add(nxt)
                visit(nxt, [*path, nxt], done)

    for name in graph:
        visit(name, [name], {name})
    assert not circles, circles


def test_only_compat_imports_lerobot() -> None:
    offenders = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            if (
                any(m == "lerobot" or m.startswith("lerobot.") for m in modules)
                and name != "lerobot_local.compat"
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert not offenders, f"LeRobot imported outside compat.py: {offenders}"


def test_only_the_dataset_module_builds_a_dataset_path() -> None:
    """``root / "meta" / "info.json"`` and the like: the dataset module's constants say each path once."""
    offenders = []
    for name, tree in _modules().items():
        if name in ("lerobot_local.dataset", "lerobot_local.demo.synthetic_v21"):
            continue  # the layout itself; the demo writer of v2.1 files (a recorder, not a reader)
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                for side in (node.left, node.right):
                    literal = side.value if isinstance(side, ast.Constant) else None
                    if isinstance(literal, str) and literal.split("/")[0] in LAYOUT_NAMES:
                        offenders.append(f"{name}:{node.lineno} ({literal!r})")
    assert not offenders, f"dataset paths built outside lerobot_local/dataset.py: {offenders}"
