"""The speed settings change how a step is computed, not what: same loss and gradients on a tiny SmolVLA
(LeRobot's own policy, processors and a batch of the converted fixture), and each fallback says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from lerobot_local import compat, speed
from lerobot_local.demo.tiny_vlm import build_tiny_smolvlm
from lerobot_local.settings import SpeedSettings

LOSS_TOLERANCE = 1e-5  # fp32 on the CPU: SDPA and the eager matmuls agree to rounding
GRAD_TOLERANCE = 1e-4  # relative, over all trained parameters
BF16_TOLERANCE = 0.02  # relative: bf16 keeps 8 bits of mantissa (about 2-3 significant digits)


def _policy_and_batch(dataset_root: Path, work: Path) -> tuple[Any, dict[str, Any]]:
    from lerobot.datasets.factory import make_dataset
    from lerobot.policies.factory import make_policy, make_pre_post_processors
    from torch.utils.data import default_collate

    vlm = build_tiny_smolvlm(work / "tiny_smolvlm")
    cfg = compat.parse_train_config(
        [
            "--policy.type=smolvla",
            f"--policy.vlm_model_name={vlm}",
            "--policy.load_vlm_weights=false",
            "--policy.device=cpu",
            "--policy.push_to_hub=false",
            "--policy.resize_imgs_with_padding=[32,32]",
            "--policy.chunk_size=10",
            "--policy.n_action_steps=10",
            "--dataset.repo_id=local/grasp",
            f"--dataset.root={dataset_root}",
            "--dataset.video_backend=pyav",
            f"--output_dir={work / 'run'}",
        ]
    )
    dataset = make_dataset(cfg)
    torch.manual_seed(0)
    policy = make_policy(cfg=cfg.policy, ds_meta=dataset.meta)
    pre, _ = make_pre_post_processors(policy_cfg=cfg.policy, dataset_stats=dataset.meta.stats)
    batch = default_collate([dataset[i] for i in range(0, len(dataset), max(1, len(dataset) // 4))][:4])
    batch = compat.prepare_batch(batch, list(dataset.meta.camera_keys))
    return policy, pre(batch)


def _loss_and_grads(policy: Any, batch: dict[str, Any]) -> tuple[float, dict[str, torch.Tensor]]:
    policy.train()
    policy.zero_grad()
    torch.manual_seed(1)  # the flow-matching noise and time
    loss, _ = policy.forward(dict(batch))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in policy.named_parameters() if p.grad is not None}
    return float(loss.detach()), grads


def test_sdpa_attention_gives_the_same_loss_and_gradients(v30_dataset: Path, tmp_path: Path) -> None:
    policy, batch = _policy_and_batch(v30_dataset, tmp_path)
    eager_loss, eager_grads = _loss_and_grads(policy, batch)
    assert speed.use_sdpa_attention(policy) is None
    sdpa_loss, sdpa_grads = _loss_and_grads(policy, batch)
    assert abs(sdpa_loss - eager_loss) <= LOSS_TOLERANCE * max(1.0, abs(eager_loss)), (eager_loss, sdpa_loss)
    assert eager_grads.keys() == sdpa_grads.keys() and eager_grads
    for name, grad in eager_grads.items():
        scale = grad.abs().max().clamp_min(1e-8)
        assert float((sdpa_grads[name] - grad).abs().max() / scale) <= GRAD_TOLERANCE, name


def test_each_setting_that_cannot_apply_says_why(v30_dataset: Path, tmp_path: Path) -> None:
    policy, _ = _policy_and_batch(v30_dataset, tmp_path)
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=1e-4)
    assert speed.use_fused_optimizer(optimizer) == "its parameters are not all on a CUDA device"
    assert not optimizer.param_groups[0].get("fused")
    sgd = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    assert speed.use_fused_optimizer(sgd) == "SGD has no fused kernel"
    assert speed.use_sdpa_attention(torch.nn.Linear(2, 2)) == "the policy is not SmolVLA"
    assert speed.compile_vision_encoder(torch.nn.Linear(2, 2)) == "the policy has no SmolVLA vision encoder"


@pytest.mark.any_line
def test_the_speed_row_states_each_setting_and_its_fallback() -> None:
    on = SpeedSettings(compile_vision_encoder=True)
    assert speed.planned(on, "smolvla", "cuda") == [
        "fused AdamW",
        "SDPA attention",
        "compiled vision encoder (compile time at the first step)",
    ]
    cpu_act = speed.planned(on, "act", "cpu")
    assert cpu_act[0] == "fused AdamW off (CUDA only; this run is on the CPU)"
    assert cpu_act[1] == "SDPA attention off (SmolVLA only; policy act)"
    assert (
        speed.planned(
            SpeedSettings(bf16=False, fused_optimizer=False, sdpa_attention=False), "smolvla", "cuda"
        )
        == []
    )


def test_bf16_autocast_computes_the_same_loss_to_bf16_precision(v30_dataset: Path, tmp_path: Path) -> None:
    """What ``speed.bf16`` changes on a GPU (fp16 -> bf16 autocast), shown on the CPU: fp32 against bf16."""
    policy, batch = _policy_and_batch(v30_dataset, tmp_path)
    fp32_loss, _ = _loss_and_grads(policy, batch)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16_loss, _ = _loss_and_grads(policy, batch)
    assert abs(bf16_loss - fp32_loss) <= BF16_TOLERANCE * abs(fp32_loss), (fp32_loss, bf16_loss)


def test_bf16_without_a_cuda_card_says_fp16_and_why() -> None:
    from types import SimpleNamespace

    policy = SimpleNamespace(use_amp=True, device="cuda")
    plan = compat.precision_plan(SimpleNamespace(), policy, prefer_bf16=True)
    if compat.cuda_bf16_supported():
        pytest.skip("this machine has a CUDA card with bf16")
    assert plan.mode == "fp16"
    assert "lerobot_local.speed.bf16 needs a CUDA card with bf16, none seen here" in plan.source
    assert "bf16" not in compat.precision_plan(SimpleNamespace(), policy).source
