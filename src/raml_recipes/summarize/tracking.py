"""Log a finished `raml summarize` run to Weights & Biases (`report_to: [wandb]`).

wandb is imported only when a recipe asks for it, so summarizing never needs it otherwise.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

PREFIX = "compression"


def summary_metrics(summary: dict, prefix: str = PREFIX) -> dict[str, float]:
    """The numbers of summary.json under `compression/...`: counts and `preserved` at the top level,
    the ratio statistics of kept and of all judged compressions under `compression/kept/...` and
    `compression/all/...` (e.g. `compression/kept/compression_ratio_mean`). Text and nulls are left out."""
    metrics = {}
    for key, value in summary.items():
        name = f"{prefix}/{key}"
        if isinstance(value, dict):
            metrics.update(summary_metrics(value, name))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            metrics[name] = value
    return metrics


def log_summary(config, summary: dict, histogram: str | Path | None = None) -> None:
    """With "wandb" in `config.report_to`: one run of job_type summarize holding the recipe's settings
    as its config, the summary's numbers and the length-ratio histogram; finished before returning."""
    if "wandb" not in config.report_to:
        return
    import wandb

    from ..configs import init_wandb_env

    init_wandb_env(config)
    # Passed explicitly, not left to wandb: it reads WANDB_* once per process, at its first setup, so
    # in a process that used wandb before (a notebook) the exports above would be ignored. The project
    # falls back as transformers' WandbCallback does, so an unconfigured summarize run lands next to
    # unconfigured training runs.
    run = wandb.init(
        project=os.getenv("WANDB_PROJECT", "huggingface"),
        entity=os.getenv("WANDB_ENTITY"),
        group=os.getenv("WANDB_RUN_GROUP"),
        job_type="summarize",
        config=dataclasses.asdict(config),
    )
    try:
        metrics: dict = summary_metrics(summary)
        if histogram is not None and Path(histogram).is_file():
            metrics[f"{PREFIX}/length_ratios"] = wandb.Image(str(histogram))
        run.log(metrics)
    finally:
        run.finish()
