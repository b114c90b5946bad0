"""The tiny recipes under `accelerate launch` with two CPU processes: plain DDP (gloo) and DeepSpeed ZeRO-2."""

from __future__ import annotations

import importlib.util
import json

import pytest

from .conftest import ROOT, launch_two_cpu_ranks

TINY_SFT = ROOT / "recipes" / "tiny" / "sft" / "config_demo.yaml"


def logged_losses(output_dir):
    history = json.loads((output_dir / "metrics.json").read_text())["log_history"]
    return [entry["loss"] for entry in history if "loss" in entry]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("ddp") / "out"
    result = launch_two_cpu_ranks("raml_recipes.scripts.sft", TINY_SFT, output_dir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return output_dir


@pytest.mark.slow
def test_two_process_cpu_launch_of_the_tiny_recipe(ddp_run):
    metrics = json.loads((ddp_run / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # 32 questions x 2 samples = 64 per epoch; 8 per process x 2 processes = 16 per step: 4 steps x 2 epochs.
    assert metrics["global_step"] == 8
    assert (ddp_run / "model.safetensors").is_file()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="needs the deepspeed extra")
def test_deepspeed_zero2_on_two_cpu_ranks_trains_like_ddp(ddp_run, tmp_path):
    output_dir = tmp_path / "zero2"
    result = launch_two_cpu_ranks("raml_recipes.scripts.sft", TINY_SFT, output_dir, accelerate_config="zero2")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] == 8
    # Sharding optimizer states and gradients changes where they live, not the arithmetic: the same
    # batches give the same losses as plain data parallel (fp32 on both; reduction order may differ).
    assert logged_losses(output_dir) == pytest.approx(logged_losses(ddp_run), rel=1e-4)
    assert (output_dir / "model.safetensors").is_file()
