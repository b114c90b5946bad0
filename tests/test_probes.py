"""The paper's probes: confidence (exactness), reflection statistics, early stopping, the CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest
from transformers import AutoModelForCausalLM

from raml_recipes.probe.confidence import (
    answer_nll_curve,
    answer_nll_naive,
    binned,
    ema,
    encode_probe,
    slope,
)
from raml_recipes.probe.early_stop import _box_content, forced_answer_accuracy
from raml_recipes.probe.reflection import (
    paper_reflection_stats,
    reflection_positions,
    reflection_stats,
    relative_changes,
)
from raml_recipes.probe.trajectories import gsm8k_probe_trajectories, perturb, states_number, thought_of
from raml_recipes.prompts import render_prompt_text

from .conftest import ROOT


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir):
    return AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()


@pytest.mark.parametrize("chunk", [1, 5, 64])
def test_confidence_probe_equals_a_direct_computation(tiny_model, tiny_tokenizer, chunk):
    prompt = render_prompt_text(
        tiny_tokenizer, "Natalia sold 48 clips in April and half as many in May. How many in all?"
    )
    thought = "She sold 48/2 = 24 clips in May. Wait, let me recheck: 48 + 24 = 72 clips."
    probe = encode_probe(tiny_tokenizer, prompt, thought, "72")
    curve = answer_nll_curve(tiny_model, probe, chunk=chunk)
    assert len(curve) == len(probe.thought) + 1
    for prefix in (0, 1, len(probe.thought) // 2, len(probe.thought)):
        assert curve[prefix] == pytest.approx(answer_nll_naive(tiny_model, probe, prefix), abs=1e-4)
    strided = answer_nll_curve(tiny_model, probe, prefixes=[0, 7, 3], chunk=2)  # any order, any subset
    assert strided == pytest.approx([curve[0], curve[7], curve[3]], abs=1e-5)


def test_curve_helpers():
    assert ema([1.0, 3.0, 3.0], 0.5) == [1.0, 2.0, 2.5]
    assert slope([3.0, 2.0, 1.0]) == pytest.approx(-2.0)  # falls by 2 over the whole thought
    assert binned([1.0, 2.0, 3.0, 4.0], 2) == [1.5, 3.5]
    assert binned([5.0], 3) == [5.0, 5.0, 5.0]


def test_reflection_statistics_on_a_hand_made_sequence():
    tokens = [
        "So",
        " x",
        " is",
        " 3",
        ".",
        " Wait",
        ",",
        " hold",
        " on",
        ".",
        " Alternatively",
        " x",
        " =",
        " 4",
    ]
    # NLL over prefixes 0..14; big moves right after "Wait" and "Alternatively".
    nll = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0, 3.0]
    changes = relative_changes(nll)
    assert changes[5] == pytest.approx(0.5) and changes[10] == pytest.approx(2.0) and changes[0] == 0.0
    assert reflection_positions(tokens, ["wait", "hold on", "alternatively", "however"]) == {
        "wait": [5], "hold on": [7], "alternatively": [10], "however": [],
    }  # fmt: skip
    stats = reflection_stats([(nll, tokens)], ["wait", "alternatively", "however"])
    assert stats["tokens"] == 14
    assert stats["average_relative_change"] == pytest.approx(2.5 / 14)
    assert stats["words"]["wait"] == {
        "count": 1,
        "mean_relative_change": 0.5,
        "ratio_to_average": pytest.approx(0.5 / (2.5 / 14)),
    }
    assert stats["words"]["alternatively"]["ratio_to_average"] == pytest.approx(2.0 / (2.5 / 14))
    assert stats["words"]["however"]["count"] == 0
    with pytest.raises(ValueError, match="need an NLL curve of 15 points"):
        reflection_stats([(nll[:-1], tokens)])


def test_paper_reflection_definition_on_hand_made_ids():
    """The official notebook's statistic: token-id words, the change over the word plus one token,
    measured from the NLL before the word; zero denominators skipped; the curve's tail dropped."""
    ids = [10, 11, 5, 12, 6, 7, 13, 14]  # 5 = "Wait"; 6, 7 = "Altern" + "atively"; 15 = "wait"
    nll = [2.0, 2.0, 2.0, 1.5, 1.0, 1.0, 1.0, 4.0, 4.0]  # prefixes 0..8
    words = {"Wait": [5], "Alternatively": [6, 7], "However": [9], "wait": [15]}
    stats = paper_reflection_stats([(nll, ids, 0)], words)
    # Every token's one-step change: 0, 0, 0.25, 1/3, 0, 0, 3, 0.
    assert stats["tokens"] == 8
    assert stats["average_relative_change"] == pytest.approx((0.25 + 1 / 3 + 3) / 8)
    # "Wait" (starts at token 2): |L_4 - L_2| / L_2 = |1 - 2| / 2, not its own step |1.5 - 2| / 2.
    assert stats["words"]["Wait"]["count"] == 1
    assert stats["words"]["Wait"]["mean_relative_change"] == pytest.approx(0.5)
    # "Alternatively" (two tokens from token 4): |L_7 - L_4| / L_4 = |4 - 1| / 1; its first token moves nothing.
    assert stats["words"]["Alternatively"]["mean_relative_change"] == pytest.approx(3.0)
    assert stats["words"]["Alternatively"]["ratio_to_average"] == pytest.approx(3.0 / ((0.25 + 1 / 3 + 3) / 8))
    assert stats["words"]["However"]["count"] == 0 and stats["words"]["wait"]["count"] == 0  # case-sensitive
    # The notebook drops len(marker + answer) points from the end: "Alternatively" then has no point after it.
    tail = paper_reflection_stats([(nll, ids, 2)], words)
    assert tail["tokens"] == 6 and tail["average_relative_change"] == pytest.approx((0.25 + 1 / 3) / 6)
    assert tail["words"]["Alternatively"]["count"] == 0 and tail["words"]["Wait"]["count"] == 1
    # A zero NLL before a token leaves that position out (the notebook's `continue`).
    zero = paper_reflection_stats([([1.0, 0.0, 2.0, 2.0], [5, 5, 8], 0)], {"Wait": [5]})
    assert zero["tokens"] == 2 and zero["words"]["Wait"]["count"] == 1
    assert zero["words"]["Wait"]["mean_relative_change"] == pytest.approx(1.0)  # |L_2 - L_0| / L_0 = 1
    with pytest.raises(ValueError, match="need an NLL curve of 9 points"):
        paper_reflection_stats([(nll[:-1], ids, 0)], words)


def test_gsm8k_probe_trajectories_pair_a_solution_with_a_perturbed_copy():
    items = gsm8k_probe_trajectories(max_questions=30)
    assert len(items) == 60
    for correct, wrong in zip(items[::2], items[1::2], strict=True):
        assert correct["correct"] and not wrong["correct"] and correct["answer"] == wrong["answer"]
        assert wrong["thought"] != correct["thought"]
        assert states_number(
            correct["thought"].splitlines()[-1], correct["answer"]
        )  # ends at the gold answer
        assert not states_number(
            wrong["thought"].splitlines()[-1], correct["answer"]
        )  # the perturbed one does not
    assert perturb(["no numbers here"], "3", random.Random(0)) is None
    assert thought_of("<think>\nreasoning</think> answer") == "reasoning"


def test_forced_early_stopping(tiny_model, tiny_tokenizer):
    items = [
        {"thought": "2 + 2 = 4, so the answer is 4.", "answer": "4"},
        {"thought": "It is 9.", "answer": "9"},
    ]
    prompts = [
        render_prompt_text(tiny_tokenizer, "What is 2+2?"),
        render_prompt_text(tiny_tokenizer, "What is 3*3?"),
    ]
    result = forced_answer_accuracy(
        tiny_model, tiny_tokenizer, items, prompts, fractions=[0.0, 0.5, 1.0], budgets=[2], answer_tokens=4
    )
    assert set(result["by_fraction"]) == {"0.0", "0.5", "1.0"} and set(result["by_budget"]) == {"2"}
    assert all(0.0 <= v <= 1.0 for v in [*result["by_fraction"].values(), result["no_thinking"]])
    assert _box_content("72} and more}") == "72" and _box_content("\\frac{1}{2}}.") == "\\frac{1}{2}"


QWEN3_LIKE_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


def test_no_thinking_point_uses_the_template_switch_or_the_delimiter(tiny_model, tiny_tokenizer, monkeypatch):
    """Without a thinking switch, the paper's delimiter follows an opened <think>; with one (Qwen3-style),
    the prompt rendered with enable_thinking=False is answered in full."""
    import copy

    from raml_recipes.probe import early_stop
    from raml_recipes.prompts import has_thinking_switch

    contexts = []
    original = early_stop.TransformersGenerator.generate

    def spy(self, requests, progress=None):  # records what the model is asked to continue
        contexts.extend(prompt for prompt, _ in requests)
        return original(self, requests, progress)

    monkeypatch.setattr(early_stop.TransformersGenerator, "generate", spy)
    items = [{"thought": "2 + 2 = 4.", "answer": "4"}]
    plain = render_prompt_text(tiny_tokenizer, "What is 2+2?")
    assert not has_thinking_switch(tiny_tokenizer)
    result = forced_answer_accuracy(tiny_model, tiny_tokenizer, items, [plain], fractions=[1.0], answer_tokens=2)
    assert result["no_thinking_mode"] == "delimiter"
    assert contexts[-1] == plain + "<think>\n" + "Therefore, after all this, I believe the answer is"

    switch = copy.deepcopy(tiny_tokenizer)
    switch.chat_template = QWEN3_LIKE_TEMPLATE
    assert has_thinking_switch(switch)
    off = render_prompt_text(switch, "What is 2+2?", enable_thinking=False)
    assert off.endswith("<think>\n\n</think>\n\n")
    contexts.clear()
    result = forced_answer_accuracy(
        tiny_model, switch, items, [render_prompt_text(switch, "What is 2+2?")], fractions=[1.0],
        answer_tokens=2, no_thinking_prompts=[off], no_thinking_tokens=3,
    )  # fmt: skip
    assert result["no_thinking_mode"] == "enable_thinking=False" and result["no_thinking"] in (0.0, 1.0)
    assert contexts[-1] == off and not any("I believe the answer is" in c for c in contexts)


@pytest.mark.parametrize("probe", ["confidence", "reflection", "early_stop"])
def test_probe_cli_writes_json_and_figures(tmp_path, probe):
    out = tmp_path / probe
    command = [
        sys.executable, "-m", "raml_recipes.cli", "probe", probe, "--model_name_or_path", "embedded:tiny-llama",
        "--data", "r1_traces" if probe == "reflection" else "gsm8k", "--max_trajectories", "4",
        "--max_thought_tokens", "60", "--fractions", "0", "0.5", "1", "--output_dir", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
    result = json.loads((out / f"{probe}.json").read_text())
    assert (out / f"{probe}.png").stat().st_size > 1000
    if probe == "confidence":
        assert result["correct"]["trajectories"] == 2 and result["incorrect"]["trajectories"] == 2
        assert all(len(c["nll"]) == c["thought_tokens"] + 1 for c in result["curves"])
    elif probe == "reflection":
        # The paper's definition by default: its word list, and fewer points than tokens (the tail dropped).
        assert result["definition"] == "paper" and set(result["words"]) >= {"Wait", "wait", "Alternatively"}
        assert 0 < result["tokens"] < 4 * 60
        assert (out / "reflection.md").read_text().startswith("| token |")
    else:
        assert result["trajectories"] == 2 and set(result["by_fraction"]) == {"0.0", "0.5", "1.0"}


def test_forced_early_stopping_cuts_each_thought_where_it_should(tiny_model, tiny_tokenizer, monkeypatch):
    """Known accuracies per cut. The tiny model answers at random, so its answers are replaced by
    those of a stand-in reader that answers with the last number of the thought it was given (named
    here: the cut and the grading around it are what is tested). A thought that reaches its answer
    only at the end is right at the full cut and wrong before; one that states it first is right
    from its first quarter on."""
    import re

    from raml_recipes.evaluation.generation import Sample
    from raml_recipes.probe import early_stop

    FINAL_ANSWER = early_stop.FINAL_ANSWER_MARKER

    def reader(self, requests, progress=None):
        answers = []
        for context, _ in requests:
            thought = context.rsplit(FINAL_ANSWER, 1)[0].split("ASSISTANT:", 1)[-1]
            numbers = re.findall(r"\d+", thought)
            answers.append([Sample((numbers[-1] if numbers else "none") + "}", 2, "stop")])
            if progress:
                progress(1)
        return answers

    monkeypatch.setattr(early_stop.TransformersGenerator, "generate", reader)
    late = "first one adds three and five to get eight , then doubles that : sixteen is 16"
    early = "it is 7 ; checking : seven apples plus zero apples stay seven apples in total"
    items = [{"thought": late, "answer": "16"}, {"thought": early, "answer": "7"}]
    prompts = ["ASSISTANT:", "ASSISTANT:"]
    result = forced_answer_accuracy(tiny_model, tiny_tokenizer, items, prompts, fractions=[0.0, 0.25, 0.9, 1.0],
                                    budgets=[1, 1000], answer_tokens=4)  # fmt: skip
    # 0: no thought read, no number; 0.25 and 0.9: only the early one; 1.0: both (the last token is 16).
    assert result["by_fraction"] == {"0.0": 0.0, "0.25": 0.5, "0.9": 0.5, "1.0": 1.0}
    # A budget counts tokens: 1 token reads no number of either; 1000 is the whole thought.
    assert result["by_budget"] == {"1": 0.0, "1000": 1.0}
