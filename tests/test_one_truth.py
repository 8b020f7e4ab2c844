"""One truth: ``lerobot-local preflight`` and the real ``lerobot-train`` give the same check rows (name,
status) for the same command line, on every config below: each check failing once and passing,
``policy.path`` in the file and on the command line, policy overrides on the command line, resume of a good
and of a tampered checkpoint, an empty and a filled Hugging Face model cache.

Every case's rows come from preflight (in this process: the same ``cli.preflight`` the command runs) and are
asserted. The real ``lerobot-train`` (with ``lerobot-local preflight`` as a subprocess beside it) runs for
each way the facts can reach the checks: a config file that passes and trains, a config file that stops
(Hub push, dataset root missing: the network cases), a policy field and ``policy.path`` on the command line,
the Hugging Face cache (empty, filled: read when ``huggingface_hub`` is imported, so only a fresh process
sees ``HF_HOME``) and ``--resume``. The other cases differ only in the value one check reads from the same
facts; each of their stops is also seen inside ``lerobot-train`` elsewhere (test_train_hooks: v2.1 root,
existing output dir, profile; test_fail_closed: the precision row; test_resume_after_kill: a good resume)."""

from __future__ import annotations

import json
import logging
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, run_cli
from reliability_log import record
from train_helpers import tiny_act_config, train, write_config

pytestmark = pytest.mark.slow
ROW = re.compile(r"^  (\S+)\s+(OK|WARNING|ERROR|SKIPPED)\s", re.MULTILINE)
ROW_MESSAGE = re.compile(r"^  (\S+)\s+(?:OK|WARNING|ERROR|SKIPPED)\s+(.*)$", re.MULTILINE)
# Rows whose words (not only their status) must agree: what the run will do (its plan, its arithmetic, its
# held-out episodes), read from the same facts by preflight and inside lerobot-train. The disk row's free
# space and the output_dir row (a passing lerobot-train creates its output dir) may differ in time.
SAME_WORDS = ("sizing", "speed", "precision", "validation", "policy_features", "fps", "tasks", "dataset")
HUB_ID = "lab/act_grasp"
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"
PUSH = {"policy.push_to_hub": True, "policy.repo_id": "me/x"}
# ACT's default: torchvision downloads ResNet18's ImageNet weights into $TORCH_HOME/hub/checkpoints/ when the
# policy is built with an image feature (the fixture has two cameras)
IMAGENET = {"policy.pretrained_backbone_weights": "ResNet18_Weights.IMAGENET1K_V1"}
RESNET18 = "hub/checkpoints/resnet18-f37072fd.pth"
# The passing case runs with the presets' sizing (here on a CPU: the file's batch kept, the plan in samples
# and epochs said) and episodes held out: the plan counts only the training frames on both sides
FILL_GPU = {"lerobot_local.fill_gpu": True, "lerobot_local.validation": {"holdout": 0.25, "every_n_steps": 1}}


def row_words(text: str, title: str) -> dict[str, str]:
    """The first line of each SAME_WORDS row's message in the check table titled ``title``."""
    table = text.split(title, 1)[1].split("\n\n", 1)[0]
    return {name: " ".join(words.split()) for name, words in ROW_MESSAGE.findall(table) if name in SAME_WORDS}


def check_rows(text: str, title: str) -> list[tuple[str, str]]:
    """The (check, STATUS) rows of the check table titled ``title`` in a program's output."""
    assert title in text, text[-3000:]
    table = text.split(title, 1)[1]
    table = table.split("\n\n", 1)[0]
    rows = ROW.findall(table.split("  ---", 1)[1] if "  ---" in table else table)
    assert rows, table
    return rows


@pytest.fixture(scope="module")
def world(v30_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A converted dataset, a trained tiny ACT checkpoint (a local pretrained policy and a run to resume),
    its tampered copy, and a Hugging Face cache holding that policy under a Hub id."""
    base = tmp_path_factory.mktemp("truth")
    data = v30_dataset
    run = base / "run"
    cfg = write_config(base / "seed.json", tiny_act_config(data, run, steps=2))
    proc = train(f"--config_path={cfg}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    pretrained = run / "checkpoints/000002/pretrained_model"
    tampered = base / "tampered"
    shutil.copytree(run, tampered, symlinks=True)
    weights = tampered / "checkpoints/000002/pretrained_model/model.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    weights.write_bytes(bytes(blob))
    hf_home = base / "hf_filled"
    repo = hf_home / "hub" / f"models--{HUB_ID.replace('/', '--')}"
    shutil.copytree(pretrained, repo / "snapshots" / SNAPSHOT)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(SNAPSHOT)
    (base / "hf_empty").mkdir()
    (base / "torch_empty").mkdir()
    (base / "torch_filled" / RESNET18).parent.mkdir(parents=True)
    (base / "torch_filled" / RESNET18).write_bytes(b"weights")  # only its presence is checked (no training)
    return {
        "torch_empty": base / "torch_empty",
        "torch_filled": base / "torch_filled",
        "base": base,
        "data": data,
        "run": run,
        "pretrained": pretrained,
        "tampered": tampered,
        "hf_filled": hf_home,
        "hf_empty": base / "hf_empty",
    }


def _config(world: dict[str, Path], name: str, **overrides: Any) -> Path:
    config = tiny_act_config(world["data"], world["base"] / f"out_{name}", steps=1, save_freq=1)
    if "policy.path" in overrides:  # a pretrained policy brings its own type and architecture
        config["policy"] = {"device": "cpu", "push_to_hub": False}
    for dotted, value in overrides.items():
        target = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            target = target.setdefault(key, {})
        target[leaf] = value
    return write_config(world["base"] / f"{name}.json", config)


def _resume_argv(run: Path) -> list[str]:
    return ["--resume=true", f"--config_path={run / 'checkpoints/last/pretrained_model/train_config.json'}"]


def cases(world: dict[str, Path]) -> dict[str, tuple[list[str], dict[str, str], str]]:
    """name -> (command line, environment, the check whose row the case is about)."""
    empty, filled = {"HF_HOME": str(world["hf_empty"])}, {"HF_HOME": str(world["hf_filled"])}
    existing = world["base"] / "existing_out"
    existing.mkdir(exist_ok=True)
    (existing / "notes.txt").write_text("an earlier run")
    v21 = REPO / "tests/fixtures/v21_video"
    return {
        "passes": ([f"--config_path={_config(world, 'passes', **FILL_GPU)}"], empty, "sizing"),
        "hub push in the file": (
            [f"--config_path={_config(world, 'push', **PUSH)}"],
            empty,
            "hub_push",
        ),
        "hub push on the command line": (
            [
                f"--config_path={_config(world, 'push_cli')}",
                "--policy.push_to_hub=true",
                "--policy.repo_id=me/x",
            ],
            empty,
            "hub_push",
        ),
        "dataset root missing": (
            [f"--config_path={_config(world, 'noroot', **{'dataset.root': '/nonexistent/grasp'})}"],
            empty,
            "dataset",
        ),
        "dataset still v2.1": (
            [f"--config_path={_config(world, 'v21', **{'dataset.root': str(v21)})}"],
            empty,
            "dataset",
        ),
        "wandb online": (
            [f"--config_path={_config(world, 'wandb', **{'wandb.enable': True, 'wandb.mode': 'online'})}"],
            empty,
            "wandb",
        ),
        "output dir holds a run": (
            [f"--config_path={_config(world, 'clobber', output_dir=str(existing))}"],
            empty,
            "output_dir",
        ),
        "disk too small": (
            [f"--config_path={_config(world, 'disk', **{'lerobot_local.min_free_disk_gb': 1e9})}"],
            empty,
            "disk",
        ),
        "unknown profile": (
            [f"--config_path={_config(world, 'profile', **{'lerobot_local.profile': 'no_such'})}"],
            empty,
            "profile",
        ),
        "policy.path in the file": (
            [f"--config_path={_config(world, 'path_file', **{'policy.path': str(world['pretrained'])})}"],
            empty,
            "policy_features",
        ),
        "policy.path on the command line, push override": (
            [
                f"--config_path={_config(world, 'path_cli', **{'policy.path': str(world['pretrained'])})}",
                "--policy.push_to_hub=true",
                "--policy.repo_id=me/x",
            ],
            empty,
            "hub_push",
        ),
        "Hub model, empty cache": (
            [f"--config_path={_config(world, 'hub_empty', **{'policy.path': HUB_ID})}"],
            empty,
            "offline_models",
        ),
        "Hub model, filled cache": (
            [f"--config_path={_config(world, 'hub_filled', **{'policy.path': HUB_ID})}"],
            filled,
            "offline_models",
        ),
        "resume a good checkpoint": ([*_resume_argv(world["run"]), "--steps=3"], empty, "resume"),
        "resume a tampered checkpoint": ([*_resume_argv(world["tampered"]), "--steps=3"], empty, "resume"),
        "mixed precision asked": (
            [f"--config_path={_config(world, 'amp', **{'policy.use_amp': True})}", "--steps=1"],
            empty,
            "precision",
        ),
        "ImageNet backbone, empty torch cache": (
            [f"--config_path={_config(world, 'imagenet', **IMAGENET)}"],
            {**empty, "TORCH_HOME": str(world["torch_empty"])},
            "offline_models",
        ),
        "ImageNet backbone, in the torch cache": (
            [f"--config_path={_config(world, 'imagenet_here', **IMAGENET)}"],
            {**empty, "TORCH_HOME": str(world["torch_filled"])},
            "offline_models",
        ),
    }


CASE_NAMES = [
    "passes",
    "hub push in the file",
    "hub push on the command line",
    "dataset root missing",
    "dataset still v2.1",
    "wandb online",
    "output dir holds a run",
    "disk too small",
    "unknown profile",
    "policy.path in the file",
    "policy.path on the command line, push override",
    "Hub model, empty cache",
    "Hub model, filled cache",
    "resume a good checkpoint",
    "resume a tampered checkpoint",
    "mixed precision asked",
    "ImageNet backbone, empty torch cache",
    "ImageNet backbone, in the torch cache",
]
# The cases that also run the real lerobot-train (see the module docstring for why these).
TRAIN_CASES = (
    "passes",
    "hub push in the file",
    "hub push on the command line",
    "dataset root missing",
    "policy.path on the command line, push override",
    "Hub model, empty cache",
    "Hub model, filled cache",
    "resume a tampered checkpoint",
    "ImageNet backbone, empty torch cache",
)
HF_HOME_CASES = ("Hub model, empty cache", "Hub model, filled cache")  # preflight must start afresh too
# Preflight in this process for every case lerobot-train does not run, and for "passes" (where the in-process
# table is also compared with the command's and lerobot-train's: it is the command's own code).
IN_PROCESS_CASES = (*(n for n in CASE_NAMES if n not in TRAIN_CASES), "passes")
NETWORK_CASES = (
    "hub push in the file",
    "dataset root missing",
    "Hub model, empty cache",
    "ImageNet backbone, empty torch cache",
)
EXPECTED = {  # the status of the row each case is about
    "passes": "OK",
    "hub push in the file": "ERROR",
    "hub push on the command line": "ERROR",
    "dataset root missing": "ERROR",
    "dataset still v2.1": "ERROR",
    "wandb online": "ERROR",
    "output dir holds a run": "ERROR",
    "disk too small": "ERROR",
    "unknown profile": "ERROR",
    "policy.path in the file": "OK",
    "policy.path on the command line, push override": "ERROR",
    "Hub model, empty cache": "ERROR",
    "Hub model, filled cache": "OK",
    "resume a good checkpoint": "OK",
    "resume a tampered checkpoint": "ERROR",
    "mixed precision asked": "OK",
    "ImageNet backbone, empty torch cache": "ERROR",
    "ImageNet backbone, in the torch cache": "OK",
}
assert set(TRAIN_CASES) <= set(CASE_NAMES) == set(EXPECTED)


def preflight_here(
    argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[tuple[str, str]], int, str]:
    """(rows, exit code, output) of ``lerobot-local preflight`` run in this process (no interpreter start)."""
    from lerobot_local.cli import preflight

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    logger = logging.getLogger("lerobot_local")  # its stderr handler is this test's: gone after it
    for name in ("handlers", "propagate", "level"):
        monkeypatch.setattr(logger, name, [] if name == "handlers" else getattr(logger, name))
    capsys.readouterr()
    code = preflight(list(argv))
    out = capsys.readouterr().out
    return check_rows(out, "lerobot-local preflight"), code, out


@pytest.mark.parametrize("name", CASE_NAMES)
def test_preflight_and_lerobot_train_give_the_same_rows(
    name: str, world: dict[str, Path], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv, env, about = cases(world)[name]
    failed = EXPECTED[name] == "ERROR"
    here = None
    if name in IN_PROCESS_CASES:  # before lerobot-train: a passing run writes its output dir
        here, code, out = preflight_here(argv, env, capsys, monkeypatch)
        assert dict(here).get(about) == EXPECTED[name], (name, here, out[-3000:])
        assert code == (1 if "ERROR" in dict(here).values() else 0) == (1 if failed else 0), (name, out)
        if name == "mixed precision asked":  # the row lerobot-train prints too (test_fail_closed)
            assert "bf16: policy.use_amp=true" in out, out
        if name == "ImageNet backbone, empty torch cache":  # the file it looks for and both fixes
            flat = " ".join(out.split())
            assert str(world["torch_empty"] / RESNET18) in flat, out
            assert "--policy.pretrained_backbone_weights=null" in flat, out
        if name == "ImageNet backbone, in the torch cache":
            assert str(world["torch_filled"] / RESNET18) in " ".join(out.split()), out
    if name not in TRAIN_CASES:
        return
    if failed:  # lerobot-train stops at its checks and writes nothing: ask both at once
        with ThreadPoolExecutor(2) as pool:
            asking = pool.submit(run_cli, "lerobot-local", "preflight", *argv, env=env)
            trained = train(*argv, env=env)
            preflight = asking.result()
    else:
        preflight = run_cli("lerobot-local", "preflight", *argv, env=env)
        trained = train(*argv, env=env)
    asked = check_rows(preflight.stdout, "lerobot-local preflight")
    ran = check_rows(trained.stderr, "lerobot-local before-train checks")
    assert asked == ran, f"{name}\npreflight: {asked}\nlerobot-train: {ran}\n{trained.stderr[-2000:]}"
    said = row_words(preflight.stdout, "lerobot-local preflight")
    done = row_words(trained.stderr, "lerobot-local before-train checks")
    assert said == done, f"{name}\npreflight: {said}\nlerobot-train: {done}"
    if name == "passes":  # the plan as LeRobot will run it, the held-out frames not counted
        assert "plan: 1 steps x batch 2 = 2 samples = " in done["sizing"], done
        assert "epochs of the " in done["sizing"] and "held out" in done["validation"], done
    assert here is None or here == asked, (name, here, asked)  # in this process = as a command
    statuses = dict(ran)
    assert statuses.get(about) == EXPECTED[name], (name, ran, trained.stderr[-2000:])
    assert failed == ("ERROR" in statuses.values()), (name, ran)
    assert preflight.returncode == trained.returncode == (1 if failed else 0), (
        preflight.returncode,
        trained.returncode,
        trained.stderr[-3000:],
    )
    if failed:  # stopped before the dataset or the model is built, and nothing written
        assert not any(m in trained.stderr for m in ("Creating dataset", "Creating policy")), trained.stderr[
            -2000:
        ]
    if name in NETWORK_CASES:
        record(
            "network",
            f"lerobot-train with a config that would reach the network: {name}",
            "stopped by the checks before anything is built or any connection is attempted",
            f"exit 1, '{about}' ERROR, nothing built, 0 connection attempts",
        )
    if name == "Hub model, empty cache":  # one real error, no false accusation about the Hub push
        assert statuses["hub_push"] == "SKIPPED" and "cannot tell" in trained.stderr
    if name == "resume a tampered checkpoint":  # the row names the changed file
        assert "model.safetensors was modified after the checkpoint was written" in trained.stderr
    record(
        "one truth",
        f"preflight vs lerobot-train: {name}",
        "identical check rows (name, status) and exit codes",
        f"{len(ran)} rows equal, {about} {statuses.get(about)}, exit {trained.returncode}",
    )


def test_policy_overrides_on_the_command_line_work_with_the_shipped_config(world: dict[str, Path]) -> None:
    """The seed's own advice (--policy.device=cpu, --policy.push_to_hub=...) with policy.path in the file."""
    config = json.loads((REPO / "configs/grasp_smolvla.json").read_text())
    config["dataset"]["root"] = str(world["data"])
    config["policy"]["path"] = str(world["pretrained"])
    for key in ("resize_imgs_with_padding", "chunk_size", "n_action_steps", "use_amp"):
        config["policy"].pop(key, None)  # SmolVLA fields an ACT checkpoint does not have
    config["policy"] = {k: v for k, v in config["policy"].items() if not k.startswith("scheduler_")}
    config["lerobot_local"]["profile"] = ""
    cfg = write_config(world["base"] / "shipped.json", config)
    argv = [
        f"--config_path={cfg}",
        "--policy.device=cpu",
        "--policy.push_to_hub=true",
        "--policy.repo_id=me/x",
        f"--output_dir={world['base'] / 'out_shipped'}",
    ]
    with ThreadPoolExecutor(2) as pool:  # it stops at its checks (hub_push): ask both at once
        asking = pool.submit(run_cli, "lerobot-local", "preflight", *argv)
        trained = train(*argv)
        preflight = asking.result()
    assert "Could not decode" not in trained.stderr, trained.stderr[-3000:]
    rows = check_rows(trained.stderr, "lerobot-local before-train checks")
    assert rows == check_rows(preflight.stdout, "lerobot-local preflight")
    assert dict(rows)["hub_push"] == "ERROR"  # the override reached the pretrained config on both
