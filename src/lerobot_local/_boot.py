"""Activation, second half. ``lerobot_local_activate.pth`` (run by ``site`` at every interpreter start-up)
defines a tiny meta-path finder inline, so that start-up imports nothing of this package. The finder ignores
every import except the trigger modules (LeRobot's config parser and its video decoding module); then it
imports this module and calls :func:`hand_over`, which lets the module load normally and passes it to
:func:`lerobot_local.activation.on_module_imported` (which wraps ``parser.wrap`` so that LeRobot's own
training script runs our hooks, and makes the default video decoder one that loads here).
"""

import sys

TRIGGER_MODULES = ("lerobot.configs.parser", "lerobot.datasets.video_utils")


def hand_over(finder: object, fullname: str, path: object, target: object) -> object:
    """Find ``fullname`` with the other finders and run our activation right after it executes."""
    spec = None
    for other in list(sys.meta_path):
        if other is finder:
            continue
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
        from lerobot_local.activation import on_module_imported

        on_module_imported(fullname, module)

    spec.loader.exec_module = exec_module
    return spec
