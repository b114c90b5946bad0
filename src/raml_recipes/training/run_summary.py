"""What a training run leaves beside its checkpoint: `metrics.json` and `training_curves.png`."""

from __future__ import annotations

from pathlib import Path

from ..data.io import write_json
from ..plotting import training_curves


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
    return path
