"""Activation, second half. ``lerobot_local_activate.pth`` (run by ``site`` at every interpreter start-up)
defines a tiny meta-path finder inline, so that start-up imports nothing of this package. The finder ignores
every import except ``lerobot.configs.parser``; then it imports this module and calls :func:`hand_over`,
which lets LeRobot's parser load normally and passes it to :mod:`lerobot_local.activation`, which wraps
``parser.wrap`` so that LeRobot's own training script runs our hooks.
"""

import sys

TRIGGER_MODULE = "lerobot.configs.parser"


def hand_over(finder: object, fullname: str, path: object, target: object) -> object:
    """Find ``fullname`` with the other finders and run our activation right after it executes."""
    if finder in sys.meta_path:
        sys.meta_path.remove(finder)
    spec = None
    for other in list(sys.meta_path):
        find = getattr(other, "find_spec", None)
        if find is not None:
            spec = find(fullname, path, target)
            if spec is not None:
                break
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return spec
    load = spec.loader.exec_module

    def exec_module(module: object) -> None:
        load(module)
        from lerobot_local.activation import on_parser_imported

        on_parser_imported(module)

    spec.loader.exec_module = exec_module
    return spec
