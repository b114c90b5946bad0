"""A recipe read as rank 0 of an N-process launch reads it, without N processes or GPUs.

`launch_settings(N, [(stage, argv), ...])` runs one child process that looks like rank 0 of an
`accelerate launch` on N processes (WORLD_SIZE, RANK, LOCAL_RANK set as torchrun sets them,
ACCELERATE_USE_CPU as `accelerate launch` sets it on CPU machines), with a PyTorch "fake" process group
of N ranks in place of the real one (the one stand-in: there are no N GPUs here), and parses each recipe
with the stage's own parser. TrainingArguments and accelerate then see N processes, so
`global_batch_size`, TRL's generation-batch arithmetic and the project's checks run as at the start of
a real launch. Returns, per request, the parsed fields plus derived batch numbers, or the error line.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT

_CHILD = r"""
import dataclasses, enum, json, os, sys
processes, world_size = int(sys.argv[1]), sys.argv[3]
os.environ.update(ACCELERATE_USE_CPU="true", WORLD_SIZE=world_size, RANK="0", LOCAL_RANK="0",
                  LOCAL_WORLD_SIZE=str(processes), MASTER_ADDR="127.0.0.1", MASTER_PORT="29599")
import torch.distributed as dist
from torch.testing._internal.distributed.fake_pg import FakeStore
dist.init_process_group("fake", store=FakeStore(), rank=0, world_size=processes)
import transformers.training_args
transformers.training_args.is_torch_bf16_gpu_available = lambda: True   # GPU recipes ask for bf16
import raml_recipes.training.grpo_config as grpo_config
grpo_config.vllm_installed = lambda: True                               # and for vLLM
grpo_config.cuda_available = lambda: True                               # and the GPU its settings need
import importlib
from raml_recipes.errors import RecipeError
from raml_recipes.recipes import parse_recipe

def plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return repr(value)

results = []
for stage, argv in json.loads(sys.argv[2]):
    try:
        parsed = parse_recipe(importlib.import_module(f"raml_recipes.scripts.{stage}").make_parser(), argv)
    except RecipeError as error:
        results.append({"error": str(error)})
        continue
    fields = {}
    for obj in parsed:
        for field in dataclasses.fields(obj):
            fields.setdefault(field.name, plain(getattr(obj, field.name)))
    args = parsed[1]
    fields["processes"] = args.world_size
    fields["sequences_per_step"] = args.per_device_train_batch_size * args.world_size * args.gradient_accumulation_steps
    if stage == "grpo":
        fields["prompts_per_generation"] = args.generation_batch_size // args.num_generations
        fields["prompts_per_step"] = fields["sequences_per_step"] // args.num_generations
        fields["updates_per_generation"] = args.steps_per_generation / args.gradient_accumulation_steps
    results.append({"fields": fields})
print("RESULTS " + json.dumps(results))
"""


def launch_settings(
    processes: int, requests: list[tuple[str, list[str]]], world_size_env: int | None = None
) -> list[dict]:
    """`world_size_env` sets a WORLD_SIZE other than the process group's (a launch gone wrong)."""
    env_size = str(processes if world_size_env is None else world_size_env)
    command = [sys.executable, "-c", _CHILD, str(processes), json.dumps(requests), env_size]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULTS ") :])
