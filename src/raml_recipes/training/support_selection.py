"""Which k of a prompt's G completions take the policy gradient (the paper's GRPO support set).

A strategy is a function `(num_generations, support_size, generator) -> indices` returning k distinct
positions in `range(num_generations)`. It sees neither rewards nor completions: that is what lets the
trainer decide the subset before any reference or old-policy forward pass, so the unselected
completions cost nothing after generation and scoring. Add one with `@register_support_strategy`;
a strategy that needs the rewards belongs in a trainer subclass overriding `support_mask`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..data.support_set import stable_seed

SupportStrategy = Callable[[int, int, torch.Generator], torch.Tensor]
SUPPORT_STRATEGIES: dict[str, SupportStrategy] = {}


def register_support_strategy(name: str):
    def register(function: SupportStrategy) -> SupportStrategy:
        SUPPORT_STRATEGIES[name] = function
        return function

    return register


@register_support_strategy("random")
def random_subset(num_generations: int, support_size: int, generator: torch.Generator) -> torch.Tensor:
    """A uniform k-subset of the group, as in the paper's implementation."""
    return torch.randperm(num_generations, generator=generator)[:support_size]


@register_support_strategy("first")
def first_subset(num_generations: int, support_size: int, generator: torch.Generator) -> torch.Tensor:
    """The first k completions in generation order (sampling already makes their order random)."""
    return torch.arange(support_size)


def get_support_strategy(name: str) -> SupportStrategy:
    if name not in SUPPORT_STRATEGIES:
        raise ValueError(
            f"unknown support_strategy {name!r}: use one of {', '.join(sorted(SUPPORT_STRATEGIES))}"
        )
    return SUPPORT_STRATEGIES[name]


def support_mask(
    num_rows: int,
    first_row: int,
    num_generations: int,
    support_size: int,
    strategy: SupportStrategy,
    seed_parts: tuple,
) -> torch.Tensor:
    """Boolean mask over rows `first_row .. first_row + num_rows` of the global generation batch.

    Rows are grouped by prompt in blocks of `num_generations` (TRL's sampler repeats each prompt G
    times in a row). Each group's subset is drawn from a generator seeded by `seed_parts` and the
    group's global index, so every process computes the same subset for the same group, whatever
    its own slice of the batch.
    """
    mask = torch.zeros(num_rows, dtype=torch.bool)
    first_group = first_row // num_generations
    last_group = (first_row + num_rows - 1) // num_generations
    for group in range(first_group, last_group + 1):
        generator = torch.Generator().manual_seed(stable_seed(*seed_parts, group) % 2**63)
        chosen = strategy(num_generations, support_size, generator)
        if chosen.numel() != support_size or chosen.unique().numel() != support_size:
            raise ValueError(
                f"support strategy returned {chosen.tolist()}, not {support_size} distinct positions"
            )
        if chosen.min() < 0 or chosen.max() >= num_generations:
            raise ValueError(f"support strategy returned {chosen.tolist()}, outside range({num_generations})")
        rows = group * num_generations + chosen - first_row
        rows = rows[(rows >= 0) & (rows < num_rows)]
        mask[rows] = True
    return mask


def restrict_rows(batch: dict, keep: torch.Tensor) -> dict:
    """The batch with only the rows where `keep` is True; per-batch entries (scalars) are kept as they are."""
    num_rows = keep.numel()
    indices = keep.nonzero().squeeze(1)
    restricted = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.dim() > 0 and value.size(0) == num_rows:
            restricted[key] = value[keep.to(value.device)]
        elif isinstance(value, list) and len(value) == num_rows:
            restricted[key] = [value[i] for i in indices.tolist()]
        else:
            restricted[key] = value
    return restricted
