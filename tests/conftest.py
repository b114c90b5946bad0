"""Shared fixtures: offline environment, a tiny model folder, small trajectory datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Never reach for the Hub (a Hub id otherwise takes ~50 s to fail here); wandb runs offline.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
GSM8K_TRAJECTORIES = ROOT / "data" / "trajectories" / "gsm8k_train.jsonl"
R1_TRACES = ROOT / "data" / "reasoning_traces" / "thought_anchors_r1distill_math.jsonl"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from raml_recipes.data.io import read_rows
    from raml_recipes.models.tiny import build_tiny_model

    corpus = [
        row["question"] + "\n" + row["answer"]
        for row in read_rows(ROOT / "data" / "gsm8k" / "train.jsonl")[:300]
    ]
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny-llama"), architecture="llama", corpus=corpus, seed=0
    )


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture
def records():
    """The first 12 questions of the shipped GSM8K trajectory set (3 trajectories each)."""
    from raml_recipes.data.loaders import load_trajectories

    return load_trajectories(str(GSM8K_TRAJECTORIES), max_questions=12)


def launch_two_cpu_ranks(
    module: str, recipe: Path, output_dir: Path, *overrides: str, accelerate_config: str = "cpu"
):
    """`accelerate launch` of a stage script on two CPU ranks (gloo); returns the finished process.

    `accelerate_config` names a file in accelerate_configs/; the GPU ones (zero2, ...) are brought
    down to 2 processes without mixed precision, and DeepSpeed to its CPU accelerator.
    """
    import subprocess
    import sys

    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(ROOT / "accelerate_configs" / f"{accelerate_config}.yaml"),
        "--num_processes", "2", "--mixed_precision", "no",
        "-m", module, "--config", str(recipe), "--output_dir", str(output_dir), *overrides,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu"}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
