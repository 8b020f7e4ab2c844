"""Interpreter start-up hook, imported by ``lerobot_local_activate.pth``.

It only puts a one-shot finder at the front of ``sys.meta_path``. The finder ignores every import except
``lerobot.configs.parser``; when LeRobot imports that module, the finder lets it load normally and then hands
it to :mod:`lerobot_local.activation`, which wraps ``parser.wrap`` so that LeRobot's own training script runs
our hooks. Programs that never import LeRobot pay for one small module import and nothing else.
"""

import sys

TRIGGER_MODULE = "lerobot.configs.parser"


class _LeRobotParserFinder:
    """Meta-path finder that fires once, when ``lerobot.configs.parser`` is first imported."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TRIGGER_MODULE:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if find is not None:
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def exec_module(module) -> None:
            load(module)
            from lerobot_local.activation import on_parser_imported

            on_parser_imported(module)

        spec.loader.exec_module = exec_module
        return spec


def install() -> None:
    """Install the finder unless it is already installed or LeRobot's parser is already imported."""
    if TRIGGER_MODULE in sys.modules:
        return
    if not any(isinstance(f, _LeRobotParserFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LeRobotParserFinder())


install()
