"""Recipe dataclasses for the SFT stage: TRL's, plus the support-set and prompt knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trl import ScriptArguments, SFTConfig

from ..checks import check_counts, check_positive
from ..configs import (
    GlobalBatchArguments,
    HubRevisionArguments,
    MixtureArguments,
    OverwriteArguments,
    PromptArguments,
    WandbArguments,
    check_groups,
)
from .batch import apply_global_batch, check_world_size


@dataclass
class SFTScriptArguments(ScriptArguments, MixtureArguments, PromptArguments):
    """Where the trajectories come from and how a question becomes a prompt.

    `dataset_name` is a canonical trajectory dataset: a local .jsonl/.json/.parquet file, a
    `save_to_disk` folder, or a Hub dataset id.
    """

    max_questions: int | None = field(default=None, metadata={"help": "Use only the first N questions."})
    eval_dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Held-out trajectories for the evaluation loss (when eval_strategy is set). Default: the "
            "`dataset_test_split` split of dataset_name, which must then be a folder or a Hub id."
        },
    )
    eval_accuracy_questions: int | None = field(
        default=None,
        metadata={"help": "At each evaluation, also answer the first N held-out questions greedily with the model "
                  "being trained and grade them (eval_accuracy). null: loss only."},
    )  # fmt: skip
    eval_accuracy_max_new_tokens: int = field(
        default=256, metadata={"help": "Token budget of each eval_accuracy answer (eval_accuracy_clipped: share cut)."}
    )

    def __post_init__(self):
        check_groups(self)
        check_counts(self, "max_questions", "eval_accuracy_questions", "eval_accuracy_max_new_tokens")
        if self.dataset_name is None and not self.datasets:
            raise ValueError(
                "dataset_name is required: a trajectory file (.jsonl/.json/.parquet), folder or Hub id "
                "(or datasets: a mixture of sources)"
            )
        self.check_data_source()
        if self.dataset_streaming:
            raise ValueError(
                "dataset_streaming is not supported: support sets need every question's trajectories up front"
            )

    def eval_source(self) -> tuple[str, str]:
        """(name, split) of the evaluation trajectories."""
        if self.eval_dataset_name:
            return self.eval_dataset_name, self.dataset_test_split
        if self.datasets:
            raise ValueError("eval_strategy is set with a mixture (datasets): set eval_dataset_name to held-out trajectories")
        if Path(self.dataset_name).is_file():
            raise ValueError(
                f"eval_strategy is set but dataset_name {self.dataset_name} is a single file, with no test split: "
                "set eval_dataset_name to a file of held-out trajectories"
            )
        return self.dataset_name, self.dataset_test_split


@dataclass
class SupportSetSFTConfig(SFTConfig, GlobalBatchArguments, HubRevisionArguments, WandbArguments, OverwriteArguments):
    """`SFTConfig` plus the paper's support-set knobs (see `raml_recipes.data.support_set`),
    `global_batch_size` (`training.batch`), the checkpoint-branch Hub fields (`HubRevisionArguments`) and
    the W&B project/entity/group (`WandbArguments`)."""

    support_size: int | None = field(
        default=None,
        metadata={"help": "k: distinct correct trajectories per question per epoch (None: all of them)."},
    )
    samples_per_question: int | None = field(
        default=None,
        metadata={
            "help": "m: training samples per question per epoch, the same for every k (None: the question's number "
            "of trajectories, the paper's scheme)."
        },
    )
    support_redraw: str = field(
        default="epoch",
        metadata={
            "help": "'epoch': draw a new support set every epoch; 'fixed': one draw for the whole run.",
            "choices": ["epoch", "fixed"],
        },
    )

    def __post_init__(self):
        assumed_processes = apply_global_batch(self)
        super().__post_init__()
        check_world_size(self, assumed_processes)
        check_positive(self, "learning_rate")
        for name in ("support_size", "samples_per_question"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be a positive integer or null, got {value}")
        if self.support_redraw not in ("epoch", "fixed"):
            raise ValueError(f"support_redraw must be 'epoch' or 'fixed', got {self.support_redraw!r}")
