"""LeRobot's dataset tools pick a video decoder that loads here: LeRobot 0.4.x defaults to torchcodec whenever
the package is installed, also without system FFmpeg libraries, and then dies at the first frame
(e.g. ``lerobot-dataset-viz``, which has no backend flag). With the plugin the default falls back to pyav,
saying so; the frame decodes."""

from __future__ import annotations

import json

from conftest import FIXTURES, run_cli

PROBE = """
import json, sys
import lerobot.datasets.video_utils as video_utils
# LeRobot 0.4.x/0.5.x choose their default through get_safe_default_codec; 0.6.x fall back by themselves.
choose = getattr(video_utils, "get_safe_default_codec", None)
backend = choose() if choose else None
frames = video_utils.decode_video_frames(sys.argv[1], [0.0], 1e-4, *([backend] if backend else []))
print(json.dumps({"backend": backend or "LeRobot's own choice", "shape": list(frames.shape)}))
"""


def test_default_decoder_is_one_that_loads(tmp_path) -> None:
    video = next((FIXTURES / "v21_video/videos").rglob("*.mp4"))
    proc = run_cli("-c", PROBE, str(video))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["shape"][0] == 1 and result["shape"][1] == 3, result
    from lerobot_local import compat

    if compat.torchcodec_loads() is not None and result["backend"] != "LeRobot's own choice":
        assert result["backend"] == "pyav"  # this machine cannot load torchcodec: we fell back, and said so
        off = run_cli("-c", PROBE, str(video), env={"LEROBOT_LOCAL_DISABLE": "1"})
        if "torchcodec" in off.stdout + off.stderr:  # LeRobot alone picks torchcodec and fails (0.4.x)
            assert off.returncode != 0
            assert "torchcodec cannot load here" in proc.stderr
