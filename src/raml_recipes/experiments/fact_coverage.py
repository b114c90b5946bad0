"""The memorization ceiling of the support-size experiment: held-out arithmetic seen in training.

A trajectory of the synthetic task is a chain of arithmetic facts (`8 × 17 = 136`). A held-out
question is *covered* by a run's training data when one of its reference trajectories uses only
facts that occur in the trajectories the run trained on (its support sets). A model that learned
the templates perfectly but no arithmetic beyond the facts it was shown answers at most the
covered questions, so coverage bounds what memorization alone can score, and it grows with k:
more trajectories per question carry more distinct facts. A model that knows arithmetic is not
bound by it; that is the point of measuring it next to accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..data.support_set import SupportSetPlan
from ..data.synthetic import EQUATION


def arithmetic_facts(trajectory: str) -> set[tuple[str, str, str, str]]:
    """The `a op b = c` facts written in a trajectory, as (a, op, b, c) strings."""
    return set(EQUATION.findall(trajectory))


def support_trajectories(train: Sequence[dict], k: int, samples_per_question: int, seed: int) -> list[str]:
    """The trajectories a run with support size k and this seed trains on (one draw for the run).

    The same plan as the SFT trainer's with `support_redraw: fixed`: one row per trajectory in file
    order, grouped by question id, drawn from the same seed. That matches the trainer's rows while
    it drops none (the synthetic trajectories are all distinct, correct and far below max_length).
    """
    rows = [(record["id"], text) for record in train for text in record["trajectories"]]
    plan = SupportSetPlan.from_question_ids(
        [qid for qid, _ in rows],
        support_size=k,
        samples_per_question=samples_per_question,
        seed=seed,
        redraw_each_epoch=False,
    )
    return [rows[index][1] for question in plan.rows_by_question for index in plan.support(question, 0)]


def heldout_coverage(train_trajectories: Sequence[str], heldout: Sequence[dict]) -> float:
    """Percent of held-out questions with a reference trajectory made only of facts seen in training."""
    if not heldout:
        raise ValueError("heldout_coverage needs at least one held-out question")
    seen = set().union(*(arithmetic_facts(text) for text in train_trajectories))
    covered = sum(
        any(arithmetic_facts(text) <= seen for text in record["trajectories"]) for record in heldout
    )
    return 100.0 * covered / len(heldout)
