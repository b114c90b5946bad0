"""`global_batch_size`: the sequences per optimizer step a recipe means, whatever the number of processes.

A paper batch is a global number (256 SFT sequences, 4,096 GRPO completions per update), but TRL's
recipes fix `per_device_train_batch_size` and `gradient_accumulation_steps`, so the same recipe trains
another batch on another number of GPUs. With `global_batch_size` set, the accumulation steps are
derived at start-up:

    gradient_accumulation_steps = global_batch_size / (per_device_train_batch_size x processes)

and a launch where that is not a whole number stops with the numbers to change. The number of
processes is the launch's: `WORLD_SIZE` (set by torchrun, `accelerate launch` and DeepSpeed's launcher
for every process), or, while a job script reads a recipe before it launches anything, the size it
plans (`planned_world_size`). After TrainingArguments has set up the process group, the two are
compared, so a launch whose environment and process group disagree cannot train another batch.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

_planned: int | None = None


@contextmanager
def planned_world_size(processes: int):
    """Read recipes as a launch on `processes` processes would (job scripts, before they launch)."""
    global _planned
    if processes < 1:
        raise ValueError(f"the number of processes must be positive, got {processes}")
    previous, _planned = _planned, processes
    try:
        yield
    finally:
        _planned = previous


def launch_world_size() -> int:
    """Processes of this launch: the planned ones, else WORLD_SIZE, else 1."""
    if _planned is not None:
        return _planned
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return max(1, int(value))
    except ValueError:
        raise ValueError(f"WORLD_SIZE must be an integer, got {value!r}") from None


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def derive_accumulation(global_batch: int, per_device: int, processes: int, unit: str = "sequences") -> int:
    """gradient_accumulation_steps for `global_batch`, or a ValueError with the numbers to change."""
    if global_batch < 1:
        raise ValueError(f"global_batch_size must be a positive integer or null, got {global_batch}")
    micro = per_device * processes
    if global_batch % micro == 0:
        return global_batch // micro
    lower, upper = (global_batch // micro) * micro, (global_batch // micro + 1) * micro
    nearby = f"{upper}" if lower == 0 else f"{lower} or {upper}"
    per_device_options = _divisors(global_batch // processes) if global_batch % processes == 0 else []
    fixes = []
    if per_device_options:
        fixes.append(f"per_device_train_batch_size one of {', '.join(map(str, per_device_options[:8]))}")
    fixes.append(f"global_batch_size {nearby}")
    if global_batch % per_device == 0:  # the process counts nearest to this one that the batch allows
        counts = _divisors(global_batch // per_device)
        below = max((c for c in counts if c < processes), default=None)
        above = min((c for c in counts if c > processes), default=None)
        near = [c for c in (below, above) if c]
        if near:
            fixes.append(f"a launch on {' or '.join(map(str, near))} process{'es' if near[-1] > 1 else ''}")
    raise ValueError(
        f"global_batch_size {global_batch} cannot be met exactly: per_device_train_batch_size {per_device} x "
        f"{processes} processes = {micro} {unit} per micro-step, and {global_batch} is not a multiple of {micro}. "
        f"Use {'; or '.join(fixes)}."
    )


def apply_global_batch(config, unit: str = "sequences") -> int | None:
    """Set `config.gradient_accumulation_steps` from `config.global_batch_size` for this launch's world.

    Called before the parent `__post_init__` (GRPO derives its generation batch from the accumulation
    steps there). Returns the number of processes assumed, for `check_world_size`; None when the knob
    is not set.
    """
    if config.global_batch_size is None:
        return None
    processes = launch_world_size()
    steps = derive_accumulation(config.global_batch_size, config.per_device_train_batch_size, processes, unit)
    if config.gradient_accumulation_steps not in (1, steps):
        raise ValueError(
            f"global_batch_size {config.global_batch_size} gives gradient_accumulation_steps {steps} on {processes} "
            f"processes, but gradient_accumulation_steps is set to {config.gradient_accumulation_steps}: set only one"
        )
    config.gradient_accumulation_steps = steps
    return processes


def check_world_size(config, assumed: int | None) -> None:
    """After TrainingArguments set up the process group: it must have the processes the batch was derived for."""
    if assumed is None or _planned is not None:
        return
    if config.world_size != assumed:
        raise ValueError(
            f"global_batch_size was derived for {assumed} processes (WORLD_SIZE) but the process group has "
            f"{config.world_size}: launch with torchrun or `accelerate launch`, which set both"
        )
