"""Video decoding in LeRobot: torchcodec, its FFmpeg, and the pyav fallback.

Whether torchcodec loads here, LeRobot 0.4's default decoder made to fall back to pyav, LeRobot 0.6's fallback
report in one line, and torchcodec in the data-loader workers on the FFmpeg that PyAV's wheel bundles
(``lerobot_local.sizing`` decides, ``tests/test_fast_video.py`` proves the frames equal).
"""

from __future__ import annotations

import logging
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any


@cache
def torchcodec_loads() -> str | None:
    """None when torchcodec's decoder loads in this environment, else why not (e.g. no FFmpeg libraries)."""
    try:
        from torchcodec.decoders import VideoDecoder  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    return None


# LeRobot 0.6.x, choosing the default of dataset.video_backend, logs torchcodec's whole loading report (one
# traceback per FFmpeg version it tried) before it falls back to pyav; that burying of the run's own messages
# is cut to one line.
TORCHCODEC_FALLBACK_LOGGER = "lerobot.utils.import_utils"
TORCHCODEC_FALLBACK_TEXT = "'torchcodec' is installed but cannot be loaded"


class _TorchcodecFallbackInOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True
        if TORCHCODEC_FALLBACK_TEXT not in text:
            return True
        if "Could not load libtorchcodec" in text:
            why = "it found none of the FFmpeg libraries it supports, versions 4 to 8"
        else:
            why = next((line.strip() for line in text.splitlines() if line.strip()), "")[:160]
        record.msg = (
            "torchcodec cannot load here (%s); LeRobot decodes videos with pyav instead "
            "(--dataset.video_backend=pyav says so and skips this try)"
        )
        record.args = (why,)
        record.exc_info = record.exc_text = None
        return True


def quiet_torchcodec_fallback() -> None:
    """Turn LeRobot's torchcodec fallback report into one line (see :data:`TORCHCODEC_FALLBACK_TEXT`)."""
    logger = logging.getLogger(TORCHCODEC_FALLBACK_LOGGER)
    if not any(isinstance(f, _TorchcodecFallbackInOneLine) for f in logger.filters):
        logger.addFilter(_TorchcodecFallbackInOneLine())


def make_default_video_backend_loadable(video_utils: Any) -> None:
    """LeRobot 0.4.x picks torchcodec as its default decoder whenever the package is installed, also where
    its libraries cannot load (no system FFmpeg): its dataset tools then die at the first frame. Wrap
    ``get_safe_default_codec`` so that it falls back to pyav, saying so, when torchcodec cannot load."""
    use_torchcodec_for_pyav(video_utils)  # data workers of a lerobot-local run only (WORKER_DECODER_ENV)
    original = getattr(video_utils, "get_safe_default_codec", None)
    if original is None or getattr(original, "__lerobot_local__", False):
        return

    def get_safe_default_codec() -> str:
        chosen = original()
        if chosen == "torchcodec":
            why = torchcodec_loads()
            if why is not None:
                import logging

                logging.getLogger("lerobot_local").warning(
                    "lerobot-local: torchcodec cannot load here (%s); LeRobot decodes videos with pyav "
                    "instead (set video_backend explicitly to choose)",
                    why[:160],
                )
                return "pyav"
        return chosen

    get_safe_default_codec.__lerobot_local__ = True
    get_safe_default_codec.__wrapped__ = original
    video_utils.get_safe_default_codec = get_safe_default_codec


# Set by lerobot-local in the training process (see lerobot_local.sizing) before LeRobot starts its data
# workers; a worker started with it (and with PyAV's FFmpeg on LD_LIBRARY_PATH) decodes the videos of a
# ``pyav`` dataset with LeRobot's own torchcodec decoder instead: the same frames (tests/test_fast_video.py),
# about twice as many per second. The main process, which started before, keeps LeRobot's pyav decoder.
WORKER_DECODER_ENV = "LEROBOT_LOCAL_WORKER_DECODER"
FFMPEG_LIBRARIES = ("avutil", "swresample", "swscale", "avcodec", "avformat", "avfilter", "avdevice")
# LeRobot's DataLoader start method per line: 0.6.x spawns its workers (a fresh interpreter, which reads
# LD_LIBRARY_PATH at start-up); 0.4.x/0.5.x fork them from the training process (which read it before).
SPAWN_CONTEXTS = ("spawn", "forkserver")


def dataloader_start_method(config: Any) -> str:
    """How LeRobot will start the data-loader workers of this run: ``spawn``, ``forkserver`` or ``fork``."""
    context = getattr(config, "dataloader_multiprocessing_context", None)
    return str(context) if context else "fork"


def pyav_ffmpeg_library_path(cache_dir: Path) -> str | None:
    """An LD_LIBRARY_PATH under which torchcodec finds the FFmpeg that PyAV's wheel bundles, or None.

    torchcodec links FFmpeg by its usual names (``libavutil.so.59``); PyAV's wheel ships the same libraries
    renamed (``av.libs/libavutil-<hash>.so.59.x``). ``cache_dir`` gets a folder of symbolic links with the
    usual names (written once per PyAV build, atomically), placed ahead of ``av.libs`` on the path.
    """
    try:
        import av
    except ImportError:
        return None
    libs = Path(av.__file__).resolve().parent.parent / "av.libs"
    found = {name: sorted(libs.glob(f"lib{name}-*.so.*")) for name in FFMPEG_LIBRARIES}
    if not libs.is_dir() or not all(found.values()):
        return None
    links = Path(cache_dir) / f"ffmpeg-from-pyav-{getattr(av, '__version__', 'x')}"
    if not links.is_dir():
        tmp = links.parent / f".{links.name}.tmp-{os.getpid()}"
        tmp.mkdir(parents=True, exist_ok=True)
        for name, files in found.items():
            lib = files[0]
            major = lib.name.split(".so.")[1].split(".")[0]
            (tmp / f"lib{name}.so.{major}").symlink_to(lib)
        try:
            tmp.rename(links)
        except OSError:  # another process of the launch made it first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return f"{links}:{libs}"


def torchcodec_loads_with(env: dict[str, str]) -> str | None:
    """None when torchcodec's decoder loads in a fresh interpreter with ``env``, else why not."""
    import subprocess

    probe = "from torchcodec.decoders import VideoDecoder"
    try:
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode == 0:
        return None
    lines = [x for x in done.stderr.strip().splitlines() if x.strip()]
    return lines[-1][:200] if lines else f"exit code {done.returncode}"


def use_torchcodec_for_pyav(video_utils: Any) -> bool:
    """In a data worker started with ``WORKER_DECODER_ENV=torchcodec``: decode LeRobot's ``pyav``
    videos with its torchcodec decoder (same frames), when torchcodec loads here; depth maps stay with pyav.
    True when it did."""
    if os.environ.get(WORKER_DECODER_ENV) != "torchcodec":
        return False
    pyav = getattr(video_utils, "decode_video_frames_pyav", None)
    torchcodec = getattr(video_utils, "decode_video_frames_torchcodec", None)
    if pyav is None or torchcodec is None or getattr(pyav, "__lerobot_local__", False):
        return False
    if torchcodec_loads() is not None:
        return False  # the process was not started with PyAV's FFmpeg on its path: LeRobot's pyav stays

    def decode_video_frames_pyav(video_path, timestamps, tolerance_s, *args, **kwargs):
        if kwargs.get("is_depth") or args or kwargs.get("log_loaded_timestamps"):
            return pyav(video_path, timestamps, tolerance_s, *args, **kwargs)
        return torchcodec(video_path, timestamps, tolerance_s, return_uint8=kwargs.get("return_uint8", False))

    decode_video_frames_pyav.__lerobot_local__ = True
    decode_video_frames_pyav.__wrapped__ = pyav
    video_utils.decode_video_frames_pyav = decode_video_frames_pyav
    return True
