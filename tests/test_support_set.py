"""Support-set invariants: equal samples per question, k distinct, seeded, redrawn, sharded."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
from accelerate.data_loader import prepare_data_loader
from torch.utils.data import DataLoader

from raml_recipes.data.support_set import SupportSetPlan, SupportSetSampler

from .conftest import ROOT

# 30 questions with 1..8 distinct trajectories each, rows interleaved as in a real dataset.
TRAJECTORIES_PER_QUESTION = {f"q{i}": 1 + i % 8 for i in range(30)}
QUESTION_IDS = [q for round_ in range(8) for q, n in TRAJECTORIES_PER_QUESTION.items() if round_ < n]


def plan(k, m=8, seed=0, **kwargs):
    return SupportSetPlan.from_question_ids(
        QUESTION_IDS, support_size=k, samples_per_question=m, seed=seed, **kwargs
    )


def question_of(row):
    return QUESTION_IDS[row]


@pytest.mark.parametrize("k", [1, 2, 4])
def test_every_question_gets_the_same_number_of_samples_for_every_k(k):
    sampler = SupportSetSampler(plan(k))
    for epoch in range(3):
        sampler.set_epoch(epoch)
        order = list(sampler)
        assert len(order) == len(sampler) == 8 * 30
        assert set(Counter(question_of(row) for row in order).values()) == {8}


@pytest.mark.parametrize("k", [1, 2, 4])
def test_each_question_cycles_over_k_distinct_trajectories(k):
    p = plan(k)
    for question, n in TRAJECTORIES_PER_QUESTION.items():
        samples = p.samples(question, epoch=0)
        counts = Counter(samples)
        assert len(counts) == min(k, n)
        assert all(question_of(row) == question for row in samples)
        assert max(counts.values()) - min(counts.values()) <= 1  # cycling keeps the repeats balanced
    assert p.questions_short_of_k() == sum(n < k for n in TRAJECTORIES_PER_QUESTION.values())


def test_paper_default_samples_per_question_is_the_question_count_for_every_k():
    for k in (1, 2, 4, None):
        p = plan(k, m=None)
        counts = Counter(question_of(row) for row in p.epoch_rows(0))
        assert counts == Counter(TRAJECTORIES_PER_QUESTION)


def test_the_draw_is_deterministic_given_the_seed():
    assert list(SupportSetSampler(plan(2, seed=7))) == list(SupportSetSampler(plan(2, seed=7)))
    assert list(SupportSetSampler(plan(2, seed=7))) != list(SupportSetSampler(plan(2, seed=8)))


def test_the_draw_does_not_depend_on_python_hash_randomisation():
    code = (
        "from tests.test_support_set import plan; from raml_recipes.data.support_set import SupportSetSampler;"
        "s = SupportSetSampler(plan(2, seed=3)); s.set_epoch(1); print(list(s))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


def test_a_new_support_set_is_drawn_each_epoch_unless_fixed():
    redrawn, fixed = plan(2), plan(2, redraw_each_epoch=False)
    changed = [
        q
        for q, n in TRAJECTORIES_PER_QUESTION.items()
        if n > 2 and set(redrawn.support(q, 0)) != set(redrawn.support(q, 1))
    ]
    assert len(changed) >= 10
    assert all(set(fixed.support(q, 0)) == set(fixed.support(q, 5)) for q in TRAJECTORIES_PER_QUESTION)
    assert (
        redrawn.stats(epoch=3)["support/distinct_seen_per_question"]
        > fixed.stats(epoch=3)["support/distinct_seen_per_question"]
    )
    assert (
        fixed.stats(epoch=3)["support/distinct_seen_per_question"]
        == fixed.stats()["support/distinct_per_question"]
    )
    # The order of the samples changes every epoch either way.
    sampler = SupportSetSampler(fixed)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first


@pytest.mark.parametrize("order", ["random", "group_by_length"])
def test_two_ranks_split_the_epoch_without_overlap(order):
    p = plan(4)
    lengths = [10 + (7 * row) % 90 for row in range(len(QUESTION_IDS))]
    batch_size, ranks = 4, 2
    sampler = SupportSetSampler(p, order=order, lengths=lengths, batch_size=batch_size * ranks)
    sampler.set_epoch(2)
    epoch = list(sampler)
    assert len(epoch) % (batch_size * ranks) == 0  # 240 samples: no wrap-around padding in this case
    seen = []
    for rank in range(ranks):
        loader = prepare_data_loader(
            DataLoader(list(range(len(QUESTION_IDS))), batch_size=batch_size, sampler=sampler),
            num_processes=ranks,
            process_index=rank,
            put_on_device=False,
        )
        loader.set_epoch(2)
        seen.append([row for batch in loader for row in batch.tolist()])
    # Each plan slot goes to exactly one rank: the ranks' samples add up to the epoch, slot by slot.
    interleaved = [
        row
        for step in range(len(seen[0]) // batch_size)
        for rank in range(ranks)
        for row in seen[rank][step * batch_size : (step + 1) * batch_size]
    ]
    assert interleaved == epoch
    assert Counter(seen[0]) + Counter(seen[1]) == Counter(epoch)


def padding_waste(order, lengths, batch_size):
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    padded = sum(max(lengths[r] for r in batch) * len(batch) for batch in batches)
    return 1 - sum(lengths[r] for r in order) / padded


def test_grouping_by_length_cuts_padding_and_keeps_the_samples():
    p = plan(4)
    lengths = [20 + (37 * row) % 400 for row in range(len(QUESTION_IDS))]
    shuffled = SupportSetSampler(p, order="random").epoch_order(0)
    grouped = SupportSetSampler(p, order="group_by_length", lengths=lengths, batch_size=8).epoch_order(0)
    assert Counter(grouped) == Counter(shuffled) == Counter(p.epoch_rows(0))
    assert padding_waste(grouped, lengths, 8) < 0.5 * padding_waste(shuffled, lengths, 8)


def test_bad_knobs_are_refused():
    with pytest.raises(ValueError, match="support_size must be a positive integer"):
        plan(0)
    with pytest.raises(ValueError, match="order must be one of"):
        SupportSetSampler(plan(1), order="bfd")
    with pytest.raises(ValueError, match="needs the sample lengths"):
        SupportSetSampler(plan(1), order="group_by_length")


def test_each_question_draws_its_own_support_set():
    """The draw depends on the question: 200 questions of 8 trajectories, k = 2, spread their chosen
    positions over the 28 possible pairs (a draw seeded without the question gives every question the
    same pair, i.e. the same renderings), and each position is chosen about k/n of the time."""
    from collections import Counter

    from raml_recipes.data.support_set import SupportSetPlan

    rows = {f"q{i}": list(range(8 * i, 8 * i + 8)) for i in range(200)}
    plan = SupportSetPlan(rows, support_size=2, seed=0)
    pairs = Counter(frozenset(row - rows[q][0] for row in plan.support(q, epoch=0)) for q in rows)
    assert len(pairs) >= 20 and max(pairs.values()) <= 25  # 200 draws over 28 pairs: about 7 each
    positions = Counter(row - rows[q][0] for q in rows for row in plan.support(q, epoch=0))
    assert all(30 <= positions[p] <= 70 for p in range(8))  # 400 picks over 8 positions: about 50 each
    # Redrawn each epoch, per question: the next epoch's pairs differ for most questions.
    moved = sum(set(plan.support(q, 0)) != set(plan.support(q, 1)) for q in rows)
    assert moved >= 150
