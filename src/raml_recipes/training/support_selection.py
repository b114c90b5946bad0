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

from ..seeds import stable_seed

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


# Per-completion-token tensors of TRL's scored batch, right-padded to the longest completion.
PER_TOKEN_KEYS = (
    "completion_ids", "completion_mask", "tool_mask", "old_per_token_logps", "ref_per_token_logps",
    "sampling_per_token_logps", "importance_sampling_ratio",
)  # fmt: skip


def trim_completion_padding(batch: dict) -> dict:
    """Drop the completion columns that are padding in every remaining row.

    The batch was padded to the longest of all G completions; once some rows are gone, the longest
    remaining one may be shorter, and the columns beyond it would only cost compute. They sit after
    every real token (right padding), so no kept position attends to them: the loss is unchanged.
    """
    mask = batch["completion_mask"]
    width = mask.size(1)
    used = mask.any(dim=0).nonzero()
    keep = int(used.max()) + 1 if used.numel() else 1
    if keep == width:
        return batch
    trimmed = dict(batch)
    for key in PER_TOKEN_KEYS:
        value = batch.get(key)
        if isinstance(value, torch.Tensor) and value.dim() == 2 and value.size(1) == width:
            trimmed[key] = value[:, :keep]
    return trimmed
