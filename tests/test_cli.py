"""The `raml` entry point and the demo."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from raml_recipes import cli

from .conftest import ROOT


def test_raml_lists_its_commands(capsys):
    assert cli.main([]) == 0
    assert "sft" in capsys.readouterr().out
    assert cli.main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err


def test_raml_sft_reports_a_bad_recipe_in_one_line(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("model_name_or_path: embedded:tiny-llama\ndataset_name: x.jsonl\nmax_seq_length: 10\n")
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "sft", "--config", str(recipe)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"raml sft: error: {recipe}: unknown key `max_seq_length`: use `max_length`"
    )


@pytest.mark.slow
def test_quick_demo_runs_end_to_end_and_resumes(tmp_path):
    out = tmp_path / "demo"
    command = [sys.executable, "-m", "raml_recipes.cli", "demo", "--quick", "--out", str(out)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    sft = summary["stages"]["sft"]
    assert (out / "sft" / "model.safetensors").is_file() and (out / "sft" / "training_curves.png").is_file()
    metrics = json.loads((out / "sft" / "metrics.json").read_text())
    assert sft["last_loss"] == [e["loss"] for e in metrics["log_history"] if "loss" in e][-1]
    assert sft["last_loss"] < sft["first_loss"]
    assert summary["stages"]["data"]["questions"] == 200
    assert f"checkpoint     {out / 'sft'}" in first.stdout

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert again.stdout.count("(done in an earlier run, skipped)") == 8
    grpo = summary["stages"]["grpo"]
    grpo_metrics = json.loads((out / "grpo" / "metrics.json").read_text())
    assert grpo["last_reward"] == [e["reward"] for e in grpo_metrics["log_history"] if "reward" in e][-1]
    assert grpo["support_set"]["support_size"] < grpo["support_set"]["num_generations"]
    assert grpo_metrics["model"] == str(out / "sft")  # GRPO starts from the SFT model
    assert (out / "grpo" / "training_curves.png").is_file()
    evaluation = summary["stages"]["evaluate"]
    assert {"base", "sft", "grpo"} <= set(evaluation) and evaluation["grpo"]["questions"] == 4
    assert (out / "evaluate" / "sft" / "samples.jsonl").is_file() and (
        out / "probe" / "confidence.png"
    ).is_file()
    assert summary["stages"]["probe"]["correct"]["trajectories"] == 4
    # Summarize -> student -> report: the student trains on the compressed set, the report's
    # numbers are the evaluations' and the compression run's.
    compressed = summary["stages"]["summarize"]
    for key, value in json.loads((out / "summarize" / "summary.json").read_text()).items():
        assert compressed[key] == value, key
    assert compressed["questions_written"] == 32
    assert compressed["all"]["mean_short_tokens"] < compressed["all"]["mean_long_tokens"]
    compressed_rows = [json.loads(line) for line in (out / "summarize" / "trajectories.jsonl").open()]
    student_data = json.loads((out / "student" / "metrics.json").read_text())["data"]
    assert student_data["trajectories"] == sum(len(row["trajectories"]) for row in compressed_rows)
    assert (
        student_data["trajectories"] < metrics["data"]["trajectories"]
    )  # duplicates after compression merge
    assert evaluation["student"]["model"] == str(out / "student")
    report = (out / "students" / "comparison.md").read_text()
    for label, run in (("long (SFT)", "sft"), ("compressed (student)", "student")):
        tokens = json.loads((out / "evaluate" / run / "summary.json").read_text())["benchmarks"]["gsm8k"][
            "mean_tokens"
        ]
        assert f"| {label} | gsm8k |" in report and f"| {tokens:.0f} |" in report
    assert f"{compressed['trajectories_kept']} kept" in report
    assert (out / "students" / "accuracy_vs_tokens.png").is_file() and (
        out / "students" / "length_ratios.png"
    ).is_file()
