"""Load a causal LM and its tokenizer for inference (evaluation, probes, rollouts)."""

from __future__ import annotations

from pathlib import Path

from .embedded import resolve_model

DTYPES = ("auto", "float32", "bfloat16", "float16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when this CPU computes in bfloat16 natively (AVX512-BF16 or AMX), where bf16 on the CPU is
    1.4-3x faster than float32; elsewhere (AVX2 only) PyTorch emulates it and it is several times
    slower (measured: SmolLM2-135M generation 25 vs 115 tokens/s). Linux only (/proc/cpuinfo)."""
    if cpuinfo is None:
        try:
            cpuinfo = open("/proc/cpuinfo", encoding="utf-8").read()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def load_tokenizer(
    name_or_path: str, revision: str | None = None, chat_template_path: str | None = None,
    trust_remote_code: bool = False,
):  # fmt: skip
    """The tokenizer, with the chat template replaced when `chat_template_path` is given.

    `chat_template_path` is a .jinja file or a tokenizer folder / Hub id whose template is taken.
    `trust_remote_code` runs the model repository's own tokenizer code (models Transformers lacks).
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        resolve_model(name_or_path), revision=revision, trust_remote_code=trust_remote_code
    )
    if chat_template_path:
        path = Path(chat_template_path)
        if path.suffix in (".jinja", ".j2"):
            if not path.is_file():
                raise FileNotFoundError(f"chat_template_path {path} does not exist")
            tokenizer.chat_template = path.read_text()
        else:
            tokenizer.chat_template = AutoTokenizer.from_pretrained(chat_template_path).chat_template
    if tokenizer.chat_template is None:
        raise ValueError(f"{name_or_path} has no chat template: set chat_template_path")
    return tokenizer


def load_causal_lm(
    name_or_path: str, dtype: str = "auto", revision: str | None = None, device: str | None = None,
    trust_remote_code: bool = False,
):  # fmt: skip
    import torch
    from transformers import AutoModelForCausalLM

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    model = AutoModelForCausalLM.from_pretrained(
        resolve_model(name_or_path),
        revision=revision,
        dtype=dtype if dtype == "auto" else getattr(torch, dtype),
        trust_remote_code=trust_remote_code,
    )
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return model.to(device).eval()


def quantization_config(model_args, cuda_available: bool | None = None):
    """QLoRA's bitsandbytes config for a recipe asking for `load_in_4bit` / `load_in_8bit` (TRL's own
    `get_quantization_config`), None when it asks for neither; a ValueError, before any model is loaded,
    where the request cannot be met, instead of training a full-precision model in silence."""
    import importlib.util

    flag = "load_in_4bit" if model_args.load_in_4bit else "load_in_8bit" if model_args.load_in_8bit else None
    if flag is None:
        return None
    if not model_args.use_peft:
        raise ValueError(f"{flag}: a quantized model trains only through adapters: set use_peft: true (QLoRA)")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ValueError(f"{flag}: needs the bitsandbytes package (pip install bitsandbytes) and a CUDA GPU")
    if cuda_available is None:
        import torch

        cuda_available = torch.cuda.is_available()
    if not cuda_available:
        raise ValueError(f"{flag}: bitsandbytes quantization needs a CUDA GPU and this machine has none: drop {flag}")
    from trl import get_quantization_config

    return get_quantization_config(model_args)


def model_init_kwargs(model_args, configured: dict | None) -> dict:
    """TRL trainers' `model_init_kwargs` from a recipe's ModelConfig; the recipe's own entries win."""
    kwargs = {
        "revision": model_args.model_revision,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
    }
    if quantization_config(model_args) is not None:  # the config itself goes to the trainer, as in TRL's scripts
        from trl import get_kbit_device_map

        kwargs["device_map"] = get_kbit_device_map()
    return {**kwargs, **(configured or {})}
