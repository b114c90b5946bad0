"""Counts, rates and budgets a user can get wrong stop every stage at parse time, in one line naming the
field and the value; `null` keeps one meaning (all / the default). Before these checks, 0 or -1
questions read as one question, a negative learning rate trained until torch failed, and a zero
grading deadline failed every item as a timeout."""

from __future__ import annotations

import pytest

from raml_recipes.cli import main as raml
from raml_recipes.evaluation.config import EvaluationConfig

STAGES = {
    "evaluate": ["--config", "recipes/tiny/evaluate/config_demo.yaml"],
    "summarize": ["--config", "recipes/tiny/summarize/config_demo.yaml"],
    "sft": ["--config", "recipes/tiny/sft/config_demo.yaml"],
    "grpo": ["--config", "recipes/tiny/grpo/config_demo.yaml"],
    "rollouts": ["--model_name_or_path", "m", "--questions", "gsm8k", "--output", "o.jsonl"],
    "probe": ["confidence", "--model_name_or_path", "m", "--output_dir", "o"],
}

CASES = [
    ("evaluate", "max_questions", "0", "max_questions must be a positive integer (or null: all), got 0"),
    ("evaluate", "max_questions", "-1", "max_questions must be a positive integer (or null: all), got -1"),
    ("evaluate", "num_samples", "0", "num_samples must be a positive integer"),
    ("evaluate", "max_new_tokens", "0", "max_new_tokens must be a positive integer"),
    ("evaluate", "temperature", "-0.5", "temperature must be >= 0 (0: greedy), got -0.5"),
    ("evaluate", "top_p", "0", "top_p must lie in (0, 1] (1: off), got 0.0"),
    ("evaluate", "top_p", "1.5", "top_p must lie in (0, 1] (1: off), got 1.5"),
    ("evaluate", "grading_deadline", "0", "grading_deadline must be a number greater than 0, got 0.0"),
    ("evaluate", "grading_workers", "0", "grading_workers must be a positive integer (or null: one per CPU core)"),
    ("summarize", "max_questions", "0", "max_questions must be a positive integer (or null: all), got 0"),
    ("summarize", "max_summary_tokens", "0", "max_summary_tokens must be a positive integer"),
    ("summarize", "grading_deadline", "-1", "grading_deadline must be a number greater than 0"),
    ("sft", "max_questions", "-1", "max_questions must be a positive integer (or null: all), got -1"),
    ("sft", "learning_rate", "-1e-4", "learning_rate must be a number greater than 0, got -0.0001"),
    ("sft", "learning_rate", "0", "learning_rate must be a number greater than 0, got 0.0"),
    ("grpo", "learning_rate", "-1e-6", "learning_rate must be a number greater than 0"),
    ("grpo", "max_completion_length", "0", "max_completion_length must be a positive integer"),
    ("grpo", "max_prompts", "0", "max_prompts must be a positive integer (or null: all), got 0"),
    ("rollouts", "max_questions", "0", "max_questions must be a positive integer (or null: all), got 0"),
    ("probe", "stride", "0", "stride must be a positive integer"),
    ("probe", "max_trajectories", "-3", "max_trajectories must be a positive integer (or null: all), got -3"),
]


@pytest.mark.parametrize(("stage", "key", "value", "message"), CASES, ids=lambda v: str(v)[:24])
def test_a_bad_count_or_rate_stops_the_stage_in_one_line(stage, key, value, message, capsys, tmp_path):
    code = raml([stage, *STAGES[stage], f"--{key}={value}"])
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    assert len(err.splitlines()) == 1 and message in err, err
    assert err.startswith(f"raml {stage}: error: ")


def test_the_smallest_valid_values_and_null_pass():
    config = EvaluationConfig(model_name_or_path="m", output_dir="o", max_questions=1, num_samples=1,
                              max_new_tokens=1, temperature=0.0, top_p=1.0, grading_deadline=0.01,
                              grading_workers=1)  # fmt: skip
    assert config.max_questions == 1
    config = EvaluationConfig(model_name_or_path="m", output_dir="o", max_questions=None, grading_deadline=None)
    assert config.max_questions is None


@pytest.mark.parametrize(("flag", "value"), [("--deadline", "0"), ("--deadline", "-2"), ("--workers", "0")])
def test_grade_refuses_a_zero_deadline_or_worker_count(flag, value, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        raml(["grade", "--data", str(tmp_path / "x.jsonl"), "--answers", "completion", flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{flag} must be" in err and "Traceback" not in err
