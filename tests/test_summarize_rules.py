"""Rule-based compression of reasoning trajectories (raml_recipes.summarize), on small hand-made
R1-style traces and on the shipped real traces. Answers are judged by the real grader (offline)."""

from __future__ import annotations

import json
import statistics

import pytest

from raml_recipes.rewards import Verdict
from raml_recipes.summarize import rules
from raml_recipes.summarize.answers import is_stated, mark_answer_segments, states_answer
from raml_recipes.summarize.compress import answer_follows, compress_with_rules
from raml_recipes.summarize.rules import collapse_branches, compose, drop_verification, finds_error
from raml_recipes.summarize.segments import join_segments, split_segments
from raml_recipes.summarize.trajectory import split_trajectory

from .conftest import R1_TRACES

ALL_RULES = ["stop_at_answer", "drop_verification", "collapse_branches"]
TAIL = "\n\n**Final Answer**\nThe product is \\boxed{42}.\n</think>\n\nSo $6 \\times 7 = \\boxed{42}$."
INTRO = "Okay, so I need to find the product of 6 and 7. Let me think about this step by step."
STEPS = "Multiplication is repeated addition, so I add 7 six times: 7, 14, 21, 28, 35, and one more 7."
FOUND = "So 6 times 7 is 42."
RECHECK = "Let me double-check: 7 times 6 is also 42, since multiplication is commutative. Yes, 42."
EXPLORE = "Hmm, another way to see it: 6 times 7 is 6 times 5 plus 6 times 2, that is 30 + 12 = 42."
CONCLUSION = "So I'm confident the answer is 42."
EARLY = [INTRO, STEPS, FOUND, RECHECK, EXPLORE, CONCLUSION]


def trace(*paragraphs: str) -> str:
    return "<think>\n" + "\n\n".join(paragraphs) + TAIL


def kept(rule, *paragraphs: str, answer: str = "12") -> list[str]:
    """The paragraphs one rule keeps, with `states_answer` marked by the grader."""
    segments = split_segments("\n\n".join(paragraphs))
    mark_answer_segments([segments], [answer])
    return [segment.text for segment in rule(segments)]


def test_split_trajectory_keeps_answer_part_byte_for_byte():
    text = trace(*EARLY)
    parts = split_trajectory(text)
    assert parts.head == "<think>\n"
    assert parts.thought == "\n\n".join(EARLY)
    assert parts.tail == TAIL
    assert parts.tail.lstrip().startswith("**Final Answer**\nThe product is \\boxed{42}.\n</think>")
    assert parts.tail.endswith("</think>\n\nSo $6 \\times 7 = \\boxed{42}$.")
    assert parts.text() == text
    assert parts.with_thought("short") == "<think>\nshort" + TAIL


@pytest.mark.parametrize("text", ["<think>\nOkay, 6 times 7 is 42. \\boxed{42}", "The answer is 42.", ""])
def test_split_trajectory_without_closed_thought_is_none(text):
    assert split_trajectory(text) is None


THOUGHT = (
    "Okay, the rate is 3.5 percent per year, e.g. a deposit of 100 dollars grows.\n"
    "After one year it is 103.5 dollars! Is that right? Yes.\n\n"
    "Wait, compounding monthly changes it.  Let me redo it.\n   \n"
    "Then $r = 3.56$ roughly."
)


@pytest.mark.parametrize("granularity", ["paragraph", "line", "sentence"])
def test_segments_join_back_to_the_thought(granularity):
    segments = split_segments(THOUGHT, granularity)
    assert join_segments(segments) == THOUGHT
    assert all(segment.text.strip() for segment in segments)


def test_segment_counts_and_sentence_boundaries():
    assert len(split_segments(THOUGHT, "paragraph")) == 3
    assert len(split_segments(THOUGHT, "line")) == 4
    sentences = [segment.text for segment in split_segments(THOUGHT, "sentence")]
    assert sentences[0] == "Okay, the rate is 3.5 percent per year, e.g. a deposit of 100 dollars grows."
    assert sentences[1:4] == ["After one year it is 103.5 dollars!", "Is that right?", "Yes."]
    assert "Then $r = 3.56$ roughly." in sentences


def test_unknown_granularity_names_the_choices():
    with pytest.raises(ValueError, match="paragraph, line, sentence.*'word'"):
        split_segments(THOUGHT, "word")


def test_stop_at_answer_cuts_after_first_statement():
    text = trace(*EARLY)
    (result,) = compress_with_rules([text], ["42"], ["stop_at_answer"])
    assert result.thought == "\n\n".join([INTRO, STEPS, FOUND])
    assert RECHECK not in result.text and EXPLORE not in result.text and CONCLUSION not in result.text
    assert result.text == "<think>\n" + result.thought + TAIL
    assert result.parts.tail == TAIL
    assert answer_follows([result.thought], ["42"]) == [True]


def test_stop_at_answer_keeps_a_thought_that_states_it_once():
    paragraphs = [INTRO, STEPS, FOUND, "Hmm, 30 + 12 is another way to split it.", "That is the product."]
    (result,) = compress_with_rules([trace(*paragraphs)], ["42"], ["stop_at_answer"])
    assert result.thought == "\n\n".join(paragraphs)
    assert result.text == trace(*paragraphs)


FIRST = "A crate holds 6 rows of 7 apples, so 6 × 7 = 48 apples, and 2 friends eat 2 × 15 = 30 of them."
WRONG = "So 48 − 30 = 18 apples are left."
RIGHT = "Now 6 × 7 = 42, so 42 − 30 = 12 apples are left."
END = "So the answer is 12."


@pytest.mark.parametrize(
    ("check", "dropped"),
    [
        ("Let me double-check: 6 × 7 = 48 and 48 − 30 = 18. Yes, I didn't make a mistake.", True),
        ("Let me double-check: 6 × 7 = 48? Wait, that's wrong, 6*7 is not 48.", False),
        ("Let me verify another way: 6 × 7 = 6 × 10 − 6 × 3 = 60 − 18, which is 42, not 48.", False),
        ("Let me double-check: is 6 × 7 really 48?", False),  # an open question: work follows
        ("Let me double-check: 6 × 7 = 48? No, I made two mistakes: 6*7 is not 48.", False),
    ],
)
def test_drop_verification(check, dropped):
    paragraphs = [FIRST, WRONG, check, RIGHT, END]
    expected = [p for p in paragraphs if not (dropped and p == check)]
    assert kept(drop_verification, *paragraphs) == expected


def test_drop_verification_never_drops_the_conclusion():
    last = "Let me double-check: 48 − 30 = 18."
    assert kept(drop_verification, FIRST, WRONG, last, answer="18") == [FIRST, WRONG, last]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("I didn't make a mistake.", False),
        ("There is no error here, I don't see any mistake.", False),
        ("Wait, that's wrong, 6*7 is not 48.", True),
        ("Hmm, I made a mistake in the subtraction.", True),
        ("I miscalculated: 48 should be 42.", True),
        ("There are errors in my steps.", True),
        ("Nothing is wrong here.", False),
        ("It isn't wrong.", False),
        ("I don't think I made an error.", False),
    ],
)
def test_finds_error(text, error):
    assert finds_error(text) is error


START = "A crate holds 6 rows of 7 apples: 6 × 7 = 42. Two friends eat 15 apples each."
SAME = "Wait, is it 6 rows of 7 or 7 rows of 6? Either way 7 × 6 = 42, so the count is the same."
DEAD = "Alternatively, maybe 6 × 8 = 48 was meant? No, the problem clearly says 7 per row."
NEW = "Hmm, the two friends eat 15 each, so together they eat 2 × 15 = 30 apples."
ERROR = "Wait, that's wrong: I misread, each friend eats 15, so it is 2 × 15 and not 15."
LAST = "So 42 − 30 = 12 apples are left."


def test_collapse_branches_drops_returns_and_dead_ends_keeps_what_is_used():
    assert kept(collapse_branches, START, SAME, DEAD, NEW, LAST) == [START, NEW, LAST]


def test_collapse_branches_keeps_a_branch_that_finds_an_error():
    harmless = ERROR.replace("Wait, that's wrong: I misread, each", "Wait, so each")
    assert kept(collapse_branches, START, NEW, harmless, LAST) == [START, NEW, LAST]
    assert kept(collapse_branches, START, NEW, ERROR, LAST) == [START, NEW, ERROR, LAST]


def test_collapse_branches_keeps_the_conclusion_and_a_first_statement_of_the_answer():
    last = "Wait, so that settles how many apples are left."  # no new value, no error: a branch
    assert kept(collapse_branches, START, SAME, last) == [START, last]
    first = "Hmm, with 2 × 15 = 30 eaten, 42 − 30 = 12 are left."
    end = "So that is how many apples are left."
    assert kept(collapse_branches, START, first, end) == [START, first, end]
    assert kept(collapse_branches, START, first, end, answer="99") == [START, end]


def test_compose_applies_in_order(monkeypatch):
    calls = []
    monkeypatch.setitem(rules.RULES, "first", lambda segments: calls.append("first") or segments[1:])
    monkeypatch.setitem(rules.RULES, "second", lambda segments: calls.append("second") or segments[:1])
    segments = split_segments("\n\n".join([START, NEW, LAST]))
    assert [s.text for s in compose(["first", "second"])(segments)] == [NEW]
    assert calls == ["first", "second"]
    assert [s.text for s in compose(["second", "first"])(segments)] == []


@pytest.mark.parametrize("names", [["stop_at_answer", "summarize"], []])
def test_compose_rejects_unknown_rules(names):
    with pytest.raises(ValueError, match="known: stop_at_answer, drop_verification, collapse_branches"):
        compose(names)
    with pytest.raises(ValueError):
        compress_with_rules([trace(*EARLY)], ["42"], names)


def test_combined_rules_keep_the_answer_and_shorten():
    branch = "Wait, is it 6 groups of 7 or 7 groups of 6? Either way the product is the same."
    paragraphs = [INTRO, STEPS, FOUND, RECHECK, branch, EXPLORE, CONCLUSION]
    text = trace(*paragraphs)
    for names in (ALL_RULES, ALL_RULES[1:]):
        (result,) = compress_with_rules([text], ["42"], names)
        assert len(result.text) < len(text) and result.parts.tail == TAIL
        assert answer_follows([result.thought], ["42"]) == [True]
    (result,) = compress_with_rules([text], ["42"], ALL_RULES[1:])
    assert result.thought == "\n\n".join([INTRO, STEPS, FOUND, CONCLUSION])


def test_answer_follows_rejects_a_thought_cut_before_its_answer():
    thought = "\n\n".join(EARLY)
    assert answer_follows([thought, "\n\n".join([INTRO, STEPS])], ["42", "42"]) == [True, False]
    late = "\n\n".join([INTRO, STEPS, FOUND, "Now let me see.", "Done.", "Right."])  # too early to count
    assert answer_follows([late], ["42"]) == [False]


def test_states_answer_needs_the_answer_itself_not_an_equal_expression():
    texts = ["so it is \\frac{4}{2}", "so it is 2", "so it is $\\frac{4}{2}$"]
    assert states_answer(texts, ["2", "2", "2"]) == [False, True, False]
    assert states_answer(["The total is 1,000 dollars.", "so x = -5."], ["1000", "-5"]) == [True, True]
    assert is_stated("2", Verdict(True, "correct", "\\frac{4}{2}")) is False
    assert is_stated("2", Verdict(True, "correct", "2")) is True
    assert is_stated("2", Verdict(False, "incorrect", "2")) is False
    assert is_stated("\\frac{1}{2}", Verdict(True, "correct", "\\frac{1}{2}")) is True


def test_real_traces_shrink_and_keep_their_answers():
    rows = [json.loads(line) for line in R1_TRACES.read_text().splitlines() if line.strip()]
    rows = [row for row in rows if row["is_correct"]]
    assert len(rows) >= 20
    trajectories = ["<think>\n" + row["response"] for row in rows]
    answers = [row["gt_answer"] for row in rows]
    results = compress_with_rules(trajectories, answers, ALL_RULES, "paragraph")
    assert all(r.parts is not None and r.text.endswith(r.parts.tail) for r in results)
    assert statistics.median(len(r.text) / len(t) for r, t in zip(results, trajectories, strict=True)) <= 0.6
    follows = answer_follows([r.thought for r in results], answers)
    assert sum(follows) >= 0.9 * len(rows)


# --- each rule's conditions on both sides of their boundary (a flipped or dropped condition fails) ---

APPLES = "There are 12 apples in each of 4 boxes, so 12 x 4 = 48 apples."
ANSWER_48 = "So the answer is 48."


def test_a_verification_that_opens_the_thought_is_kept():
    # Nothing stated before it: it re-derives nothing, it is the setup.
    first = ["Let me verify the setup first: 3 and 4.", "3 + 4 = 7.", "So the answer is 7."]
    assert kept(drop_verification, *first, answer="7") == first


def test_a_verification_block_never_takes_the_conclusion():
    paragraphs = [APPLES, "Let me verify: 12 x 4 = 48.", ANSWER_48]
    assert kept(drop_verification, *paragraphs, answer="48") == [APPLES, ANSWER_48]


def test_a_branch_cue_ends_a_verification_block():
    branch = "Wait, 12 x 4 is 48 indeed, the boxes are full."
    paragraphs = [APPLES, "Let me double-check: 12 x 4 = 48.", branch, ANSWER_48]
    assert kept(drop_verification, *paragraphs, answer="48") == [APPLES, branch, ANSWER_48]


def test_a_new_verification_cue_starts_its_own_block():
    # The second check announces work (ends on a colon): it stays, and so must not keep the first one.
    announces = "Let me also verify the number of boxes:"
    paragraphs = [APPLES, "Let me double-check: 12 x 4 = 48.", announces, "4 boxes of 12 make 48, so the answer is 48."]
    assert kept(drop_verification, *paragraphs, answer="48") == [APPLES, announces, paragraphs[3]]


def test_a_verification_ending_on_a_colon_is_open_and_kept():
    paragraphs = [APPLES, "Let me double-check the product of 12 and 4:", ANSWER_48]
    assert kept(drop_verification, *paragraphs, answer="48") == paragraphs


def test_a_branch_that_opens_the_thought_is_kept():
    paragraphs = ["Hmm, an interesting puzzle.", "Wait, half of 24 is 12, plus 3 is 15.", "So the answer is 15."]
    assert kept(collapse_branches, *paragraphs, answer="15") == paragraphs


def test_single_digits_a_branch_introduces_do_not_keep_it():
    # "3" recurs later, but single digits are everywhere and say nothing: the dead end still goes.
    paragraphs = ["There are 24 apples.", "Wait, what if there were 3 baskets?", "With 3 baskets or not, the answer is 24."]
    assert kept(collapse_branches, *paragraphs, answer="24") == [paragraphs[0], paragraphs[2]]


def test_a_branch_spans_at_most_the_window_and_what_follows_is_left_alone():
    filler = [f"Still thinking about the arrangement, step {i}." for i in range(rules.BRANCH_WINDOW + 10)]
    paragraphs = ["There are 24 apples.", "Wait, let me look at this from the start.", *filler, "So the answer is 24."]
    result = kept(collapse_branches, *paragraphs, answer="24")
    # The branch (its cue and the next window - 1 segments) goes; the 11 segments past the window stay.
    assert result == [paragraphs[0], *filler[rules.BRANCH_WINDOW - 1 :], paragraphs[-1]]
