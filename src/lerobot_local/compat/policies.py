"""Policies: their configs (pretrained or by type), a checkpoint loaded back, a freshly initialised reference,
the predicted action chunk, SmolVLA's inner modules (``lerobot_local.speed``), what a policy normalises.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import io
import logging
from pathlib import Path
from typing import Any

from lerobot_local.compat.offline import BACKBONE_WEIGHTS_FIELD, force_offline
from lerobot_local.compat.versions import missing


def load_policy_config(path: str, overrides: list[str]) -> tuple[Any | None, str | None]:
    """(the pretrained policy config at ``path`` with ``overrides``, or None; why it could not be read)."""
    force_offline()
    try:
        from lerobot.configs.policies import PreTrainedConfig

        return PreTrainedConfig.from_pretrained(path, cli_overrides=overrides), None
    except Exception as exc:
        return None, f"{type(exc).__name__}: {exc}"


def policy_field_default(policy_type: str | None, policy_path: str | None, name: str) -> Any | None:
    """A policy config field's value when neither the config file nor the command line sets it: the
    pretrained config's (``policy.path``, read offline) or the policy type's dataclass default; None when
    neither can be read."""
    if policy_path:
        config, _why = load_policy_config(policy_path, [])
        return getattr(config, name, None) if config is not None else None
    if not policy_type:
        return None
    register_policy_configs()
    from lerobot.configs.policies import PreTrainedConfig

    try:
        cls = PreTrainedConfig.get_choice_class(policy_type)
    except Exception:  # an unknown type: LeRobot's own parser says so
        return None
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return fields[name].default if name in fields else None


def register_policy_configs() -> None:
    """Import LeRobot's policy configs so draccus knows ``policy.type`` choices (as lerobot-train does)."""
    try:
        importlib.import_module("lerobot.policies.factory")
    except ImportError as exc:
        raise missing("lerobot.policies.factory") from exc


def unwrap_model(model: Any) -> Any:
    """The policy inside a DDP/accelerate wrapper."""
    while hasattr(model, "module") and not hasattr(model, "predict_action_chunk"):
        model = model.module
    return model


def smolvla_inner_model(policy: Any) -> Any | None:
    """SmolVLA's VLM-with-expert module inside a (wrapped) policy; None for any other policy."""
    model = getattr(unwrap_model(policy), "model", None)
    inner = getattr(model, "vlm_with_expert", None)
    return inner if inner is not None and hasattr(inner, "get_attention_interface") else None


def smolvla_vision_encoder(policy: Any) -> Any | None:
    """SmolVLA's (frozen by default) SigLIP vision encoder; None for any other policy."""
    inner = smolvla_inner_model(policy)
    try:
        return inner.get_vlm_model().vision_model if inner is not None else None
    except AttributeError:
        return None


def smolvla_use_sdpa(policy: Any) -> bool:
    """Route SmolVLA's expert attention through ``scaled_dot_product_attention`` (fused kernels) instead of
    its eager matmuls. Same masking as LeRobot's eager code (an additive mask at the dtype's minimum, so a
    row with nothing to attend to averages instead of giving NaN). False where the policy is not SmolVLA."""
    import torch  # heavy: only on a run that asks for it

    inner = smolvla_inner_model(policy)
    if inner is None or not hasattr(inner, "eager_attention_forward"):
        return False
    heads, kv_heads = inner.num_attention_heads, inner.num_key_value_heads

    def sdpa_attention(attention_mask, batch_size, head_dim, query_states, key_states, value_states):
        dtype = value_states.dtype
        q = query_states.to(dtype).transpose(1, 2)
        k = key_states.to(dtype).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
        v = value_states.transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
        bias = torch.zeros(attention_mask.shape, dtype=dtype, device=q.device)
        bias.masked_fill_(~attention_mask, torch.finfo(dtype).min)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias[:, None])
        return out.transpose(1, 2).reshape(batch_size, -1, heads * head_dim)

    inner.get_attention_interface = lambda: sdpa_attention
    return True


def action_chunk(policy: Any, batch: dict[str, Any]) -> Any:
    """The policy's predicted (normalised) action chunk, shape (batch, horizon, action dim)."""
    if not hasattr(policy, "predict_action_chunk"):
        raise missing(f"predict_action_chunk on {type(policy).__name__}")
    chunk = policy.predict_action_chunk(batch)
    return chunk if chunk.dim() == 3 else chunk.unsqueeze(1)


def policy_executes(policy_config: Any) -> int:
    """How many actions of a chunk the policy executes before predicting again."""
    for name in ("n_action_steps", "chunk_size", "horizon"):
        value = getattr(policy_config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 1


def policy_features(policy_config: Any) -> dict[str, tuple[int, ...]]:
    """Feature name -> shape of the policy's inputs and outputs."""
    out = {}
    for group in ("input_features", "output_features"):
        for key, feature in (getattr(policy_config, group, None) or {}).items():
            out[key] = tuple(int(n) for n in getattr(feature, "shape", ()))
    return out


def load_policy_from_checkpoint(pretrained_dir: Path, device: str) -> tuple[Any, Any, Any, Any]:
    """(policy config, policy, preprocessor, postprocessor) of a saved checkpoint, on ``device``."""
    force_offline()
    register_policy_configs()
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    config = PreTrainedConfig.from_pretrained(str(pretrained_dir))
    config.device = device
    config.pretrained_path = str(pretrained_dir)
    # Some policies print while loading ("Reducing the number of VLM layers ..."): our commands' stdout is
    # their report, so LeRobot's chatter goes to the log (stderr) instead.
    chatter = io.StringIO()
    # the backbone's ImageNet weights would be downloaded only to be replaced by the checkpoint's own
    building = copy.copy(config)
    if getattr(building, BACKBONE_WEIGHTS_FIELD, None):
        setattr(building, BACKBONE_WEIGHTS_FIELD, None)
    with contextlib.redirect_stdout(chatter):
        policy = get_policy_class(config.type).from_pretrained(str(pretrained_dir), config=building)
    for line in chatter.getvalue().splitlines():
        if line.strip():
            logging.getLogger("lerobot_local").info("LeRobot: %s", line.strip())
    policy.to(device)
    policy.eval()
    pre, post = make_pre_post_processors(
        policy_cfg=config,
        pretrained_path=str(pretrained_dir),
        preprocessor_overrides={"device_processor": {"device": device}},
    )
    return config, policy, pre, post


def untrained_policy(config: Any, dataset: Any, device: str, seed: int, keep_pretrained: bool = False) -> Any:
    """A freshly initialised policy with ``config`` (the untrained reference), seeded; with
    ``keep_pretrained`` the weights ``config.pretrained_path`` names (a fine-tuning run's starting point)."""
    import copy

    import torch
    from lerobot.policies.factory import make_policy

    fresh = copy.deepcopy(config)
    if not keep_pretrained:
        fresh.pretrained_path = None
    fresh.device = device
    torch.manual_seed(seed)
    policy = make_policy(cfg=fresh, ds_meta=dataset.meta)
    policy.to(device)
    policy.eval()
    return policy


def fresh_policy(config: Any, device: str, seed: int) -> Any:
    """The policy class of ``config`` with freshly initialised weights (seeded): the untrained reference
    (normalised by the trained checkpoint's processors, i.e. with the dataset's stats)."""
    import copy

    import torch
    from lerobot.policies.factory import get_policy_class

    fresh = copy.deepcopy(config)
    fresh.pretrained_path = None
    fresh.device = device
    torch.manual_seed(seed)
    policy = get_policy_class(fresh.type)(fresh)
    policy.to(device)
    policy.eval()
    return policy


# The policy's normalization_mapping is keyed by feature type; LeRobot types a feature by its key, and a
# type the mapping does not name is not normalised (IDENTITY).
def normalised_features(policy: Any, keys: list[str]) -> set[str] | None:
    """The feature keys the policy normalises (mean/std, min/max, ...), or None when it does not say."""
    mapping = getattr(policy, "normalization_mapping", None)
    if not isinstance(mapping, dict):
        return None
    chosen = set()
    for key in keys:
        if key == "action":
            kind = "ACTION"
        elif key == "observation.environment_state":
            kind = "ENV"
        elif key.startswith("observation.images.") or key.startswith("observation.image"):
            kind = "VISUAL"
        else:
            kind = "STATE"
        mode = mapping.get(kind)
        value = str(getattr(mode, "value", mode) or "IDENTITY").upper()
        if value != "IDENTITY":
            chosen.add(key)
    return chosen
