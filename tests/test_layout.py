"""The house rules that a reader of the code relies on, checked on the source itself: imports go down the
layers that DEVELOPERS.md draws (the test reads its table) and never run in a circle at module level, only
the compat package imports LeRobot, and only dataset.py builds a dataset path."""

from __future__ import annotations

import ast
import re

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


DEVELOPERS = REPO / "DEVELOPERS.md"
LAYERS_BEGIN, LAYERS_END = "<!-- layers: begin", "<!-- layers: end -->"
# An import up the layers that stays, as (importer, imported): its reason. Empty: none stays.
UP_IMPORTS_ALLOWED: dict[tuple[str, str], str] = {}


def _layers() -> list[tuple[str, list[str]]]:
    """DEVELOPERS.md's layer table, top row first: (layer, module names without ``lerobot_local.``)."""
    text = DEVELOPERS.read_text()
    table = text[text.index(LAYERS_BEGIN) : text.index(LAYERS_END)]
    rows = []
    for line in table.splitlines()[1:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("layer", "---"):
            continue
        rows.append((cells[0], re.findall(r"`([\w.]+)`", cells[1])))
    return rows


def _layer_of(module: str, layers: list[tuple[str, list[str]]]) -> int | None:
    """The row (0 = top) that names ``module`` or its longest named prefix; None when no row does."""
    name = module.removeprefix("lerobot_local").lstrip(".") or "__init__"
    best: tuple[int, int] | None = None  # (prefix length, row)
    for row, (_, names) in enumerate(layers):
        for named in names:
            if (name == named or name.startswith(named + ".")) and (best is None or len(named) > best[0]):
                best = (len(named), row)
    return None if best is None else best[1]


def _own_imports(name: str, tree: ast.Module, trees: dict[str, ast.Module]) -> list[tuple[str, int]]:
    """Every lerobot_local module ``name`` imports, at module level or inside a function, with its line.

    ``if TYPE_CHECKING:`` blocks are skipped: they run nothing and load nothing, so they make no dependency
    between layers; ``hookspecs`` (base) names there the facts and settings its hooks hand plugins, the
    contract written where the hook is declared, while the plugin manager that loads it must stay
    importable by the registries below the facts.
    """
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    package = name if name in trees and _is_package(name) else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                target = full if full in trees else base
                if target in trees:
                    found.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name
                while target and target not in trees:
                    target = target.rpartition(".")[0]
                if target:
                    found.append((target, node.lineno))
    return found


def _is_package(name: str) -> bool:
    return (PACKAGE.joinpath(*name.split(".")[1:]) / "__init__.py").exists()


def test_every_module_has_a_layer() -> None:
    layers = _layers()
    assert layers[0][0] == "entry points" and len(layers) >= 5, layers
    unplaced = [name for name in _modules() if _layer_of(name, layers) is None]
    assert not unplaced, f"modules DEVELOPERS.md's layer table does not place: {unplaced}"
    named = [name for _, names in layers for name in names]
    assert len(named) == len(set(named)), f"a module in two rows: {named}"


def test_imports_go_down_the_layers() -> None:
    """No import of a lerobot_local module, at module level or in a function, runs up a row of the table."""
    layers, trees = _layers(), _modules()
    up = []
    for name, tree in trees.items():
        for target, line in _own_imports(name, tree, trees):
            mine, theirs = _layer_of(name, layers), _layer_of(target, layers)
            if mine is None or theirs is None or theirs >= mine or (name, target) in UP_IMPORTS_ALLOWED:
                continue
            up.append(f"{name}:{line} ({layers[mine][0]}) imports {target} ({layers[theirs][0]})")
    assert not up, "imports up the layers of DEVELOPERS.md:\n" + "\n".join(sorted(set(up)))


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
                and not name.startswith("lerobot_local.compat.")
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert not offenders, f"LeRobot imported outside lerobot_local.compat: {offenders}"


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
