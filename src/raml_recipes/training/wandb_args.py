"""Recipe fields naming the Weights & Biases project, entity and run group (as in open-r1).

W&B reads these from the environment (`WANDB_ENTITY`, `WANDB_PROJECT`, `WANDB_RUN_GROUP`), so a
recipe value is exported there before anything opens a run; an unset (null) field keeps whatever the
environment already says, e.g. a cluster-wide `WANDB_ENTITY`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

WANDB_ENV = {
    "wandb_entity": "WANDB_ENTITY",
    "wandb_project": "WANDB_PROJECT",
    "wandb_run_group": "WANDB_RUN_GROUP",
}


# kw_only: the fields all have defaults, and a keyword-only mixin can sit under a dataclass whose own
# fields have none (SummarizeConfig) without the "non-default argument follows default argument" error.
@dataclass(kw_only=True)
class WandbArguments:
    """Mixed into SupportSetSFTConfig / SupportSetGRPOConfig / SummarizeConfig; applied by `init_wandb_env`."""

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
