"""`raml experiment support-size --quick`: data, one SFT run per (k, seed), held-out evaluation, results."""

from __future__ import annotations

import json

import pytest

from raml_recipes import cli
from raml_recipes.experiments.support_size import SupportSizeExperiment, aggregate, markdown


def test_aggregate_gives_mean_and_std_over_seeds():
    runs = [
        {"k": 1, "seed": 0, "steps": 10, "greedy": 10.0, "avg@4": 5.0},
        {"k": 1, "seed": 1, "steps": 10, "greedy": 20.0, "avg@4": 15.0},
        {"k": 4, "seed": 0, "steps": 10, "greedy": 30.0, "avg@4": 30.0},
    ]
    rows = aggregate(runs, [1, 4], n=4)
    assert rows[0]["greedy_mean"] == 15.0 and rows[0]["greedy_std"] == pytest.approx(7.0711, abs=1e-4)
    assert rows[1]["seeds"] == 1 and rows[1]["greedy_std"] == 0.0
    assert "| 1 | 2 | 10 | 15.0 ± 7.1 | 10.0 ± 7.1 |" in markdown(rows, 4)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="ks"):
        SupportSizeExperiment(ks=[0, 2])
    with pytest.raises(ValueError, match="seeds"):
        SupportSizeExperiment(seeds=[])
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
    assert (out / "accuracy_vs_k.png").stat().st_size > 0
    # Held-out questions share no (template, numbers) with training.
    train = {json.loads(line)["key"] for line in (out / "data" / "train.jsonl").open()}
    heldout = {json.loads(line)["key"] for line in (out / "data" / "heldout.jsonl").open()}
    assert train and heldout and not train & heldout

    capsys.readouterr()
    assert cli.main(["experiment", "support-size", "--quick", "--out", str(out)]) == 0  # every run skipped
    assert json.loads((out / "results.json").read_text())["runs"] == runs
