"""How a training run ends (`finish_run`), the same for `raml sft` and `raml grpo`, in this order:

1. stopped by SIGTERM or Ctrl-C (`preemption.CheckpointOnSigterm`)? then it is not finished: mark the
   folder `preempted.json` beside its checkpoint and exit 143 (SIGTERM) or 130 (Ctrl-C), no final model;
2. save the final model into output_dir;
3. write `metrics.json` (final metrics, support-set numbers, the log history, the data it trained on)
   and draw `training_curves.png` and `eval_accuracy.png` (`save_run_summary`);
4. a run that resumed after a preemption is finished now: remove its `preempted.json`;
5. push to the Hub when the recipe sets `push_to_hub` (checkpoint branches were pushed during training
   by `callbacks.PushToHubRevisionCallback`);
6. wait for every rank, then end the trainer (W&B's run closes there).

What a run does before training starts is in the scripts, step by step: the output folder's identity
(`output_dir.prepare_output_dir`), W&B's environment (`configs.init_wandb_env`), the callbacks
(`callbacks.run_callbacks`), the run record a model card is built from (`lineage.record_training_run`),
and training itself, resumed from the last checkpoint and stopped in one line on a full disk
(`preemption.resume_checkpoint`, `preemption.stop_on_full_disk`).
"""

from __future__ import annotations

from pathlib import Path

from ..data.io import write_json
from ..plotting import training_curves
from .preemption import (
    INTERRUPTED_EXIT_CODE,
    PREEMPTED_EXIT_CODE,
    PREEMPTED_MARKER,
    mark_preempted,
    preemption_of,
)

ACCURACY_KEYS = ("eval_accuracy", "eval_rewards/accuracy/mean")


def save_run_summary(
    trainer, train_result, curves=("loss", "eval_loss"), curves_label="loss", **extra
) -> Path:
    """Write the run's final metrics, support-set numbers and log history, and plot `curves`; main process only."""
    output_dir = Path(trainer.args.output_dir)
    path = output_dir / "metrics.json"
    if not trainer.is_world_process_zero():
        return path
    summary = {
        "train": train_result.metrics,
        "support_set": trainer.support_stats() if hasattr(trainer, "support_stats") else None,
        "world_size": trainer.args.world_size,
        "global_step": trainer.state.global_step,
        **extra,
        "log_history": trainer.state.log_history,
    }
    write_json(path, summary)
    training_curves(trainer.state.log_history, output_dir / "training_curves.png", curves, curves_label)
    # Held-out accuracy during training (SFT's eval_accuracy, GRPO's accuracy reward at evaluation), on
    # its own axis; nothing is drawn when the run did not measure it.
    training_curves(trainer.state.log_history, output_dir / "eval_accuracy.png", ACCURACY_KEYS, "held-out accuracy")
    return path


def finish_run(trainer, train_result, dataset_name: str, **summary) -> None:
    """The end of a training run: the steps of the module docstring."""
    preemption = preemption_of(trainer)
    if preemption is not None:
        mark_preempted(trainer, preemption)
        trainer.end()
        raise SystemExit(INTERRUPTED_EXIT_CODE if preemption.signal_name == "SIGINT" else PREEMPTED_EXIT_CODE)
    trainer.save_model(trainer.args.output_dir)
    path = save_run_summary(trainer, train_result, **summary)
    if trainer.is_world_process_zero():  # a run that resumed after a SIGTERM is finished now
        (Path(trainer.args.output_dir) / PREEMPTED_MARKER).unlink(missing_ok=True)
    trainer.accelerator.print(f"Model saved to {trainer.args.output_dir}; metrics in {path}")
    if trainer.args.push_to_hub:
        trainer.push_to_hub(dataset_name=dataset_name)
    # Leave together: a rank that destroys the process group while another still writes the summary
    # can leave that one hanging in the teardown.
    trainer.accelerator.wait_for_everyone()
    trainer.end()
