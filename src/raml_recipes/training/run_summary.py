"""What a training run leaves beside its checkpoint: `metrics.json` and `training_curves.png`."""

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
    """Save the model and the run summary, push when the recipe asks, and leave every rank together.

    A run stopped by SIGTERM (see `preemption.py`) is not finished: it leaves its checkpoint and
    `preempted.json`, no final model, and exits with code 143.
    """
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
