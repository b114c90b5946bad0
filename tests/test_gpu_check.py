"""benchmarks/gpu_check.py at toy size on the CPU: its one JSON line, checked against the numbers it
should have measured (the batches' tokens recounted here, the parameter count from the config, the
support-set share of the GRPO batch)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

BATCH, SEQ_LEN, STEPS, WARMUP, COMPLETION = 4, 128, 2, 1, 16
ARGS = [
    "--size", "toy", "--batch_size", str(BATCH), "--seq_len", str(SEQ_LEN), "--steps", str(STEPS),
    "--warmup", str(WARMUP), "--completion_length", str(COMPLETION), "--prompts", "1", "--repeats", "1",
    "--report_rows",
]  # fmt: skip


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result() -> dict:
    # As on the GPU machine: from source, not the installed package.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "benchmarks/gpu_check.py", *ARGS]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout[-2000:]  # the trainers' own logs went to stderr
    return json.loads(lines[0])


def test_header_names_the_run(result):
    assert result["benchmark"] == "gpu_check"
    assert result["size"] == "toy" and result["dtype"] == "float32"
    assert result["device"].startswith("cpu")
    assert result["peak_tflops"] is None  # no CPU peak is assumed
    assert result["versions"]["trl"] and result["versions"]["transformers"] and result["versions"]["torch"]
    assert result["total_s"] > 0 and result["peak_rss_gib"] > 0


def test_parameter_count_is_the_qwen2_shape(result):
    m = result["model"]
    hidden, inter, layers, vocab = (
        m["hidden_size"],
        m["intermediate_size"],
        m["num_hidden_layers"],
        m["vocab_size"],
    )
    kv = hidden // m["num_attention_heads"] * m["num_key_value_heads"]
    # q, k, v with biases, o without; gate, up, down; two norms; the tied embedding once, the final norm.
    per_layer = (
        (hidden * hidden + hidden)
        + 2 * (hidden * kv + kv)
        + hidden * hidden
        + 3 * hidden * inter
        + 2 * hidden
    )
    assert result["n_params"] == vocab * hidden + layers * per_layer + hidden
    assert (hidden, layers) == (64, 2)


def test_sft_counts_the_non_padding_tokens_of_the_same_batches(result):
    script = load_script()
    sft = result["sft"]
    assert (sft["batch_size"], sft["seq_len"], sft["steps"], sft["warmup"]) == (BATCH, SEQ_LEN, STEPS, WARMUP)
    tokenizer = script.build_tokenizer()
    dataset = script.sft_dataset(
        tokenizer, SimpleNamespace(batch_size=BATCH, seq_len=SEQ_LEN, steps=STEPS, warmup=WARMUP)
    )
    conversations = [row["prompt"] + row["completion"] for row in dataset]
    encoded = tokenizer.apply_chat_template(conversations, tokenize=True, return_dict=True)["input_ids"]
    lengths = [min(len(ids), SEQ_LEN) for ids in encoded]
    rows = sft["rows"]
    assert len(rows) == BATCH * STEPS
    expected = [sum(lengths[i] for i in rows[s * BATCH : (s + 1) * BATCH]) for s in range(STEPS)]
    assert sft["tokens_per_step"] == expected
    assert sft["trl_tokens_per_step"] == expected  # TRL's trainer saw the same batches
    assert sft["tokens"] == sft["trl_tokens"] == sum(expected)
    assert sum(expected) < BATCH * STEPS * SEQ_LEN  # padding was there, and not counted
    # The support set: at most k = 2 distinct trajectories of a question in the epoch.
    per_question = {}
    for i in rows:
        per_question.setdefault(dataset[i]["question_id"], set()).add(i)
    assert max(len(chosen) for chosen in per_question.values()) <= script.SFT_SUPPORT


def test_sft_rates_and_mfu(result):
    sft = result["sft"]
    assert sft["support_set_tokens_per_s"] > 0 and sft["trl_tokens_per_s"] > 0
    assert sft["ratio"] == pytest.approx(sft["support_set_tokens_per_s"] / sft["trl_tokens_per_s"], abs=1e-3)
    assert sft["support_set_mfu"] is None and sft["trl_mfu"] is None  # no peak on the CPU
    assert sft["peak_memory_gib"] == {"support_set": None, "trl": None}
    mfu = load_script().mfu(1000.0, result["n_params"], SimpleNamespace(peak_flops=1e12))
    assert mfu == pytest.approx(6 * result["n_params"] * 1000.0 / 1e12, abs=1e-4)


def test_grpo_times_4_of_16_completions_at_the_forced_length(result):
    grpo = result["grpo"]
    assert (grpo["G"], grpo["k"], grpo["completions"]) == (16, 4, 16)
    # EOS suppressed: every completion runs to the requested length.
    assert grpo["completion_tokens"] == 16 * COMPLETION and grpo["completion_length"] == COMPLETION
    assert grpo["rows"] == {"all_16": 16, "k_4": 4, "masked_k_4": 16}
    assert grpo["loss_tokens"] == {
        "all_16": 16 * COMPLETION,
        "k_4": 4 * COMPLETION,
        "masked_k_4": 4 * COMPLETION,
    }
    all_16, k_4 = grpo["step_s_all_16"], grpo["step_s_k_4"]
    assert all_16 > 0 and k_4 > 0 and grpo["step_s_masked_k_4"] > 0 and grpo["generation_s"] > 0
    # Step times are rounded to 1e-4 s and the ratio to 1e-3: it lies within those roundings.
    low, high = (k_4 - 5e-5) / (all_16 + 5e-5), (k_4 + 5e-5) / (all_16 - 5e-5)
    assert low - 5e-4 <= grpo["ratio"] <= high + 5e-4
    assert grpo["peak_memory_gib"] is None
