"""What differs between LeRobot releases in the places lerobot-local touches, read from each release's wheel.

    python scripts/compat_facts.py benchmarks/results/compat 0.4.0 0.4.1 ...

Downloads each ``lerobot==X`` wheel (no dependencies, pip cache reused) and writes ``facts-X.json`` next to
the matrix results; scripts/compat_report.py renders them as a table. The plugin handles every difference
in ``src/lerobot_local/compat/`` (the tables that differ between releases in ``compat/versions.py``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


def _read(wheel: zipfile.ZipFile, name: str) -> str:
    try:
        return wheel.read(name).decode("utf-8", errors="replace")
    except KeyError:
        return ""


def _download(release: str, download_dir: Path) -> Path:
    """The ``lerobot==release`` wheel (no dependencies; pip's cache reused)."""
    pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    subprocess.run(
        [*pip, "--python-version", "3.12", "-d", str(download_dir), f"lerobot=={release}"],
        check=True,
        capture_output=True,
    )
    return next(download_dir.glob(f"lerobot-{release}-*.whl"))


def facts(release: str, download_dir: Path) -> dict[str, object]:
    wheel_path = _download(release, download_dir)
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        train_script = _read(wheel, "lerobot/scripts/lerobot_train.py")
        train_config = _read(wheel, "lerobot/configs/train.py")
        parser = _read(wheel, "lerobot/configs/parser.py")
        metadata = _read(wheel, f"lerobot-{release}.dist-info/METADATA")
    utils = [m for m in ("lerobot/common/train_utils.py", "lerobot/utils/train_utils.py") if m in names]
    return {
        "release": release,
        "requires_python": next(
            (x.split(":", 1)[1].strip() for x in metadata.splitlines() if x.startswith("Requires-Python")),
            "?",
        ),
        "train_utils_module": utils[0].removesuffix(".py").replace("/", ".") if utils else "missing",
        "eval_field": "env_eval_freq" if "env_eval_freq" in train_config else "eval_freq",
        "train_calls_plugin_discovery": "register_third_party_plugins" in train_script,
        "parser_reads_policy_path_from_file": "extract_path_fields_from_config" in parser,
        "update_last_checkpoint_in_train": "update_last_checkpoint" in train_script,
        "extras": sorted(
            {
                line.split("extra ==")[1].strip().strip('"')
                for line in metadata.splitlines()
                if line.startswith("Requires-Dist") and "extra ==" in line
            }
            & {"smolvla", "dataset", "training"}
        ),
    }


def exact_pins(release: str, download_dir: Path) -> list[str]:
    """Distributions that ``lerobot==release`` itself pins with ``==`` (a line's constraint file must not)."""
    wheel_path = _download(release, download_dir)
    with zipfile.ZipFile(wheel_path) as wheel:
        metadata = _read(wheel, f"lerobot-{release}.dist-info/METADATA")
    pinned = []
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:") and "==" in line and "extra ==" not in line:
            pinned.append(line.split(":", 1)[1].split("==")[0].split("[")[0].strip().lower())
    return pinned


def main() -> int:
    if sys.argv[1] == "--exact-pins":  # used by compat.sh: one name per line
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(exact_pins(sys.argv[2], Path(tmp))))
        return 0
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for release in sys.argv[2:]:
            try:
                row = facts(release, Path(tmp))
            except (subprocess.CalledProcessError, StopIteration) as exc:
                row = {"release": release, "error": f"could not download the wheel ({exc})"}
            (out / f"facts-{release}.json").write_text(json.dumps(row, indent=2))
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
