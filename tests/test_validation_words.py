"""What the numbers mean, in process and fast: the verdict in words (learning / partly / not learned yet,
against the constant action and the untrained initialisation, the overfitting warning), the joints' units,
the settings' validation, plots a person can read (read from the matplotlib objects), and "did you mean"
for mistyped flags (real lerobot-train, network closed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import run_cli
from lerobot_local.config_file import prepare_argv
from lerobot_local.settings import parse_settings
from lerobot_local.suggest import warn_unknown_local_flags, warn_unknown_train_flags
from lerobot_local.validation import plots
from lerobot_local.validation.config import ValidationSettings
from lerobot_local.validation.units import joint_units, units_label
from lerobot_local.validation.verdict import LEARNING, NOT_YET, PARTLY, judge, overfitting

KOCH = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
CONSTANT = dict.fromkeys(KOCH, 10.0)


def test_a_policy_that_beats_the_constant_action_on_every_joint_is_learning() -> None:
    mae = dict.fromkeys(KOCH, 6.2)
    verdict = judge(mae, CONSTANT, dict.fromkeys(KOCH, 20.0), beat_margin=0.05)
    assert verdict["status"] == LEARNING
    assert verdict["text"].startswith("learning: beats the constant action on every joint (MAE -38% overall)")
    assert "better than the untrained initialisation (MAE -69% overall, on 6 of 6 joints)" in verdict["text"]
    assert verdict["inputs"]["constant_mae"] == CONSTANT and verdict["inputs"]["beat_margin"] == 0.05


def test_worse_than_a_constant_action_is_not_learned_yet_and_says_on_how_many_joints() -> None:
    mae = {**dict.fromkeys(KOCH, 13.6), "gripper": 5.0}
    verdict = judge(mae, CONSTANT, {**dict.fromkeys(KOCH, 13.3), "gripper": 5.1}, beat_margin=0.05)
    assert verdict["status"] == NOT_YET
    assert verdict["text"].startswith("not learned yet: worse than a constant action on 5 of 6 joints")
    assert "no better than the untrained initialisation" in verdict["text"]
    assert verdict["vs_constant"]["worse"] == KOCH[:5] and verdict["vs_constant"]["beats"] == ["gripper"]


def test_some_joints_learned_is_partly_and_not_better_than_untrained_is_not_learned() -> None:
    mae = {**dict.fromkeys(KOCH, 7.0), "gripper": 11.0}
    partly = judge(mae, CONSTANT, None, beat_margin=0.05)
    assert (
        partly["status"] == PARTLY
        and "5 of 6 joints" in partly["text"]
        and "not yet on gripper" in partly["text"]
    )
    same_as_init = judge(dict.fromkeys(KOCH, 6.0), CONSTANT, dict.fromkeys(KOCH, 6.1), beat_margin=0.05)
    assert same_as_init["status"] == NOT_YET
    assert same_as_init["text"] == (
        "not learned yet: no better than the untrained initialisation (MAE -2% overall), which also beats "
        "the constant action on every joint (MAE -40% overall)"
    )


def test_validation_loss_rising_at_n_checkpoints_warns_of_overfitting() -> None:
    losses = [(100, 1.0), (200, 0.6), (300, 0.7), (400, 0.8)]
    assert overfitting(losses, 3) is None  # only two rises
    warning = overfitting(losses, 2)
    assert warning is not None and "rose at the last 2 checkpoints" in warning["text"]
    assert warning["best"] == {"step": 200, "val_loss": 0.6}
    verdict = judge(
        dict.fromkeys(KOCH, 5.0), CONSTANT, None, beat_margin=0.05, val_losses=losses, overfit_checkpoints=2
    )
    assert verdict["status"] == LEARNING and "WARNING: overfitting?" in verdict["text"]
    assert (
        judge(dict.fromkeys(KOCH, 5.0), CONSTANT, None, beat_margin=0.05, val_losses=losses)["overfitting"]
        is None
    )


def test_units_come_from_the_dataset_else_the_koch_profile_else_dataset_units() -> None:
    koch = {"robot_type": "koch", "features": {"action": {"names": KOCH}}}
    units = joint_units(koch, KOCH)
    assert units["elbow_flex"] == "degrees" and units["gripper"] == "percent"
    assert units_label(units) == "degrees; gripper in percent"
    assert joint_units({}, KOCH, profile="local_grasp") == units
    declared = {"features": {"action": {"names": ["x", "y"], "unit": ["m", "rad"]}}}
    assert joint_units(declared, ["x", "y"]) == {"x": "m", "y": "rad"}
    assert joint_units({"features": {"action": {"unit": "rad"}}}, ["a"]) == {"a": "rad"}
    assert joint_units({}, ["a", "b"]) == {"a": "dataset units", "b": "dataset units"}


def test_thresholds_are_settings_checked_where_they_are_declared() -> None:
    settings = parse_settings({"validation": {"beat_margin": 0.1, "overfit_checkpoints": 3}}, [])
    assert settings.validation.beat_margin == 0.1 and settings.validation.overfit_checkpoints == 3
    with pytest.raises(ValueError, match=r"beat_margin=1.5 must be a fraction in \[0, 1\)"):
        ValidationSettings(beat_margin=1.5)
    with pytest.raises(ValueError, match=r"holdout=-0.1.*max_samples=-1"):
        ValidationSettings(holdout=-0.1, max_samples=-1)
    # on lerobot-train's command line: one line naming the setting, no traceback
    with pytest.raises(SystemExit, match=r"^lerobot-local: ERROR: lerobot_local.validation: beat_margin=1.5"):
        prepare_argv(["--lerobot_local.validation.beat_margin=1.5"])


def _validation_rows() -> list[dict]:
    rows = []
    for i, step in enumerate([2, 4, 6, 8]):
        mae = {j: 10.0 - i - k * 0.5 for k, j in enumerate(KOCH)}
        rows.append(
            {
                "step": step,
                "val_loss": 2.0 / (i + 1),
                "mae": mae,
                "baseline_constant": {"mae": CONSTANT, "mae_mean": 10.0},
                "untrained": {"mae": dict.fromkeys(KOCH, 12.0), "mae_mean": 12.0},
            }
        )
    return rows


def _draw(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _integer_ticks(ax) -> None:
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def _legend_covers_no_data(fig, ax, legend) -> None:
    renderer = _draw(fig)
    box, axes_box = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    assert box.x0 >= axes_box.x1 or box.y1 <= axes_box.y0 or box.y0 >= axes_box.y1, (box, axes_box)


def test_every_plot_has_labelled_axes_units_integer_steps_and_legends_outside_the_data() -> None:
    train = [{"step": s, "loss": 10.0 / s**2, "lr": 1e-4, "grad_norm": 5.0} for s in range(1, 9)]
    loss = plots.loss_curves_figure(train, _validation_rows())
    (ax,) = loss.axes
    assert ax.get_xlabel() == "training step" and ax.get_ylabel().startswith("loss")
    _integer_ticks(ax)
    _legend_covers_no_data(loss, ax, ax.get_legend())
    labels = [t.get_text() for t in ax.get_yticklabels()]  # log scale: plain numbers, not 1.65x10^0
    assert ax.get_yscale() == "log" and labels and not any("times" in t or "^" in t for t in labels), labels

    lr = plots.learning_rate_figure(train)
    assert lr.axes[0].get_ylabel().startswith("learning rate") and "gradient norm" in lr.axes[1].get_ylabel()
    _integer_ticks(lr.axes[0])

    errors = plots.joint_errors_figure(_validation_rows())
    (ax,) = errors.axes
    assert "constant-action MAE" in ax.get_ylabel() and "ratio" in ax.get_ylabel()
    _integer_ticks(ax)
    legend = ax.get_legend()
    assert {t.get_text() for t in legend.get_texts()} >= {*KOCH, "constant action (= 1)"}
    _legend_covers_no_data(errors, ax, legend)

    units = joint_units({"robot_type": "koch"}, KOCH)
    traj = {
        "predicted": [[float(i)] * 6 for i in range(20)],
        "recorded": [[float(i) + 1] * 6 for i in range(20)],
    }
    fig = plots.trajectory_figure(traj, KOCH, "episode 3", units)
    panels = [a for a in fig.axes if a.axison]
    assert len(panels) == 6
    for panel, joint in zip(panels, KOCH, strict=True):
        assert panel.get_title() == joint and panel.get_xlabel() == "frame"
        assert panel.get_ylabel() == ("percent" if joint == "gripper" else "degrees")
        _integer_ticks(panel)
    _draw(fig)
    legend_box = fig.legends[0].get_window_extent()
    assert all(legend_box.y0 >= p.get_window_extent().y1 for p in panels)  # above every panel
    plots.png(fig)


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("--lerobot_local.validation.holdot=0.1", "did you mean --lerobot_local.validation.holdout?"),
        ("--lerobot_local.keep_lst_n=2", "did you mean --lerobot_local.keep_last_n?"),
    ],
)
def test_unknown_lerobot_local_flag_names_the_closest(flag: str, expected: str) -> None:
    (line,) = warn_unknown_local_flags([flag, "--lerobot_local.validation.holdout=0.2"])
    assert line.endswith(expected), line


def test_unknown_lerobot_flag_names_the_closest_from_lerobots_own_config_classes() -> None:
    argv = ["--config_path=x.json", "--polcy.device=cpu", "--dataset.root=d", "--policy.path=p", "--steps=3"]
    (line,) = warn_unknown_train_flags(argv)
    assert line.endswith("unknown flag --polcy.device; did you mean --policy.device?")
    assert (
        warn_unknown_train_flags(["--policy.type=act", "--policy.dim_model=8", "--wandb.enable=false"]) == []
    )


def _hint_before_and_last(stderr: str, expected: str) -> None:
    """The hint before the parser's refusal and again as the last line; LeRobot's usage shortened."""
    lines = stderr.splitlines()
    hints = [i for i, line in enumerate(lines) if "lerobot-local: unknown flag" in line]
    refusal = [i for i, line in enumerate(lines) if "error: unrecognized arguments" in line]
    assert len(hints) == 2 and all(expected in lines[i] for i in hints), stderr[-2000:]
    assert refusal and hints[0] < refusal[0] < hints[1] == len(lines) - 1  # the hint is the last line
    assert "usage: lerobot-train" in stderr  # LeRobot's own message, shortened below


@pytest.mark.slow
def test_lerobot_train_typos_get_a_did_you_mean_line_and_lerobots_usual_refusal(tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text('{"dataset": {"repo_id": "local/x", "root": "x"}, "policy": {"type": "act"}}')
    proc = run_cli("lerobot-train", f"--config_path={config}", "--polcy.device=cpu")
    assert proc.returncode == 2
    _hint_before_and_last(proc.stderr, "did you mean --policy.device?")
    assert "more lines of LeRobot's usage left out: lerobot-train --help prints them all" in proc.stderr
    assert len(proc.stderr.split("usage: lerobot-train")[1].splitlines()) < 20  # not hundreds of lines
    proc = run_cli("lerobot-train", f"--config_path={config}", "--lerobot_local.validation.holdot=0.1")
    assert proc.returncode == 2
    _hint_before_and_last(proc.stderr, "did you mean --lerobot_local.validation.holdout?")
    assert not re.search(r"Traceback", proc.stderr)


@pytest.mark.any_line
def test_the_validation_batch_is_one_rule_for_training_and_eval() -> None:
    from lerobot_local.validation.config import MIN_AUTO_BATCH, validation_batch_size

    assert validation_batch_size(0, 16, "cuda") == MIN_AUTO_BATCH  # launch-bound below it on a GPU
    assert validation_batch_size(0, 128, "cuda:0") == 128
    assert validation_batch_size(0, 16, "cpu") == 16  # a CPU gains nothing from a bigger batch
    assert validation_batch_size(8, 128, "cuda") == 8  # asked for: kept
