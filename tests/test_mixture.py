"""Data mixtures: TRL's shares, caps, seeds, one question id space, and a mixture recipe that trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from raml_recipes.data import DataError
from raml_recipes.data.mixture import MixtureSource, mix, mixture_sizes, parse_sources
from raml_recipes.errors import RecipeError
from raml_recipes.recipes import parse_recipe
from raml_recipes.scripts import sft

from .conftest import ROOT


def rows(prefix: str, count: int) -> list[dict]:
    return [{"id": f"{prefix}-{i}", "problem": f"{prefix} question {i}"} for i in range(count)]


def test_shares_follow_trls_rule():
    # Normalised shares; the largest total that repeats no source's question; round(share x total) each.
    assert mixture_sizes([10, 4], [0.5, 0.5]) == [4, 4]
    assert mixture_sizes([10, 4], [3, 1]) == [10, 3]  # total 13.3: 0.75 x 13.3 = 10, 0.25 x 13.3 = 3.3
    assert mixture_sizes([10, 4], None) == [10, 4]


def test_caps_come_before_shares_and_the_seed_draws_which_questions():
    sources = parse_sources([{"path": "a", "max_questions": 6, "fraction": 1}, {"path": "b", "fraction": 1}])
    chosen, summary = mix(sources, [rows("a", 20), rows("b", 20)], seed=None)
    # a capped at 6, then equal shares: 6 of each; without a seed, each source's first questions.
    assert [[r["id"] for r in part] for part in chosen] == [[f"a-{i}" for i in range(6)], [f"b-{i}" for i in range(6)]]
    assert [(s["questions_read"], s["questions"]) for s in summary] == [(20, 6), (20, 6)]
    drawn = [mix(sources, [rows("a", 20), rows("b", 20)], seed=seed)[0] for seed in (1, 1, 2)]
    assert drawn[0] == drawn[1] and drawn[0] != drawn[2]  # the seed decides, reproducibly
    assert drawn[0][0] != chosen[0] and len(drawn[0][0]) == 6
    # The two sources are shuffled differently (the seed is combined with each source's path).
    order_a = [int(r["id"].split("-")[1]) for r in drawn[0][0]]
    order_b = [int(r["id"].split("-")[1]) for r in drawn[0][1]]
    assert order_a != order_b


def test_an_id_in_two_sources_is_refused_naming_both():
    sources = parse_sources([{"path": "first.jsonl"}, {"path": "second.jsonl"}])
    clash = rows("b", 3) + [{"id": "a-1", "problem": "another question"}]
    with pytest.raises(DataError, match=r"question id 'a-1' is in two sources of the mixture, first\.jsonl and second\.jsonl"):
        mix(sources, [rows("a", 3), clash], seed=None)
    # A question the cap leaves out cannot clash.
    capped = parse_sources([{"path": "first.jsonl"}, {"path": "second.jsonl", "max_questions": 3}])
    mix(capped, [rows("a", 3), clash], seed=None)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"path": "a", "fraction": 1}, {"path": "b"}], "set `fraction` for every source of the mixture or for none"),
        ([{"path": "a", "weight": 2}], r"datasets\[1\]: unknown key\(s\) weight"),
        ([{"path": "a", "max_questions": 0}], r"datasets\[1\] \(a\): max_questions must be a positive integer"),
        ([{"path": "a", "prompt_template": "no placeholder"}], r"prompt_template must contain \{problem\}"),
    ],
)
def test_a_malformed_mixture_is_named(entries, message):
    with pytest.raises(ValueError, match=message):
        parse_sources(entries)


def test_dataset_name_and_a_mixture_together_are_refused():
    with pytest.raises(RecipeError, match="set dataset_name or datasets"):
        parse_recipe(sft.make_parser(), ["--config", "recipes/tiny/sft/config_mixture.yaml", "--dataset_name", "x.jsonl"])
    (script_args, _, _) = parse_recipe(sft.make_parser(), ["--config", "recipes/tiny/sft/config_mixture.yaml"])
    assert [type(s) for s in script_args.datasets] == [MixtureSource, MixtureSource]


@pytest.mark.slow
def test_the_mixture_recipe_trains_and_records_what_each_source_gave(tmp_path):
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "sft", "--config", "recipes/tiny/sft/config_mixture.yaml",
         "--output_dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((out / "raml_run.json").read_text())
    sources = record["data_sources"]
    assert [(s["path"], s["questions"]) for s in sources] == [
        ("data/trajectories/gsm8k_train.jsonl", 16), ("data/trajectories/synthetic_arithmetic_train.jsonl", 16),
    ]  # fmt: skip
    assert record["dataset_name"].startswith("mixture: data/trajectories/gsm8k_train.jsonl")
    data = json.loads((out / "metrics.json").read_text())["data"]
    assert data["questions"] == 32 and data["trajectories"] == sum(s["trajectories"] for s in data["sources"])
    identity = json.loads((out / "raml_identity.json").read_text())
    assert {role for role in identity["inputs"] if role.startswith("data source")} == {
        "data source data/trajectories/gsm8k_train.jsonl", "data source data/trajectories/synthetic_arithmetic_train.jsonl",
    }  # fmt: skip


@pytest.mark.slow
def test_a_grpo_mixture_trains_on_both_prompt_sources(tmp_path):
    from raml_recipes.data.grpo_prompts import arithmetic_problems
    from raml_recipes.data.io import write_jsonl

    first = write_jsonl(tmp_path / "first.jsonl", arithmetic_problems(8, seed=1))
    second = write_jsonl(tmp_path / "second.jsonl", [{**row, "id": f"second-{row['id']}"} for row in arithmetic_problems(8, seed=2)])
    recipe = tmp_path / "grpo.yaml"
    settings = yaml.safe_load((ROOT / "recipes/tiny/grpo/config_demo.yaml").read_text())
    settings.pop("dataset_name")
    settings.pop("max_prompts")
    settings.update(output_dir=str(tmp_path / "run"), mixture_seed=3, datasets=[
        {"path": str(first), "fraction": 1}, {"path": str(second), "fraction": 1, "prompt_template": "Compute: {problem}"},
    ])  # fmt: skip
    # 8 + 8 prompts at equal shares, capped to 2 each: 4 prompts x 4 completions / 8 per step = 2 steps.
    settings["datasets"][0]["max_questions"] = settings["datasets"][1]["max_questions"] = 2
    recipe.write_text(yaml.safe_dump(settings))
    result = subprocess.run([sys.executable, "-m", "raml_recipes.cli", "grpo", "--config", str(recipe)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["global_step"] == 2 and metrics["data"]["prompts"] == 4
    assert [(s["path"], s["questions"]) for s in metrics["data"]["sources"]] == [(str(first), 2), (str(second), 2)]
    record = json.loads((tmp_path / "run" / "raml_run.json").read_text())
    assert record["data_sources"][1]["prompt_template"] == "Compute: {problem}"
