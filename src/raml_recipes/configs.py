"""Every recipe knob shared by more than one stage, declared once: argument groups composed into each
stage's config (as open-r1's `configs.py` does).

| group                  | fields                                                                  | composed into |
|------------------------|-------------------------------------------------------------------------|---------------|
| `ModelArguments`       | model_name_or_path, model_revision, trust_remote_code, chat_template_path | evaluate, rollouts, probe |
| `RuntimeArguments`     | dtype, batch_size                                                       | evaluate, rollouts, summarize, probe |
| `VLLMArguments`        | backend, vllm_gpu_memory_utilization, vllm_tensor_parallel_size, vllm_max_model_len, vllm_enforce_eager | evaluate, rollouts, summarize |
| `SamplingArguments`    | temperature, top_p, top_k, seed                                         | evaluate, rollouts, summarize |
| `PromptArguments`      | prompt_template, system_prompt                                          | sft, grpo, evaluate, rollouts, probe |
| `GradingArguments`     | grading, grading_workers, grading_deadline                              | evaluate, summarize |
| `MixtureArguments`     | datasets, mixture_seed                                                  | sft, grpo |
| `GlobalBatchArguments` | global_batch_size                                                       | sft, grpo |
| `HubRevisionArguments` | push_to_hub_revision, hub_model_revision                                | sft, grpo |
| `WandbArguments`       | wandb_entity, wandb_project, wandb_run_group                            | sft, grpo, summarize |
| `ShardArguments`       | shard                                                                   | rollouts, summarize |
| `OverwriteArguments`   | overwrite_output_dir                                                    | sft, grpo, evaluate, summarize |

The stage configs, each with the fields only that stage has: `training/sft_config.py` (`raml sft`),
`training/grpo_config.py` (`raml grpo`), `evaluation/config.py` (`raml evaluate`, `raml rollouts`),
`summarize/config.py` (`raml summarize`), `probe/config.py` (`raml probe`). Where a stage wants another
default than the group's, it takes `with_defaults(Group, field=value)`: the field is still declared
once, with its help text, and the stage's default is visible in its class line.

A group checks its own values (`check_group`); a stage config calls `check_groups(self)` first in its
`__post_init__`, so each group's checks run in every stage that has it. Groups are keyword-only, so a
stage can add fields without defaults after them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from .checks import check_counts, check_positive, check_sampling
from .data.mixture import MixtureSource, parse_sources
from .models.loading import DTYPES
from .prompts import PAPER_SFT_PROMPT, check_prompt_template
from .rewards.grading import MODES

BACKENDS = ("transformers", "vllm")


def check_groups(config) -> None:
    """Run the `check_group` of every argument group `config` is made of, the most basic first."""
    for group in reversed(type(config).__mro__):
        check = group.__dict__.get("check_group")
        if check is not None:
            check(config)


def with_defaults(group: type, **defaults) -> type:
    """`group` with other defaults for some of its fields (their help kept): a stage's own defaults
    without declaring the fields again."""
    namespace: dict = {"__annotations__": {}, "__module__": group.__module__, "__doc__": group.__doc__}
    for f in fields(group):
        if f.name in defaults:
            namespace["__annotations__"][f.name] = f.type
            namespace[f.name] = field(default=defaults.pop(f.name), metadata=f.metadata)
    if defaults:
        raise TypeError(f"{group.__name__} has no field {', '.join(sorted(defaults))}")
    return dataclass(kw_only=True)(type(group.__name__, (group,), namespace))


# ---- Models and how they run --------------------------------------------------------------------------


@dataclass(kw_only=True)
class ModelArguments:
    """The model a sampling or probing stage loads, and where its chat template comes from."""

    model_name_or_path: str = field(metadata={"help": "Hub id, local folder or embedded:<name>."})
    model_revision: str | None = field(
        default=None, metadata={"help": "Model revision (branch, tag or commit)."}
    )
    trust_remote_code: bool = field(
        default=False,
        metadata={"help": "Run the model repository's own code (architectures Transformers lacks); only for "
                  "repositories you trust."},
    )  # fmt: skip
    chat_template_path: str | None = field(
        default=None, metadata={"help": "A .jinja file or tokenizer to take the chat template from."}
    )


@dataclass(kw_only=True)
class RuntimeArguments:
    """How a model runs in this process: its weights' dtype and the sequences per forward or generate call."""

    dtype: str = field(default="auto", metadata={"help": "Weights dtype.", "choices": list(DTYPES)})
    batch_size: int = field(
        default=16, metadata={"help": "Sequences per generate (or forward) call (transformers)."}
    )

    def check_group(self) -> None:
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        check_counts(self, "batch_size")


@dataclass(kw_only=True)
class VLLMArguments:
    """The generation back-end, and vLLM's engine settings when it is vLLM."""

    backend: str = field(
        default="transformers", metadata={"help": "Generation back-end.", "choices": list(BACKENDS)}
    )
    vllm_gpu_memory_utilization: float = field(
        default=0.9, metadata={"help": "vLLM: fraction of GPU memory."}
    )
    vllm_tensor_parallel_size: int = field(default=1, metadata={"help": "vLLM: GPUs per model."})
    vllm_max_model_len: int | None = field(default=None, metadata={"help": "vLLM: context length."})
    vllm_enforce_eager: bool = field(
        default=False,
        metadata={
            "help": "vLLM: no compiled graphs (starts in seconds instead of minutes; slower per token)."
        },
    )

    def check_group(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        check_counts(self, "vllm_tensor_parallel_size")
        check_counts(self, "vllm_max_model_len", none_means="the model's own")
        share = self.vllm_gpu_memory_utilization
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ValueError(f"vllm_gpu_memory_utilization must lie in (0, 1], got {share!r}")


@dataclass(kw_only=True)
class SamplingArguments:
    """How tokens are drawn, and the seed every sample derives from."""

    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature (0: greedy)."})
    top_p: float = field(default=0.8, metadata={"help": "Nucleus sampling (1: off)."})
    top_k: int = field(default=50, metadata={"help": "Top-k sampling (0 or -1: off)."})
    seed: int = field(default=42, metadata={"help": "Sampling seed."})

    def check_group(self) -> None:
        check_sampling(self)


# ---- Prompts and grading ------------------------------------------------------------------------------


@dataclass(kw_only=True)
class PromptArguments:
    """How a question becomes the user turn (`raml_recipes.prompts.render_prompt_text`)."""

    # A stage that fills a null prompt from the model's run record (evaluate, rollouts) sets this True.
    PROMPT_FROM_RECORD = False

    prompt_template: str | None = field(
        default=PAPER_SFT_PROMPT,
        metadata={"help": "User prompt; `{problem}` is replaced by the question. Default: the paper's SFT prompt "
                  "(GRPO: the bare problem). evaluate / rollouts: null takes the prompt the model was trained "
                  "with (its run record), else the paper's SFT prompt."},
    )  # fmt: skip
    system_prompt: str | None = field(
        default=None,
        metadata={"help": "System message (null: none). evaluate / rollouts: null takes the one the model was "
                  'trained with (its run record), "" none whatever the record says.'},
    )  # fmt: skip

    def check_group(self) -> None:
        if self.prompt_template is None:
            if not self.PROMPT_FROM_RECORD:
                raise ValueError("prompt_template must be a user prompt with {problem}, got null")
            return
        check_prompt_template(self.prompt_template)


@dataclass(kw_only=True)
class GradingArguments:
    """How answers are graded: the evaluator's verdicts, the grading processes and their deadline."""

    grading: str = field(
        default="math_verify",
        metadata={
            "help": "math_verify: math-verify's verdicts (the paper's evaluator); lenient: also units, times, "
            "rounded decimals and identities (raml_recipes.rewards.lenient).",
            "choices": list(MODES),
        },
    )
    grading_workers: int | None = field(
        default=None, metadata={"help": "Grading processes (default: CPU cores)."}
    )
    grading_deadline: float | None = field(
        default=None, metadata={"help": "Seconds allowed per graded answer."}
    )

    def check_group(self) -> None:
        if self.grading not in MODES:
            raise ValueError(f"grading must be one of {', '.join(MODES)}, got {self.grading!r}")
        check_counts(self, "grading_workers", none_means="one per CPU core")
        check_positive(self, "grading_deadline")


# ---- Training data and batches ------------------------------------------------------------------------


@dataclass(kw_only=True)  # keyword-only: mixed into TRL's ScriptArguments, whose fields come first
class MixtureArguments:
    """The `datasets` / `mixture_seed` keys of the SFT and GRPO recipes (`raml_recipes.data.mixture`)."""

    datasets: list[MixtureSource] = field(
        default_factory=list,
        metadata={"help": "A mixture instead of dataset_name: TRL's dataset entries (path, name, split, fraction) "
                  "plus max_questions (a cap) and prompt_template per source."},
    )  # fmt: skip
    mixture_seed: int | None = field(
        default=None,
        metadata={"help": "Shuffle each source before its cap and share (null: the sources' order)."},
    )

    def check_data_source(self) -> None:
        """One of dataset_name and datasets, and a well-formed mixture."""
        if self.datasets and self.dataset_name:
            raise ValueError("set dataset_name or datasets (a mixture), not both")
        if not self.datasets and not self.dataset_name:
            raise ValueError("dataset_name is required (or datasets: a mixture of sources)")
        self.datasets = parse_sources(self.datasets)


@dataclass
class GlobalBatchArguments:
    """The `global_batch_size` recipe key of the SFT and GRPO configs (`raml_recipes.training.batch`)."""

    global_batch_size: int | None = field(
        default=None,
        metadata={
            "help": "Sequences per optimizer step (GRPO: completions), over all processes. Set, it derives "
            "gradient_accumulation_steps from the number of processes at start-up. null: use gradient_accumulation_steps."
        },
    )


# ---- Jobs, outputs, the Hub and W&B -------------------------------------------------------------------------


@dataclass(kw_only=True)
class ShardArguments:
    """One job's share of a stage split over a Slurm array (`raml_recipes.runs`)."""

    shard: str = field(
        default="0/1", metadata={"help": "i/n: this job takes every n-th question, starting at the i-th."}
    )

    def check_group(self) -> None:
        parse_shard(self.shard)


def parse_shard(spec: str) -> tuple[int, int]:
    """'i/n' -> (i, n), with 0 <= i < n."""
    try:
        index, count = (int(part) for part in spec.split("/"))
    except ValueError:
        raise ValueError(f"--shard expects i/n (e.g. 0/4), got {spec!r}") from None
    if not 0 <= index < count:
        raise ValueError(f"--shard {spec}: need 0 <= i < n")
    return index, count


@dataclass(kw_only=True)
class OverwriteArguments:
    """The `overwrite_output_dir` key of every stage that writes an output folder (`raml_recipes.identity`)."""

    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace an output_dir made from other settings or inputs (or holding checkpoints of an "
            "earlier run) instead of stopping. Off: such a folder stops the run, naming what changed."
        },
    )


@dataclass
class HubRevisionArguments:
    """Pushing each checkpoint to its own Hub branch, as open-r1 does
    (`raml_recipes.training.callbacks.PushToHubRevisionCallback`)."""

    push_to_hub_revision: bool = field(
        default=False,
        metadata={
            "help": "Push every checkpoint to its own revision branch `<hub_model_revision>-step-<N>` of "
            "`hub_model_id`."
        },
    )
    hub_model_revision: str = field(
        default="main",
        metadata={"help": "Branch name the checkpoint branches are named after (`<revision>-step-<N>`)."},
    )


WANDB_ENV = {
    "wandb_entity": "WANDB_ENTITY",
    "wandb_project": "WANDB_PROJECT",
    "wandb_run_group": "WANDB_RUN_GROUP",
}


@dataclass(kw_only=True)
class WandbArguments:
    """The Weights & Biases project, entity and run group (as in open-r1), applied by `init_wandb_env`.

    W&B reads these from the environment (`WANDB_ENTITY`, `WANDB_PROJECT`, `WANDB_RUN_GROUP`), so a
    recipe value is exported there before anything opens a run; an unset (null) field keeps whatever the
    environment already says, e.g. a cluster-wide `WANDB_ENTITY`.
    """

    wandb_entity: str | None = field(
        default=None,
        metadata={
            "help": "W&B entity (user or team) the run is logged under. The recipe value wins; unset keeps "
            "the environment's WANDB_ENTITY."
        },
    )
    wandb_project: str | None = field(
        default=None,
        metadata={
            "help": "W&B project. The recipe value wins; unset keeps the environment's WANDB_PROJECT "
            "(transformers' default: huggingface)."
        },
    )
    wandb_run_group: str | None = field(
        default=None,
        metadata={
            "help": "W&B run group, e.g. the experiment a sweep of recipes belongs to. The recipe value wins; "
            "unset keeps the environment's WANDB_RUN_GROUP."
        },
    )


def reports_to_wandb(report_to) -> bool:
    """Whether `report_to` (a name, a list of names, "all", "none" or None) includes W&B."""
    if report_to is None:
        return False
    names = [report_to] if isinstance(report_to, str) else list(report_to)
    return "wandb" in names or "all" in names


def init_wandb_env(args) -> None:
    """Export the recipe's non-null wandb_* values as WANDB_* variables when the run reports to W&B.

    Call before the trainer is built, and before anything else in the process uses wandb: wandb reads
    the WANDB_* variables once, at its first `wandb.init`/`wandb.setup`, and ignores later changes.
    transformers' `WandbCallback` opens the run with
    `wandb.init(project=os.getenv("WANDB_PROJECT", "huggingface"))` and ignores
    `TrainingArguments.project` (which transformers 5 uses for Trackio only), so the environment is
    the one place the project can be set: leaving `project` alone, `wandb_project` is what names the W&B
    project. Entity and group have no TrainingArguments field at all; `wandb.init` reads them from
    the environment. This changes the environment of this process (and of the processes it starts).
    """
    if not reports_to_wandb(getattr(args, "report_to", None)):
        return
    for name, variable in WANDB_ENV.items():
        value = getattr(args, name, None)
        if value is not None:
            os.environ[variable] = str(value)
