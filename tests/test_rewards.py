"""Reward functions: tables of cases, the registry, and a real GRPOTrainer step; the `raml grade` CLI."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys

import pytest

from raml_recipes.rewards import (
    AccuracyReward,
    CosineScaledReward,
    FormatReward,
    RamlReward,
    SoftOverlongPunishment,
    get_reward_function,
    get_reward_functions,
)

RAML_OK = "<think>\n2 + 2 = 4\n</think>\n<conclusion>\nThe answer is \\boxed{4}.\n</conclusion>"
RAML_WRONG = "<think>\n2 + 2 = 5\n</think>\n<conclusion>\nThe answer is \\boxed{5}.\n</conclusion>"
R1_OK = "<think>\n2 + 2 = 4\n</think>\n\nThe answer is \\boxed{4}."
NO_THINK = "The answer is \\boxed{4}."


def as_messages(text):
    return [{"role": "assistant", "content": text}]


def call(reward, completions, answers=None, ids=None, prompts=None, **kwargs):
    prompts = prompts or ["What is 2+2?"] * len(completions)
    if answers is not None:
        kwargs["answer"] = answers
    return reward(prompts=prompts, completions=completions, completion_ids=ids, **kwargs)


@pytest.mark.parametrize(
    ("text", "raml_style", "r1_style"),
    [
        (RAML_OK, 1.0, 1.0),
        (R1_OK, 0.0, 1.0),
        (NO_THINK, 0.0, 0.0),
        ("<think>\n</think>\n<conclusion>The answer is \\boxed{4}</conclusion>", 0.0, 0.0),  # empty thought
        ("<think>a</think><think>b</think><conclusion>\\boxed{4}</conclusion>", 0.0, 0.0),  # two thoughts
        ("<think>a</think><conclusion>\\boxed{4}</conclusion><conclusion>\\boxed{4}</conclusion>", 0.0, 1.0),
        ("<think>a</think><conclusion>The answer is 4</conclusion>", 0.0, 0.0),  # no \boxed
        ("<think>a</think><conclusion>\\boxed{4}</conclusion> trailing words", 0.0, 1.0),
        ("Sure! <think>a</think><conclusion>\\boxed{4}</conclusion>", 0.0, 0.0),  # text before the thought
        ("<think>a\n</think>\n\n<conclusion>\\boxed{4}</conclusion>\n", 1.0, 1.0),
    ],
)
def test_format_reward_table(text, raml_style, r1_style):
    assert call(FormatReward("raml"), [text]) == [raml_style]
    assert call(FormatReward("r1"), [as_messages(text)]) == [r1_style]  # conversational completions too


def test_format_reward_when_the_prompt_opens_the_thought():
    inside = "2 + 2 = 4\n</think>\n<conclusion>The answer is \\boxed{4}</conclusion>"
    assert call(FormatReward("raml"), [inside]) == [0.0]  # the regex and the template disagree...
    assert call(FormatReward("raml", think_opened_in_prompt=True), [inside]) == [1.0]  # ...unless told
    assert call(FormatReward("raml"), [inside], prompts=["<|im_start|>assistant\n<think>\n"]) == [
        1.0
    ]  # or seen
    assert call(FormatReward("raml", think_opened_in_prompt=True), [RAML_OK]) == [0.0]  # re-opening is wrong


def test_raml_reward_follows_eq_21():
    completions = [
        RAML_OK,  # right answer, right format
        RAML_WRONG,  # wrong answer, right format
        R1_OK,  # right answer, wrong format
        "<think>2 + 2 = 5</think> \\boxed{5}",  # wrong answer, wrong format
    ]
    assert call(RamlReward(), completions, ["4"] * 4) == [1.0, 0.0, -0.5, -1.0]
    assert call(RamlReward(style="r1"), completions, ["4"] * 4) == [1.0, 0.0, 1.0, 0.0]
    assert call(RamlReward(), [RAML_OK], ["\\frac{"]) == [None]  # unparseable gold: no score


def test_accuracy_reward_and_its_metrics():
    logged, extra = {}, {}
    rewards = call(
        AccuracyReward(),
        [as_messages(RAML_OK), as_messages(RAML_WRONG), "<think>\\boxed{4}", as_messages(R1_OK)],
        ["4", "4", "4", "\\frac{"],
        log_metric=lambda name, value: logged.__setitem__(name, value),
        log_extra=lambda column, values: extra.__setitem__(column, values),
    )
    assert rewards == [1.0, 0.0, 0.0, None]
    assert logged == {"rewards/accuracy/unparseable_gold": 1.0, "rewards/accuracy/timeouts": 0.0}
    assert extra == {"accuracy_verdict": ["correct", "incorrect", "no_answer", "unparseable_gold"]}


def test_gold_column_lookup():
    reward = AccuracyReward()
    assert reward(prompts=["p"], completions=["\\boxed{4}"], solution=["4"]) == [1.0]  # TRL's column name
    assert AccuracyReward(answer_column="gold")(prompts=["p"], completions=["\\boxed{4}"], gold=["4"]) == [
        1.0
    ]
    with pytest.raises(
        ValueError, match="needs the gold answer in a dataset column named 'answer' or 'solution'"
    ):
        reward(prompts=["p"], completions=["\\boxed{4}"], question=["q"])


def test_cosine_scaled_reward_table():
    reward = CosineScaledReward(max_len=100)
    texts = ["\\boxed{4}", "\\boxed{4}", "\\boxed{4}", "\\boxed{5}", "\\boxed{5}", "\\boxed{4}"]
    lengths = [0, 50, 100, 0, 100, 400]
    got = call(reward, texts, ["4"] * 6, ids=[[1] * n for n in lengths])
    # correct: 1.0 (short) -> 0.75 -> 0.5 (at max_len); wrong: -1.0 (short) -> -0.5 (long); capped past max_len
    assert got == pytest.approx([1.0, 0.75, 0.5, -1.0, -0.5, 0.5])
    assert call(reward, ["\\boxed{4}"], ["\\frac{"], ids=[[1]]) == [None]
    with pytest.raises(ValueError, match="needs completion_ids"):
        call(reward, ["\\boxed{4}"], ["4"])


def test_soft_overlong_punishment_table():
    reward = SoftOverlongPunishment(max_completion_len=100, soft_punish_cache=20)
    lengths = [10, 80, 90, 100, 101]
    assert call(reward, ["x"] * 5, ids=[[0] * n for n in lengths]) == pytest.approx(
        [0.0, 0.0, -0.5, -1.0, -1.0]
    )
    with pytest.raises(ValueError, match="soft_punish_cache"):
        SoftOverlongPunishment(max_completion_len=10, soft_punish_cache=20)


def test_registry_dotted_paths_and_pickling():
    rewards = get_reward_functions(["raml", "accuracy", "cosine"], {"cosine": {"max_len": 64}})
    assert [r.__name__ for r in rewards] == ["raml", "accuracy", "cosine"]
    for reward in rewards:
        clone = pickle.loads(pickle.dumps(reward))
        assert clone.__name__ == reward.__name__ and repr(clone) == repr(reward)
    assert (
        get_reward_function("raml_recipes.rewards.functions:FormatReward", style="r1").checker.style == "r1"
    )
    assert get_reward_function("trl.rewards.think_format_reward").__name__ == "think_format_reward"
    with pytest.raises(ValueError, match="unknown reward 'nope'"):
        get_reward_function("nope")
    with pytest.raises(ValueError, match="bad parameters"):
        get_reward_function("cosine", max_length=3)
    with pytest.raises(ValueError, match="not in reward_funcs"):
        get_reward_functions(["raml"], {"cosine": {"max_len": 3}})


def test_reward_functions_inside_a_grpo_trainer_step(tiny_model_dir, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    seen = {}

    class RecordingRaml(RamlReward):
        def __call__(self, prompts, completions, completion_ids=None, **kwargs):
            rewards = super().__call__(prompts, completions, completion_ids, **kwargs)
            seen.setdefault("batches", []).append((completions, kwargs["answer"], rewards))
            return rewards

    rows = [
        {"prompt": [{"role": "user", "content": f"What is {a}+{b}?"}], "answer": str(a + b)}
        for a in range(4)
        for b in (1, 2)
    ]
    rows[0]["answer"] = "\\frac{"  # one question with an unparseable gold
    args = GRPOConfig(
        output_dir=str(tmp_path), num_generations=4, per_device_train_batch_size=8, max_completion_length=16,
        max_steps=2, logging_steps=1, use_cpu=True, bf16=False, report_to="none", activation_checkpointing=False,
        seed=0, disable_tqdm=True,
    )  # fmt: skip
    reward_funcs = [
        RecordingRaml(),
        *get_reward_functions(
            ["accuracy", "format", "cosine", "soft_overlong"],
            {"cosine": {"max_len": 16}, "soft_overlong": {"max_completion_len": 16, "soft_punish_cache": 4}},
        ),
    ]
    trainer = GRPOTrainer(
        model=str(tiny_model_dir), reward_funcs=reward_funcs, args=args, train_dataset=Dataset.from_list(rows)
    )
    trainer.train()

    logs = [entry for entry in trainer.state.log_history if "rewards/raml/mean" in entry]
    assert len(logs) == 2
    for name in ("raml", "accuracy", "format", "cosine", "soft_overlong"):
        assert all(math.isfinite(entry[f"rewards/{name}/mean"]) for entry in logs)
    assert (
        sum(entry["rewards/raml/unparseable_gold"] for entry in logs) == 4
    )  # 4 completions of that question
    assert all(entry["rewards/raml/timeouts"] == 0 for entry in logs)
    # Each reward is Eq. 21's cell for the grader's verdict and the format check of that completion,
    # computed here from the grader and the checker directly; the trainer logs the mean of exactly those.
    from raml_recipes.rewards import grade_text
    from raml_recipes.rewards.functions import FormatChecker, completion_text

    assert len(seen["batches"]) == len(logs)
    for (completions, answers, rewards), entry in zip(seen["batches"], logs, strict=True):
        for completion, answer, reward in zip(completions, answers, rewards, strict=True):
            text = completion_text(completion)
            if answer == "\\frac{":
                assert reward is None  # no expression in the gold: no reward, not a zero
                continue
            right, formatted = grade_text(answer, text).correct, FormatChecker("raml")(text, None)
            assert reward == {(True, True): 1.0, (False, True): 0.0, (True, False): -0.5, (False, False): -1.0}[
                (bool(right), formatted)]  # fmt: skip
        scored = [r for r in rewards if r is not None]
        assert entry["rewards/raml/mean"] == pytest.approx(sum(scored) / len(scored))


def test_raml_grade_cli(tmp_path):
    data = tmp_path / "samples.jsonl"
    rows = [
        {"id": 1, "answer": "4", "completion": "\\boxed{4}"},
        {
            "id": 2,
            "answer": "4",
            "completion": [{"role": "assistant", "content": "<think>\\boxed{4}</think> \\boxed{5}"}],
        },
        {"id": 3, "answer": "\\frac{", "completion": "\\boxed{1}"},
        {"id": 4, "answer": "9", "completion": ["\\boxed{9}", "\\boxed{8}", "<think>never ends"]},
    ]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "grade", "--data", str(data), "--answers", "completion", "--workers", "1"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["completions"] == 6 and summary["correct"] == 2 and summary["unparseable_gold"] == 1
    assert summary["accuracy"] == pytest.approx(2 / 5)
    graded = [json.loads(line) for line in (tmp_path / "samples.graded.jsonl").read_text().splitlines()]
    assert [row["id"] for row in graded] == [1, 2, 3, 4]
    assert graded[0]["verdict"] == {"correct": True, "reason": "correct", "extracted": "4"}
    assert graded[1]["verdict"]["correct"] is False
    assert [v["reason"] for v in graded[3]["verdicts"]] == ["correct", "incorrect", "no_answer"]
    assert json.loads((tmp_path / "samples.grading.json").read_text())["output"].endswith(
        "samples.graded.jsonl"
    )

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"answer": "1"}) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "grade", "--data", str(bad), "--answers", "completion"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1 and f"{bad}, row 1, field 'completion': missing" in result.stderr
