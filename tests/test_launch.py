"""The tiny recipe under `accelerate launch` with two CPU processes (gloo)."""

from __future__ import annotations

import json

import pytest

from .conftest import ROOT, launch_two_cpu_ranks


@pytest.mark.slow
def test_two_process_cpu_launch_of_the_tiny_recipe(tmp_path):
    output_dir = tmp_path / "out"
    recipe = ROOT / "recipes" / "tiny" / "sft" / "config_demo.yaml"
    result = launch_two_cpu_ranks("raml_recipes.scripts.sft", recipe, output_dir)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # 32 questions x 2 samples = 64 per epoch; 8 per process x 2 processes = 16 per step: 4 steps x 2 epochs.
    assert metrics["global_step"] == 8
    assert (output_dir / "model.safetensors").is_file()
