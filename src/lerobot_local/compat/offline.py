"""The Hub kept closed, and what a policy would download when it is built.

``force_offline`` for every Hugging Face library of the process; the models, processors, tokenizers and
torchvision backbone weights a policy config names, and whether each is here (``checks/offline.py``).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lerobot_local.compat.features import policy_type, type_name

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def force_offline() -> None:
    """Make every Hugging Face library in this process (and its children) refuse network access."""
    os.environ.update(OFFLINE_ENV)
    for module_name, attr in (
        ("huggingface_hub.constants", "HF_HUB_OFFLINE"),
        ("datasets.config", "HF_HUB_OFFLINE"),
        ("datasets.config", "HF_DATASETS_OFFLINE"),
    ):
        module = importlib.sys.modules.get(module_name)
        if module is not None and hasattr(module, attr):
            setattr(module, attr, True)


def local_model_present(name_or_path: str) -> bool:
    """True when a model id or folder can be loaded without the network (local folder or HF cache)."""
    if Path(name_or_path).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        # a model has config.json; a tokenizer-only or processor-only repository may have only its own file
        files = ("config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json")
        return any(isinstance(try_to_load_from_cache(name_or_path, f), str) for f in files)
    except Exception:
        return False


# Policy config fields naming a Hugging Face model, processor or tokenizer the policy loads when it is built.
HUB_MODEL_FIELDS = (
    "vlm_model_name",  # smolvla, evo1
    "text_tokenizer_name",  # pi0_fast
    "action_tokenizer_name",  # pi0_fast
    "tokenizer_name",  # xvla
    "qwen_model_name",  # vla_jepa (0.6)
    "jepa_encoder_name",  # vla_jepa (0.6)
)
# Models a policy type's processors load by a name written in LeRobot's code, not in its config.
POLICY_TYPE_HUB_MODELS = {"pi0": ("google/paligemma-3b-pt-224",), "pi05": ("google/paligemma-3b-pt-224",)}
# The config field naming torchvision weights of a policy's vision backbone (ACT, Diffusion, VQ-BeT): its
# modeling code passes it to ``torchvision.models.<vision_backbone>(weights=...)``, which downloads through
# torch.hub into ``$TORCH_HOME/hub/checkpoints/`` whenever the policy is built with an image feature.
BACKBONE_WEIGHTS_FIELD = "pretrained_backbone_weights"
BACKBONE_NAME_FIELD = "vision_backbone"


@dataclass(frozen=True)
class ModelDownload:
    """Something a policy loads when it is built: a Hugging Face model id or folder (``file`` None), or
    torchvision backbone weights (``file``: where torch.hub looks for them, ``url``: what it downloads)."""

    field: str  # the config field that names it, e.g. policy.vlm_model_name
    name: str
    file: Path | None = None
    url: str | None = None
    backbone: str | None = None

    @property
    def present(self) -> bool:
        if self.file is not None:
            return self.file.is_file()
        return local_model_present(self.name)


def _reads_images(policy: Any, dataset_features: dict[str, Any] | None) -> bool:
    """Whether the policy will be built with an image feature (its own input features when set, else the
    dataset's); unknown counts as yes."""
    inputs = getattr(policy, "input_features", None)
    if isinstance(inputs, dict) and inputs:
        return any(type_name(getattr(f, "type", "")) == "VISUAL" for f in inputs.values())
    if isinstance(dataset_features, dict):
        return any(
            isinstance(f, dict) and f.get("dtype") in ("video", "image") for f in dataset_features.values()
        )
    return True


def torchvision_weights_file(weights: str) -> tuple[Path, str] | None:
    """(the file torch.hub reads, the URL it downloads) for a torchvision weights name such as
    ``ResNet18_Weights.IMAGENET1K_V1``; None when torchvision does not know the name."""
    import torch  # heavy: only when a policy names backbone weights
    from torchvision.models import get_weight

    try:
        url = get_weight(weights).url
    except Exception:  # an unknown name: torchvision raises when the policy is built
        return None
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url.split("?")[0]).name, url


def policy_downloads(policy: Any, dataset_features: dict[str, Any] | None = None) -> list[ModelDownload]:
    """Every model, processor, tokenizer or backbone weight file ``policy`` loads when it is built."""
    found = []
    for name in HUB_MODEL_FIELDS:
        value = getattr(policy, name, None)
        if isinstance(value, str) and value:
            found.append(ModelDownload(f"policy.{name}", value))
    for value in POLICY_TYPE_HUB_MODELS.get(policy_type(policy) or "", ()):
        found.append(ModelDownload(f"the {policy_type(policy)} processor", value))
    weights = getattr(policy, BACKBONE_WEIGHTS_FIELD, None)
    if isinstance(weights, str) and weights and _reads_images(policy, dataset_features):
        where = torchvision_weights_file(weights)
        if where is not None:
            backbone = getattr(policy, BACKBONE_NAME_FIELD, None)
            found.append(
                ModelDownload(f"policy.{BACKBONE_WEIGHTS_FIELD}", weights, where[0], where[1], backbone)
            )
    return found
