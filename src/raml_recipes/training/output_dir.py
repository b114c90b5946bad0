"""A training run's output folder before anything loads: whose it is, and whether to resume it.

The folder's identity (`raml_recipes.identity`) is what the weights depend on: the recipe's effective
settings, less those that only change how the run is logged, saved or launched, and the digests of the
starting model and the training data. Then:
- same identity, `--resume_from_checkpoint auto`: resume as before;
- same identity, checkpoints left and no resume asked: stop (a fresh run would interleave its
  checkpoints with the old run's), saying how to resume or start over;
- another identity: stop, naming what changed;
- `--overwrite_output_dir true`: the old run's checkpoints and markers are removed, the run starts over.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import OutputMismatch
from ..identity import OVERWRITE, check_identity, make_identity, read_identity

# Fields that change how a run is logged, saved, evaluated or launched, not the weights it trains.
RUN_CONTROL = {
    "output_dir", "overwrite_output_dir", "resume_from_checkpoint", "run_name", "report_to", "project",
    "local_rank", "disable_tqdm", "debug", "skip_memory_metrics", "include_num_input_tokens_seen",
    "enable_jit_checkpoint", "use_cpu", "deepspeed", "fsdp", "fsdp_config", "accelerator_config",
    "parallelism_config", "torch_empty_cache_steps", "do_eval", "do_predict", "per_device_eval_batch_size",
    "bf16_full_eval", "fp16_full_eval", "batch_eval_metrics", "prediction_loss_only", "load_best_model_at_end",
    "metric_for_best_model", "greater_is_better", "include_for_metrics", "num_completions_to_print",
    "dataset_test_split", "eval_dataset_name",
}  # fmt: skip
RUN_CONTROL_PREFIXES = ("save_", "logging_", "log_", "hub_", "push_to_hub", "wandb_", "trackio_", "eval_",
                        "ddp_", "dataloader_")  # fmt: skip


def training_settings(*configs) -> dict:
    """The settings of a training run's identity: every field of its config dataclasses but the
    run-control ones. With `global_batch_size` set, the accumulation steps derive from the number of
    processes, so a run resumed on another count keeps its identity."""
    settings = {}
    for config in configs:
        values = config.to_dict() if hasattr(config, "to_dict") else vars(config)
        for key, value in values.items():
            if key in RUN_CONTROL or key.startswith(RUN_CONTROL_PREFIXES) or key.startswith("_"):
                continue
            settings.setdefault(key, value)
    if settings.get("global_batch_size"):
        settings.pop("gradient_accumulation_steps", None)
        settings.pop("steps_per_generation", None)
    return settings


def checkpoints_in(output_dir: Path) -> list[Path]:
    return sorted(output_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]) if p.name.split("-")[1].isdigit() else -1)


def prepare_output_dir(stage: str, script_args, training_args, model_args) -> None:
    """Check (every process) and record (main process) the output folder's identity; see the module
    docstring. Raises OutputMismatch with one line naming the cause and the way on."""
    output_dir = Path(training_args.output_dir)
    overwrite = training_args.overwrite_output_dir
    if overwrite and training_args.resume_from_checkpoint is not None:
        raise OutputMismatch(
            "--overwrite_output_dir starts the run over and --resume_from_checkpoint continues one: pass one of them"
        )
    identity = make_identity(
        stage,
        training_settings(script_args, training_args, model_args),
        {"model": model_args.model_name_or_path, "data": script_args.dataset_name,
         **{f"data source {s.path}": s.path for s in getattr(script_args, "datasets", None) or []}},  # fmt: skip
    )
    main = training_args.process_index == 0
    recorded = read_identity(output_dir) is not None
    checkpoints = checkpoints_in(output_dir) if output_dir.is_dir() else []
    changed = check_identity(output_dir, identity, overwrite=overwrite, write=False)
    if checkpoints and not overwrite and training_args.resume_from_checkpoint is None:
        raise OutputMismatch(
            f"{output_dir} holds checkpoints of an earlier run ({checkpoints[-1].name}"
            f"{'' if recorded else ', made before runs recorded their identity'}): pass "
            f"--resume_from_checkpoint auto to continue it, or {OVERWRITE}"
        )
    if checkpoints and not recorded and training_args.resume_from_checkpoint is not None and main:
        print(f"{output_dir}: no {stage} identity recorded (an older run); resuming its checkpoint unchecked", flush=True)
    if overwrite and main and (changed or checkpoints):
        for checkpoint in checkpoints:
            shutil.rmtree(checkpoint)
        (output_dir / "preempted.json").unlink(missing_ok=True)
        print(f"{output_dir}: --overwrite_output_dir: removed {len(checkpoints)} checkpoint(s) of the earlier run", flush=True)
    if main:
        check_identity(output_dir, identity, overwrite=True)
