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


def _rows(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


@pytest.mark.slow
def test_quick_demo_runs_end_to_end_and_resumes(tmp_path):
    out = tmp_path / "demo"
    command = [sys.executable, "-m", "raml_recipes.cli", "demo", "--quick", "--out", str(out)]
    first = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert again.stdout.count("(done in an earlier run, skipped)") == 9
    check_quick_demo(out, first.stdout)


def check_quick_demo(out, stdout):
    """The quick demo's outputs in `out` (a folder of a finished run), `stdout` its first run's output."""
    from raml_recipes.evaluation.intervals import paired_difference

    summary = json.loads((out / "summary.json").read_text())
    stages = summary["stages"]
    # Data: the held-out questions are none of the trained ones (SFT questions and GRPO prompts).
    data = stages["data"]
    assert data["questions"] == {"sft": 16, "grpo": 32, "heldout": 24, "pilot": 100}
    trained = {row["problem"] for name in ("trajectories", "grpo_prompts") for row in _rows(data[name])}
    heldout = {row["problem"] for row in _rows(data["heldout"])}
    assert len(trained) == 48 and len(heldout) == 24 and not trained & heldout
    sft = stages["sft"]
    assert (out / "sft" / "model.safetensors").is_file() and (out / "sft" / "training_curves.png").is_file()
    metrics = json.loads((out / "sft" / "metrics.json").read_text())
    assert sft["last_loss"] == [e["loss"] for e in metrics["log_history"] if "loss" in e][-1]
    assert sft["last_loss"] < sft["first_loss"]
    for label in ("base", "SFT", "GRPO", "student"):
        assert f"  {label:<8} held-out accuracy" in stdout, label
    grpo = stages["grpo"]
    grpo_metrics = json.loads((out / "grpo" / "metrics.json").read_text())
    assert grpo["last_reward"] == [e["reward"] for e in grpo_metrics["log_history"] if "reward" in e][-1]
    assert grpo["support_set"]["support_size"] < grpo["support_set"]["num_generations"]
    assert grpo_metrics["model"] == str(out / "sft")  # GRPO starts from the SFT model
    assert (out / "grpo" / "training_curves.png").is_file()
    evaluation = stages["evaluate"]
    assert set(evaluation) - {"elapsed_s"} == {"base", "sft", "grpo", "student", "base_sampled", "sft_sampled", "base_gsm8k",
                               "grpo_gsm8k"}  # fmt: skip
    assert [evaluation[label]["questions"] for label in ("grpo", "sft_sampled", "grpo_gsm8k")] == [24, 8, 4]
    assert evaluation["sft_sampled"]["samples_per_question"] == 2
    assert evaluation["student"]["model"] == str(out / "student")
    probe = summary["stages"]["probe"]  # --max_trajectories 4: two solutions, each correct and perturbed
    assert probe["correct"]["trajectories"] == probe["incorrect"]["trajectories"] == 2
    lever = stages["lever"]
    assert (lever["num_generations"], lever["support_sizes"], lever["completions"]) == (4, [2], 8)
    # Summarize -> student: the student trains on the compressed set.
    compressed = stages["summarize"]
    for key, value in json.loads((out / "summarize" / "summary.json").read_text()).items():
        assert compressed[key] == value, key
    assert compressed["questions_written"] == 16
    assert compressed["all"]["mean_short_tokens"] < compressed["all"]["mean_long_tokens"]
    student_data = json.loads((out / "student" / "metrics.json").read_text())["data"]
    assert student_data["trajectories"] == sum(len(row["trajectories"]) for row in _rows(out / "summarize" / "trajectories.jsonl"))
    # Each comparison, at the top of summary.json, recomputed here from the per-sample records.
    comparisons = summary["comparisons"]
    assert set(comparisons) >= {"sft_minus_base", "sft_minus_base_sampled", "grpo_minus_sft", "student_minus_sft",
                                "student_minus_sft_tokens"}  # fmt: skip
    def per_question(folder, key):
        found = {}
        for row in _rows(out / "evaluate" / folder / "samples.jsonl"):
            found.setdefault(row["id"], []).append(float(row["correct"]) if key == "accuracy" else row["num_tokens"])
        return [sum(values) / len(values) for _, values in sorted(found.items())]

    for name, first_folder, second_folder, key, seed in (
        ("sft_minus_base", "base", "sft", "accuracy", 1), ("student_minus_sft_tokens", "sft", "student", "tokens", 5),
    ):  # fmt: skip
        expected = paired_difference(per_question(first_folder, key), per_question(second_folder, key), seed=seed)
        row = comparisons[name]
        assert (row["difference"], row["low"], row["high"]) == pytest.approx(
            (expected["difference"], expected["low"], expected["high"])
        ), name
        # The verdict from the interval, on its own: above zero only when the whole interval is.
        low, high = expected["low"], expected["high"]
        assert row["verdict"] == ("above zero" if low > 0 else "below zero" if high < 0 else "within the noise")
        assert row["as_expected"] == ((row["verdict"] == row["expect"]) if row["expect"] != "not below zero"
                                      else row["verdict"] != "below zero")  # fmt: skip
    check_report(out, summary["report"])


def check_report(out, figures):
    """report.md's numbers are the stages' own JSON outputs, and every number it shows is in summary.json."""
    import re

    from raml_recipes.evaluation.intervals import wilson

    report = (out / "report.md").read_text()
    # Held-out and GSM8K rows: accuracy and its Wilson interval recounted from the per-sample records.
    for label, folder in (("base", "base"), ("SFT", "sft"), ("GRPO", "grpo"), ("student", "student"),
                          ("base", "base-gsm8k"), ("GRPO", "grpo-gsm8k")):  # fmt: skip
        samples = _rows(out / "evaluate" / folder / "samples.jsonl")
        right = sum(bool(row["correct"]) for row in samples)
        low, high = wilson(right, len(samples))
        (metrics,) = json.loads((out / "evaluate" / folder / "summary.json").read_text())["benchmarks"].values()
        row = f"| {label} | {100 * right / len(samples):.1f} [{100 * low:.1f}, {100 * high:.1f}] | {metrics['mean_tokens']:.1f} |"
        assert row in report, row
    for name, row in json.loads((out / "summary.json").read_text())["comparisons"].items():
        assert f"| {row['verdict']} | {row['expect']} |" in report, name
    for label, folder, key in (("SFT", "sft", "loss"), ("GRPO", "grpo", "reward"), ("Student", "student", "loss")):
        history = json.loads((out / folder / "metrics.json").read_text())["log_history"]
        values = [entry[key] for entry in history if key in entry]
        assert f"{values[0]:.3f} -> {values[-1]:.3f}" in report, label
    compression = json.loads((out / "summarize" / "summary.json").read_text())
    assert f"{compression['trajectories_kept']} of {compression['all']['trajectories']} trajectories kept" in report
    probe = json.loads((out / "probe" / "confidence.json").read_text())
    assert f"| correct | {probe['correct']['trajectories']} | {probe['correct']['mean_slope']:.3f} |" in report
    assert f"| perturbed | {probe['incorrect']['trajectories']} | {probe['incorrect']['mean_slope']:.3f} |" in report
    for figure in re.findall(r"\]\(([^)]+\.png)\)", report):
        assert (out / figure).is_file(), figure
    assert "report/accuracy.png" in report

    # Every number on the page (but the first paragraph's machine and date) is a figure of summary.json,
    # as shown (a percentage of a fraction counts), or a stage time in minutes and seconds.
    def flat(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from flat(item)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield value

    known = list(flat(figures))
    body = report.split("\n", 3)[3]
    body = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", body)
    for token in re.findall(r"(?<![\w@.])[-+]?\d+(?:\.\d+)?(?![\w])", body):
        decimals = len(token.split(".")[1]) if "." in token else 0
        number = float(token)
        assert any(
            round(value, decimals) == number or round(100 * value, decimals) == number for value in known
        ), f"{token} in report.md is not in summary.json"


@pytest.mark.slow
def test_quick_demo_killed_during_grpo_skips_finished_stages_on_rerun(tmp_path):
    import signal
    import time

    out = tmp_path / "demo"
    command = [sys.executable, "-m", "raml_recipes.cli", "demo", "--quick", "--out", str(out)]
    demo = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    in_grpo = False
    for line in demo.stdout:
        in_grpo = in_grpo or line.startswith("[3/9] grpo")
        if in_grpo and "'reward'" in line:  # GRPO is training
            demo.send_signal(signal.SIGKILL)  # the demo process alone, as a crash or an OOM kill would
            break
    demo.wait(timeout=60)
    assert in_grpo and demo.returncode == -signal.SIGKILL
    # The GRPO process stops with its parent instead of training on beside the rerun.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alive = subprocess.run(["pgrep", "-f", str(out / "grpo")], capture_output=True, text=True).stdout
        if not alive:
            break
        time.sleep(0.5)
    assert not alive
    assert not (out / ".stages" / "grpo.json").exists()

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert rerun.stdout.count("(done in an earlier run, skipped)") == 2  # data and sft
    assert "[3/9] grpo: done in" in rerun.stdout and (out / "report.md").is_file()
    assert json.loads((out / "grpo" / "metrics.json").read_text())["global_step"] == 16
