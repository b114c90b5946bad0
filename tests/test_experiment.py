"""`raml experiment support-size --quick`: data, one SFT run per (k, seed), held-out evaluation, results."""

from __future__ import annotations

import json

import pytest

from raml_recipes import cli
from raml_recipes.experiments.fact_coverage import arithmetic_facts, heldout_coverage, support_trajectories
from raml_recipes.experiments.support_size import SupportSizeExperiment, aggregate, markdown


def test_aggregate_gives_mean_and_std_over_seeds():
    runs = [
        {"k": 1, "seed": 0, "steps": 10, "greedy": 10.0, "avg@4": 5.0, "memorization_ceiling": 4.0},
        {"k": 1, "seed": 1, "steps": 10, "greedy": 20.0, "avg@4": 15.0, "memorization_ceiling": 6.0},
        {"k": 4, "seed": 0, "steps": 10, "greedy": 30.0, "avg@4": 30.0, "memorization_ceiling": 9.0},
    ]
    rows = aggregate(runs, [1, 4], n=4)
    assert rows[0]["greedy_mean"] == 15.0 and rows[0]["greedy_std"] == pytest.approx(7.0711, abs=1e-4)
    assert rows[1]["seeds"] == 1 and rows[1]["greedy_std"] == 0.0
    assert "| 1 | 2 | 10 | 15.0 ± 7.1 | 10.0 ± 7.1 | 5.0 ± 1.4 |" in markdown(rows, 4)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="ks"):
        SupportSizeExperiment(ks=[0, 2])
    with pytest.raises(ValueError, match="seeds"):
        SupportSizeExperiment(seeds=[])
    with pytest.raises(ValueError, match="num_samples"):
        SupportSizeExperiment(num_samples=0)
    assert SupportSizeExperiment(ks=[1, 2, 8]).samples_per_question == 8


@pytest.mark.slow
def test_quick_support_size_experiment_writes_its_table_figure_and_json(tmp_path, capsys):
    out = tmp_path / "support-size"
    assert cli.main(["experiment", "support-size", "--quick", "--out", str(out)]) == 0
    result = json.loads((out / "results.json").read_text())
    runs = result["runs"]
    assert sorted((run["k"], run["seed"]) for run in runs) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    # Same samples per question for every k, so the same steps; k distinct trajectories drawn.
    assert len({run["steps"] for run in runs}) == 1
    assert all(run["distinct_per_question"] == run["k"] and run["samples_per_question"] == 2 for run in runs)
    # One draw for the whole run: a k=1 run never sees a second trajectory of a question.
    assert all(run["distinct_seen_per_question"] == run["k"] for run in runs)
    for run in runs:
        greedy = json.loads(
            (out / "runs" / f"k{run['k']}-seed{run['seed']}" / "greedy" / "summary.json").read_text()
        )
        (heldout,) = greedy["benchmarks"].values()
        assert heldout["questions"] == 8 and run["greedy"] == heldout["pass@1"]
    table = (out / "results.md").read_text()
    for row in result["rows"]:
        assert (
            f"| {row['k']} | 2 | {runs[0]['steps']} | {row['greedy_mean']:.1f} ± {row['greedy_std']:.1f} |"
            in table
        )
        assert f"| {row['ceiling_mean']:.1f} ± {row['ceiling_std']:.1f} |" in table
    # A seed's k=1 draw is the first of its k=2 draw (random.sample), so the ceiling cannot shrink.
    for seed in (0, 1):
        by_k = {run["k"]: run["memorization_ceiling"] for run in runs if run["seed"] == seed}
        assert 0.0 <= by_k[1] <= by_k[2] <= 100.0
    assert (out / "accuracy_vs_k.png").stat().st_size > 0
    # Held-out questions share no (template, numbers) with training.
    train = {json.loads(line)["key"] for line in (out / "data" / "train.jsonl").open()}
    heldout = {json.loads(line)["key"] for line in (out / "data" / "heldout.jsonl").open()}
    assert train and heldout and not train & heldout

    capsys.readouterr()
    assert cli.main(["experiment", "support-size", "--quick", "--out", str(out)]) == 0  # every run skipped
    assert json.loads((out / "results.json").read_text())["runs"] == runs


def test_memorization_ceiling_counts_heldout_questions_whose_arithmetic_was_seen():
    heldout = [
        {"id": "h0", "trajectories": ["2 × 3 = 6\n6 + 1 = 7", "3 × 2 = 6\n6 + 1 = 7"]},
        {"id": "h1", "trajectories": ["5 - 4 = 1"]},
    ]
    assert arithmetic_facts(heldout[0]["trajectories"][0]) == {("2", "×", "3", "6"), ("6", "+", "1", "7")}
    assert heldout_coverage(["2 × 3 = 6"], heldout) == 0.0  # 6 + 1 = 7 never seen
    assert heldout_coverage(["2 × 3 = 6", "6 + 1 = 7"], heldout) == 50.0
    # Any one covered reference trajectory is enough; 2 × 3 and 3 × 2 are different facts.
    assert heldout_coverage(["3 × 2 = 6 and 6 + 1 = 7", "5 - 4 = 1"], heldout) == 100.0
    with pytest.raises(ValueError, match="held-out"):
        heldout_coverage(["2 × 3 = 6"], [])


def test_support_trajectories_are_one_seeded_draw_of_k_per_question():
    train = [{"id": f"q{i}", "trajectories": [f"q{i} t{j}" for j in range(8)]} for i in range(20)]
    one = support_trajectories(train, 1, 8, seed=0)
    assert len(one) == 20 and {text.split()[0] for text in one} == {f"q{i}" for i in range(20)}
    assert one == support_trajectories(train, 1, 8, seed=0) != support_trajectories(train, 1, 8, seed=1)
    four = support_trajectories(train, 4, 8, seed=0)
    assert len(four) == len(set(four)) == 80
    assert sorted(support_trajectories(train, 8, 8, seed=3)) == sorted(
        t for r in train for t in r["trajectories"]
    )
