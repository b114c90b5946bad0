"""Per-question support sets for SFT: k distinct trajectories, every question seen equally often.

The paper (Fig. 8) varies the number k of distinct correct trajectories per question while holding
the number of training samples per question fixed. Here each question q with n_q distinct
trajectories contributes m samples per epoch (`samples_per_question`, default n_q as in the
paper's scheme), cycling over a support set of min(k, n_q) of them. The support set is drawn from
(seed, epoch, question id) with a stable hash: the same on every rank and across resumes, and new
each epoch (or fixed for the whole run with `redraw_each_epoch=False`).

The plan is a list of row indices per epoch; `SupportSetSampler` feeds it to the DataLoader. Since
the rows themselves are untouched, TRL's default collator, padding-free batches and
length-grouped batches all keep working. Under `accelerate`, consecutive batches of the epoch's
order go to consecutive ranks, so ranks see disjoint parts of the plan.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from torch.utils.data import Sampler

from ..seeds import stable_seed


@dataclass
class SupportSetPlan:
    """Which dataset rows each question contributes in each epoch."""

    rows_by_question: dict[str, list[int]]
    support_size: int | None = None  # k; None means all of a question's trajectories
    samples_per_question: int | None = None  # m; None means n_q, the question's own count
    seed: int = 0
    redraw_each_epoch: bool = True
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _stats: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("support_size", "samples_per_question"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        if not self.rows_by_question:
            raise ValueError("the support-set plan needs at least one question")

    @classmethod
    def from_question_ids(cls, question_ids: Iterable[str], **kwargs) -> SupportSetPlan:
        """Group row indices by question id (row i has question_ids[i])."""
        rows: dict[str, list[int]] = {}
        for index, qid in enumerate(question_ids):
            rows.setdefault(str(qid), []).append(index)
        return cls(rows, **kwargs)

    def support(self, question: str, epoch: int) -> list[int]:
        """The question's support set this epoch: min(k, n_q) distinct rows, in a random order."""
        rows = self.rows_by_question[question]
        k = len(rows) if self.support_size is None else min(self.support_size, len(rows))
        draw = epoch if self.redraw_each_epoch else "all-epochs"
        return random.Random(stable_seed(self.seed, "support", draw, question)).sample(rows, k)

    def samples(self, question: str, epoch: int) -> list[int]:
        """The question's m samples this epoch, cycling over its support set."""
        support = self.support(question, epoch)
        m = self.samples_per_question or len(self.rows_by_question[question])
        return [support[i % len(support)] for i in range(m)]

    def epoch_rows(self, epoch: int) -> list[int]:
        """All samples of the epoch, question by question (unshuffled)."""
        if epoch not in self._cache:
            self._cache = {epoch: [row for q in self.rows_by_question for row in self.samples(q, epoch)]}
        return list(self._cache[epoch])

    def __len__(self) -> int:
        """Samples per epoch: the same in every epoch and for every k."""
        if self.samples_per_question is not None:
            return self.samples_per_question * len(self.rows_by_question)
        return sum(len(rows) for rows in self.rows_by_question.values())

    def questions_short_of_k(self) -> int:
        """How many questions have fewer distinct trajectories than k (they use all they have)."""
        if self.support_size is None:
            return 0
        return sum(len(rows) < self.support_size for rows in self.rows_by_question.values())

    def stats(self, epoch: int = 0) -> dict[str, float]:
        """Numbers to log for an epoch.

        `distinct_per_question` is the support-set size actually used (min(k, n_q), averaged);
        `distinct_seen_per_question` counts the distinct trajectories drawn in epochs 0..epoch, which
        grows with redrawing and stays at the support size with `redraw_each_epoch=False`.
        Computed once per epoch: the trainer asks at every logging step.
        """
        if epoch not in self._stats:
            self._stats[epoch] = self._compute_stats(epoch)
        return dict(self._stats[epoch])

    def _compute_stats(self, epoch: int) -> dict[str, float]:
        counts = [len(rows) for rows in self.rows_by_question.values()]
        distinct = [c if self.support_size is None else min(c, self.support_size) for c in counts]
        epochs = range(epoch + 1) if self.redraw_each_epoch else range(1)
        seen = [len({row for e in epochs for row in self.support(q, e)}) for q in self.rows_by_question]
        stats = {
            "support/questions": len(counts),
            "support/distinct_per_question": sum(distinct) / len(distinct),
            "support/distinct_seen_per_question": sum(seen) / len(seen),
            "support/samples_per_question": len(self) / len(counts),
            "support/questions_short_of_k": self.questions_short_of_k(),
        }
        if self.support_size is not None:
            stats["support/k"] = self.support_size
        return stats


def group_by_length(
    order: list[int], lengths: Sequence[int], batch_size: int, rng: random.Random, megabatch: int = 50
) -> list[int]:
    """Reorder so each batch holds samples of similar length (less padding), keeping randomness.

    The order is cut into windows of `megabatch` batches; each window is sorted by length, cut into
    batches, and its full batches are shuffled. A window's partial batch (only the last window can
    have one) stays at the end so batch boundaries downstream line up.
    """
    window = batch_size * megabatch
    result: list[int] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i], reverse=True)
        batches = [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        tail = [batches.pop()] if len(batches[-1]) < batch_size else []
        rng.shuffle(batches)
        result.extend(i for batch in batches + tail for i in batch)
    return result


class SupportSetSampler(Sampler[int]):
    """Yields the plan's samples for the current epoch, shuffled (and grouped by length if asked).

    `order`: "random" (default), "group_by_length" (needs `lengths` and the global batch size:
    per-device batch x processes), or "sequential" (question by question, for inspection).
    """

    ORDERS = ("random", "group_by_length", "sequential")

    def __init__(
        self,
        plan: SupportSetPlan,
        order: str = "random",
        lengths: Sequence[int] | None = None,
        batch_size: int = 1,
    ):
        if order not in self.ORDERS:
            raise ValueError(f"order must be one of {', '.join(self.ORDERS)}, got {order!r}")
        if order == "group_by_length" and lengths is None:
            raise ValueError("order='group_by_length' needs the sample lengths")
        self.plan, self.order, self.lengths, self.batch_size = plan, order, lengths, batch_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.plan)

    def epoch_order(self, epoch: int) -> list[int]:
        rows = self.plan.epoch_rows(epoch)
        if self.order == "sequential":
            return rows
        rng = random.Random(stable_seed(self.plan.seed, "order", epoch))
        rng.shuffle(rows)
        if self.order == "group_by_length":
            rows = group_by_length(rows, self.lengths, self.batch_size, rng)
        return rows

    def __iter__(self):
        return iter(self.epoch_order(self.epoch))
