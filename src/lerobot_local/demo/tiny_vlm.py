"""Build a SmolVLM-compatible backbone folder offline, for SmolVLA runs without the Hugging Face Hub.

``policy.vlm_model_name=<folder>`` with ``policy.load_vlm_weights=false`` makes SmolVLA read the config,
tokenizer and processor from the folder and initialise random weights: the tiny size trains on a CPU in
seconds (demo, tests); ``size="full"`` has SmolVLM2-500M's architecture for GPU measurements.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

SPECIAL = {
    "fake_image_token": "<fake_token_around_image>",
    "image_token": "<image>",
    "global_image_token": "<global-img>",
    "end_of_utterance_token": "<end_of_utterance>",
}
BASE_TOKENS = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
WORDS = [
    "grasp",
    "the",
    "red",
    "blue",
    "green",
    "cube",
    "cylinder",
    "ball",
    "and",
    "place",
    "it",
    "in",
    "bin",
    "box",
    "pick",
    "up",
    "put",
    "move",
    "to",
    "on",
    "of",
    "a",
    "an",
    "left",
    "right",
    "top",
    "bottom",
    "gripper",
    "arm",
    "robot",
    "open",
    "close",
    "push",
    "pull",
    "stack",
    "task",
]
COMPLETE_MARKER = "lerobot_local_tiny_vlm.json"


def _vocab() -> list[str]:
    grid = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    chars = [chr(c) for c in range(33, 127)]
    return BASE_TOKENS + list(SPECIAL.values()) + grid + WORDS + chars


def _tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(_vocab()))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    extra = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        extra_special_tokens=SPECIAL,
        additional_special_tokens=extra,
        model_max_length=8192,
    )
    return tokenizer


def _config(size: str, image_size: int, vocab_size: int, pad_id: int, image_token_id: int):
    from transformers import SmolVLMConfig

    if size == "full":  # SmolVLM2-500M-Video-Instruct's shape
        text = {
            "hidden_size": 960,
            "intermediate_size": 2560,
            "num_hidden_layers": 32,
            "num_attention_heads": 15,
            "num_key_value_heads": 5,
            "head_dim": 64,
            "max_position_embeddings": 8192,
            "rope_theta": 100000.0,
        }
        vision = {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "image_size": 512,
            "patch_size": 16,
        }
        scale = 4
    else:
        text = {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "head_dim": 16,
            "max_position_embeddings": 1024,
        }
        vision = {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 16,
        }
        scale = 2
    text.update(
        {
            "model_type": "llama",
            "vocab_size": vocab_size,
            "pad_token_id": pad_id,
            "tie_word_embeddings": False,
        }
    )
    return SmolVLMConfig(
        text_config=text,
        vision_config=vision,
        scale_factor=scale,
        image_token_id=image_token_id,
        vocab_size=vocab_size,
        pad_token_id=pad_id,
    )


def build_tiny_smolvlm(out_dir: Path, *, size: str = "tiny", image_size: int = 64) -> Path:
    """Write the backbone folder (config, tokenizer, processor) to ``out_dir``; idempotent and atomic."""
    from transformers import SmolVLMImageProcessor, SmolVLMProcessor

    out_dir = Path(out_dir)
    if (out_dir / COMPLETE_MARKER).is_file():
        return out_dir
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tokenizer = _tokenizer()
    image_size = 512 if size == "full" else image_size
    config = _config(
        size,
        image_size,
        len(tokenizer),
        tokenizer.pad_token_id,
        tokenizer.convert_tokens_to_ids(SPECIAL["image_token"]),
    )
    patches = (image_size // 16) ** 2
    image_processor = SmolVLMImageProcessor(
        do_resize=True,
        size={"longest_edge": image_size},
        max_image_size={"longest_edge": image_size},
        do_image_splitting=False,
    )
    kwargs = {
        "image_processor": image_processor,
        "tokenizer": tokenizer,
        "image_seq_len": patches // (config.scale_factor**2),
    }
    try:
        from transformers import SmolVLMVideoProcessor

        kwargs["video_processor"] = SmolVLMVideoProcessor(
            size={"longest_edge": image_size}, max_image_size={"longest_edge": image_size}
        )
    except ImportError:
        pass
    SmolVLMProcessor(**kwargs).save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    config.save_pretrained(tmp)
    (tmp / COMPLETE_MARKER).write_text(json.dumps({"size": size, "image_size": image_size}))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print("usage: python -m lerobot_local.demo.tiny_vlm OUT_DIR [tiny|full]", file=sys.stderr)
        return 2
    path = build_tiny_smolvlm(Path(argv[0]), size=argv[1] if len(argv) > 1 else "tiny")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
