"""The tiny recipe under `accelerate launch` with two CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_two_process_cpu_launch_of_the_tiny_recipe(tmp_path):
    output_dir = tmp_path / "out"
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ROOT / "accelerate_configs" / "cpu.yaml"),
        "-m", "raml_recipes.scripts.sft",
        "--config", str(ROOT / "recipes" / "tiny" / "sft" / "config_demo.yaml"),
        "--output_dir", str(output_dir),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert metrics["world_size"] == 2
    # 32 questions x 2 samples = 64 per epoch; 8 per process x 2 processes = 16 per step: 4 steps x 2 epochs.
    assert metrics["global_step"] == 8
    assert (output_dir / "model.safetensors").is_file()
