"""How lerobot-local comes alive inside LeRobot's own ``lerobot-train`` (no flag, no wrapper, no fork).

``_boot`` (run from a ``.pth`` file at start-up) calls :func:`on_parser_imported` when LeRobot imports
``lerobot.configs.parser``. We replace ``parser.wrap`` by a wrapper that, for the ``train`` function of
LeRobot's training script only, (1) prepares argv (our config section, renamed fields), (2) after LeRobot
parsed the config, runs the before-train checks (main process; others wait for the verdict), and (3) wraps
the checkpoint function in the script's namespace so after-checkpoint actions run. Everything else LeRobot
decorates with ``parser.wrap`` is left untouched. ``LEROBOT_LOCAL_DISABLE=1`` turns it all off (loudly).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path
from typing import Any

from lerobot_local import compat
from lerobot_local.argv import argv_as

logger = logging.getLogger("lerobot_local")
DISABLE_ENV = "LEROBOT_LOCAL_DISABLE"
_STATE: dict[str, Any] = {}


def disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes")


TRAIN_PROGRAMS = ("lerobot-train", "lerobot_train.py", "lerobot-train.exe", "lerobot-train-script.py")


def _looks_like_training() -> bool:
    """True in LeRobot's training program (console script, ``python -m``, under torchrun/accelerate)."""
    return (Path(sys.argv[0]).name if sys.argv else "") in TRAIN_PROGRAMS


def on_module_imported(name: str, module: Any) -> None:
    """Called right after LeRobot imported one of the trigger modules (see ``_boot.TRIGGER_MODULES``)."""
    if name == "lerobot.configs.parser":
        on_parser_imported(module)
    elif not disabled():
        compat.make_default_video_backend_loadable(module)


def on_parser_imported(parser_module: Any) -> None:
    """Patch ``parser.wrap`` of the freshly imported LeRobot parser module."""
    if not disabled():
        from lerobot_local.closed_loop.render import headless_gl  # os only

        compat.quiet_torchcodec_fallback()  # before the parser builds a DatasetConfig (its default backend)
        # before LeRobot imports a MuJoCo simulator (lerobot-eval's plugin discovery): without a display
        # MuJoCo's default GLFW cannot render, and lerobot-eval films episodes by default
        _STATE["gl"] = headless_gl()
    original = getattr(parser_module, "wrap", None)
    if original is None:
        if disabled() or not _looks_like_training():
            return
        raise compat.missing("lerobot.configs.parser.wrap")
    if getattr(original, "__lerobot_local__", False):
        return
    parser_module.wrap = _make_wrap(original)


def _make_wrap(original_wrap: Any) -> Any:
    @functools.wraps(original_wrap)
    def wrap(*args: Any, **kwargs: Any) -> Any:
        outer = original_wrap(*args, **kwargs)

        def decorator(fn: Any) -> Any:
            if compat.is_train_entry(fn):
                return _guard_train(fn, outer)
            if compat.is_eval_entry(fn):
                return _guard_eval(fn, outer)
            if _looks_like_training():
                return _refuse_unrecognised(fn, outer)
            return outer(fn)

        return decorator

    wrap.__lerobot_local__ = True
    return wrap


def _refuse_unrecognised(fn: Any, outer: Any) -> Any:
    """Inside lerobot-train, an entry function we do not recognise (a LeRobot that renamed ``train``):
    calling it refuses to train unchecked, unless the plugin is disabled."""
    parsed = outer(fn)
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', fn)}"

    @functools.wraps(fn)
    def entry(*args: Any, **kwargs: Any) -> Any:
        if disabled():
            return parsed(*args, **kwargs)
        message = (
            f"lerobot-local: ERROR: lerobot-train runs {name}, which is not the training entry lerobot-local "
            f"knows for LeRobot {compat.lerobot_version()} ({compat.TRAIN_MODULE}.train), so the safety "
            "checks cannot run; refusing to train unchecked. Fix: upgrade lerobot-local "
            f"(pip install -U lerobot-local), or set {DISABLE_ENV}=1 to train without the checks"
        )
        logger.error(message)
        raise SystemExit(message)

    return entry


def _guard_eval(eval_fn: Any, outer: Any) -> Any:
    """Wrap LeRobot's ``eval_main``: Hub off, and its success count reads the env's real signal."""

    def checked_eval(cfg, *args, **kwargs):
        from lerobot_local.closed_loop.lerobot_eval import install

        said = install(eval_fn.__globals__, compat.env_type_of(cfg))
        logger.info("lerobot-local: %s", said)
        return eval_fn(cfg, *args, **kwargs)

    # LeRobot's wrap() reads the config class from the first parameter's annotation.
    checked_eval.__annotations__ = {"cfg": compat.first_param_annotation(eval_fn)}
    checked_eval.__name__ = eval_fn.__name__
    parsed = outer(checked_eval)
    plain = outer(eval_fn)

    @functools.wraps(eval_fn)
    def entry(*args: Any, **kwargs: Any) -> Any:
        if disabled():
            logger.warning(
                "lerobot-local is disabled (%s=1): offline mode is NOT forced, and success is counted as "
                "LeRobot counts it",
                DISABLE_ENV,
            )
            return plain(*args, **kwargs)
        compat.force_offline()
        logger.info("lerobot-local: Hugging Face Hub access is off for this evaluation (HF_HUB_OFFLINE=1)")
        if _STATE.get("gl"):
            logger.info("lerobot-local: no display: MuJoCo renders through MUJOCO_GL=%s", _STATE["gl"])
        return parsed(*args, **kwargs)

    return entry


def _train_interruptibly(train_fn: Any, cfg: Any, args: tuple, kwargs: dict) -> Any:
    """LeRobot's ``train``; Ctrl-C or SIGTERM ends it with one line that names the checkpoint to resume
    from and the command, and exit code 130, instead of a traceback from wherever the step was."""
    from lerobot_local.interrupts import EXIT_INTERRUPTED, run_interruptible, train_interrupted_note

    result: list[Any] = []

    def body() -> int:
        result.append(train_fn(cfg, *args, **kwargs))
        return 0

    def written() -> str:
        return train_interrupted_note(getattr(cfg, "output_dir", None))

    if run_interruptible("lerobot-train", body, written) == EXIT_INTERRUPTED and not result:
        raise SystemExit(EXIT_INTERRUPTED)
    return result[0] if result else None


def _guard_train(train_fn: Any, outer: Any) -> Any:
    """Wrap LeRobot's ``train``: prepare argv, check the parsed config, hook checkpoints, then train."""
    from lerobot_local.config_file import prepare_argv
    from lerobot_local.suggest import HeldStderr, warn_unknown_train_flags

    state: dict[str, Any] = {}

    def checked_train(cfg, *args, **kwargs):
        held = state.pop("held", None)
        if held is not None:  # LeRobot's parser accepted the command line after all
            sys.stderr = held.real
            held.release()
        from lerobot_local.facts import gather_run_facts
        from lerobot_local.runner import install_checkpoint_hook, run_before_train

        settings = state["settings"]
        facts = gather_run_facts(cfg, state["argv"], settings.validation, settings.speed.bf16)
        results = run_before_train(facts, settings)
        from lerobot_local.validation.training import install as install_validation

        install_validation(train_fn.__globals__, cfg, settings, facts, results)
        compat.apply_precision(facts.precision, cfg)
        from lerobot_local import speed

        speed.install(train_fn.__globals__, settings.speed)
        install_checkpoint_hook(train_fn.__globals__, cfg, settings)
        return _train_interruptibly(train_fn, cfg, args, kwargs)

    # LeRobot's wrap() reads the config class from the first parameter's annotation.
    checked_train.__annotations__ = {"cfg": compat.first_param_annotation(train_fn)}
    checked_train.__name__ = train_fn.__name__
    parsed = outer(checked_train)
    plain = outer(train_fn)

    @functools.wraps(train_fn)
    def entry(*args: Any, **kwargs: Any) -> Any:
        from lerobot_local.logs import setup_logging

        setup_logging()
        if disabled():
            from lerobot_local.config_file import strip_plugin_settings

            logger.warning(
                "lerobot-local is disabled (%s=1): the safety checks are OFF for this run "
                "(no Hub-push or offline protection, no checkpoint manifests)",
                DISABLE_ENV,
            )
            argv, notes = strip_plugin_settings(sys.argv[1:])
            for line in notes:
                logger.warning("lerobot-local: %s", line)
            with argv_as(argv):
                return plain(*args, **kwargs)

        compat.require_supported_lerobot()
        compat.force_offline()
        prepared = prepare_argv(sys.argv[1:])
        for line in prepared.translations:
            logger.info("lerobot-local: %s", line)
        hints = warn_unknown_train_flags(prepared.argv)  # "did you mean", before LeRobot's parser refuses
        state["settings"] = prepared.settings
        state["argv"] = prepared.argv
        if hints:  # LeRobot's usage (hundreds of lines) would bury the hint: held, shortened, hint last
            state["held"] = sys.stderr = HeldStderr(sys.stderr)
        try:
            with argv_as(prepared.argv):
                return parsed(*args, **kwargs)
        except SystemExit:
            held = state.pop("held", None)
            if held is not None:
                sys.stderr = held.real
                held.refused(hints)
            raise
        finally:
            held = state.pop("held", None)
            if held is not None:
                sys.stderr = held.real
                held.release()

    entry.__lerobot_local__ = True
    return entry
