"""What the support-set gradient saves: GRPO optimizer-step time with k of G completions, same rollouts.

One generation batch is generated and scored once, with all G completions per prompt (generation is
not timed). On those same rollouts, optimizer steps (loss forward, backward, AdamW update) are timed
for the gradient from all G, from k as `SupportSetGRPOTrainer` takes it (the other completions out
of the batch), and from k the paper's way (all G through forward and backward, the others masked out
of the loss). Steps are interleaved and the median of `repeats` is kept.

Used by `benchmarks/grpo_support.py` (G = 16, long completions) and by the demo on its own batches:

    python -m raml_recipes.scripts.support_timing --config recipes/tiny/grpo/config_demo.yaml \
        --output_json outputs/lever.json [--repeats 3] [recipe overrides]
"""

from __future__ import annotations

import statistics
import time


def time_support_steps(trainer, repeats: int = 3, ks: list[int] | None = None) -> dict:
    """Step times for each k of `ks` (default: the trainer's support_size) against all G, on one
    generation batch (see the module docstring)."""
    import torch

    group = trainer.num_generations
    ks = ks or [trainer.support_size]
    if any(k is None or not 1 <= k < group for k in ks):
        raise ValueError(f"support sizes must lie in 1..{group - 1} to compare with all {group}, got {ks}")
    model = trainer.model
    model.train()
    trainer.current_gradient_accumulation_steps = 1
    trainer.create_optimizer()
    trainer.support_size = None  # generate and score all G once, TRL's way
    full = trainer._generate_and_score_completions(next(iter(trainer.get_train_dataloader())))
    rows = full["completion_mask"].size(0)
    batches = {f"all_{group}": full}
    for k in ks:
        trainer.support_size = k
        keep = trainer.support_mask(rows)
        batches[f"k_{k}"] = trainer.restrict_to_support(full, keep)
        masked = dict(full, completion_mask=full["completion_mask"] * keep.unsqueeze(1))
        masked["num_items_in_batch"] = masked["completion_mask"].sum()
        batches[f"masked_k_{k}"] = masked

    # CUDA kernels run after their launch returns: without a synchronisation, a step's backward and
    # update would be timed in the next step (the loss's metrics read a value back mid-forward).
    sync = torch.cuda.synchronize if trainer.accelerator.device.type == "cuda" else (lambda: None)

    def optimizer_step(batch) -> float:
        sync()
        start = time.perf_counter()
        with trainer.accelerator.autocast():
            loss = trainer.compute_loss(model, batch)
        loss.backward()
        trainer.optimizer.step()
        trainer.optimizer.zero_grad(set_to_none=True)
        sync()
        return time.perf_counter() - start

    with torch.random.fork_rng():
        optimizer_step(batches[f"k_{ks[-1]}"])  # warm-up
        times = {name: [] for name in batches}
        for _ in range(repeats):
            for name, batch in batches.items():
                times[name].append(optimizer_step(batch))
    seconds = {name: statistics.median(values) for name, values in times.items()}
    return {
        "num_generations": group,
        "support_sizes": ks,
        "completions": rows,
        "completion_tokens": int(full["completion_mask"].sum()),
        "repeats": repeats,
        "step_s": {name: round(value, 4) for name, value in seconds.items()},
        # Per k: its step time over all G's, ours and the paper's way.
        "ratio": {k: round(seconds[f"k_{k}"] / seconds[f"all_{group}"], 3) for k in ks},
        "masked_ratio": {k: round(seconds[f"masked_k_{k}"] / seconds[f"all_{group}"], 3) for k in ks},
    }


if __name__ == "__main__":
    # The command moved to the scripts floor (a training module may not import a script); the old
    # spelling still runs it, for one release.
    import runpy
    import sys

    print("raml_recipes.training.support_timing is deprecated as a command: run raml_recipes.scripts.support_timing",
          file=sys.stderr)  # fmt: skip
    runpy.run_module("raml_recipes.scripts.support_timing", run_name="__main__", alter_sys=True)
