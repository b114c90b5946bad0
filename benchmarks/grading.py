"""Grading throughput: our bounded parallel grader against a serial open-r1-style accuracy reward.

2,000 completions built from the shipped data (all distinct, so no duplicate is graded for free):
- correct:  MATH-500 / GSM8K reference solutions as the thought, then the gold answer boxed;
- wrong:    the same with a wrong final answer;
- boxed-in-thought: a wrong `\\boxed{}` inside the thought, the gold (or a wrong one) after it;
- long:     real R1-distill traces (2-24 KB) with their gold answers;
- junk:     5-50 KB of random text, plus two power towers (`5^{5^{5^{5^{5}}}}`) that hang math-verify.

(a) `baseline`: open-r1's accuracy reward, serial in the main process: the gold parsed on every
    call, the whole completion parsed, math-verify's own signal timeouts (5 s).
(b) `ours`: `raml_recipes.rewards.grade_many`, a warm pool of worker processes (one per core)
    with a hard deadline per item.
(c) `raw math-verify`: `verify(parse(gold), parse(answer region))` with math-verify's defaults and its
    own timeouts, serial: the verdicts (b) promises to equal. An item it decides is one whose gold has
    an expression and that it finishes within the deadline.
Prints one JSON line with `speedup` = (b) / (a) in completions per second (medians of `--repeats`
alternating runs) and `agreement` of (b) with (c) on the items (c) decides.

    python benchmarks/grading.py [--n 2000] [--deadline 5] [--warmup 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import statistics
import string
import sys
import time
from pathlib import Path

from raml_recipes.recipes import ArgumentParser

ROOT = Path(__file__).resolve().parents[1]
POWER_TOWER = "$5^{5^{5^{5^{5}}}}$"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def build_completions(n: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """(kind, gold, completion) triples, every completion distinct."""
    rng = random.Random(seed)
    solved = [(r["answer"], r["solution"]) for r in read_jsonl(ROOT / "data/math500/test.jsonl")]
    for row in read_jsonl(ROOT / "data/gsm8k/test.jsonl"):
        body, final = row["answer"].rsplit("####", 1)
        solved.append((final.strip(), body))
    traces = read_jsonl(ROOT / "data/reasoning_traces/thought_anchors_r1distill_math.jsonl")

    def wrong(gold: str) -> str:
        return (
            str(int(gold) + rng.randint(1, 9))
            if gold.lstrip("-").isdigit()
            else f"{gold} + {rng.randint(1, 9)}"
        )

    items = []
    shares = {"correct": 0.3, "wrong": 0.25, "boxed_in_thought": 0.2, "long": 0.15}
    for kind, share in shares.items():
        for i in range(int(n * share)):
            gold, solution = solved[rng.randrange(len(solved))]
            tag = f" (sample {kind}-{i})"  # keeps every answer part distinct
            if kind == "correct":
                items.append(
                    (kind, gold, f"<think>\n{solution}\n</think>\n\nThe answer is \\boxed{{{gold}}}.{tag}")
                )
            elif kind == "wrong":
                items.append(
                    (
                        kind,
                        gold,
                        f"<think>\n{solution}\n</think>\n\nThe answer is \\boxed{{{wrong(gold)}}}.{tag}",
                    )
                )
            elif kind == "boxed_in_thought":
                final = gold if i % 2 else wrong(gold)
                items.append(
                    (
                        kind,
                        gold,
                        f"<think>\nMaybe \\boxed{{{wrong(gold)}}}?\n{solution}\n</think>\n\\boxed{{{final}}}{tag}",
                    )
                )
            else:
                trace = traces[i % len(traces)]
                items.append((kind, trace["gt_answer"], "<think>\n" + trace["response"] + tag))
    items.append(("junk", "7", POWER_TOWER))
    items.append(("junk", "7", "So " + POWER_TOWER))
    alphabet = string.ascii_letters + string.digits + " +-*/^()=.,\n"
    while len(items) < n:
        size = rng.randint(5_000, 50_000)
        items.append(("junk", str(rng.randint(1, 99)), "".join(rng.choice(alphabet) for _ in range(size))))
    rng.shuffle(items)
    return items


def open_r1_accuracy(gold: str, completion: str) -> float:
    """The serial baseline: what open-r1's accuracy reward does for one completion.

    open-r1 reads the gold from a worked solution with a `\\boxed{}` answer; a bare answer such as
    "72" does not parse with its settings, and then it returns 1.0 without grading. The gold is
    given boxed here so the baseline grades every item, as ours does.
    """
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    gold_parsed = parse(
        f"\\boxed{{{gold}}}", extraction_mode="first_match", extraction_config=[LatexExtractionConfig()]
    )
    if not gold_parsed:
        return 1.0
    answer_config = LatexExtractionConfig(
        normalization_config=NormalizationConfig(
            nits=False, malformed_operators=False, basic_latex=True, equations=True, boxed="all", units=True
        ),
        boxed_match_priority=0,
        try_extract_without_anchor=False,
    )
    answer = parse(completion, extraction_config=[answer_config], extraction_mode="first_match")
    try:
        return float(verify(answer, gold_parsed))
    except Exception:
        return 0.0


def raw_math_verify(gold: str, completion: str) -> bool | None:
    """math-verify's verdict, the gold anchored in `\\boxed{}` (unless it has an unescaped `$` of its own), on the
    text after `</think>`; None when the gold has no expression."""
    from math_verify import parse, verify

    from raml_recipes.rewards.grading import answer_region

    gold_parsed = parse(gold if re.search(r"(?<!\\)\$|\\boxed", gold) else f"\\boxed{{{gold}}}")
    if not any(not isinstance(item, str) for item in gold_parsed):
        return None
    region = answer_region(completion)
    return False if region is None else bool(verify(gold_parsed, parse(region)))


def agreement(pairs: list[tuple[str, str]], ours: list, deadline: float) -> dict:
    """Our verdicts against raw math-verify's, over the items math-verify decides within the deadline."""
    decided = agree = undecided = no_expression = 0
    for (gold, completion), verdict in zip(pairs, ours, strict=True):
        start = time.perf_counter()
        reference = raw_math_verify(gold, completion)
        if reference is None:
            no_expression += 1
        elif time.perf_counter() - start >= deadline:
            undecided += 1  # math-verify's own timeout answered, not math-verify
        else:
            decided += 1
            agree += verdict.correct == reference
    return {
        "items_decided": decided,
        "agree": agree,
        "rate": round(agree / decided, 4) if decided else None,
        "not_decided_within_deadline": undecided,
        "gold_without_expression": no_expression,
    }


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--deadline", type=float, default=5.0)
    parser.add_argument("--warmup", type=int, default=300, help="completions graded by both before timing")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (medians are reported)")
    args = parser.parse_args(argv)

    from raml_recipes.rewards import configure_grading

    items = build_completions(args.n)
    pairs = [(gold, completion) for _, gold, completion in items]
    # Both graders are measured warm, as in a long training run: math-verify's ANTLR parser builds
    # its caches over the first few hundred inputs.
    warmup = [(gold, completion) for _, gold, completion in build_completions(args.warmup, seed=1)]

    for gold, completion in warmup:
        open_r1_accuracy(gold, completion)
    # Alternate the two timings and take medians: on a shared machine one run of either can be slowed
    # by others' load, and the ratio of single runs then swings by +-30%.
    baseline_runs, ours_runs, slowest_baseline, slowest_ours = [], [], 0.0, 0.0
    for _ in range(args.repeats):
        start = time.perf_counter()
        for gold, completion in pairs:
            item_start = time.perf_counter()
            open_r1_accuracy(gold, completion)
            slowest_baseline = max(slowest_baseline, time.perf_counter() - item_start)
        baseline_runs.append(time.perf_counter() - start)

        start = time.perf_counter()
        pool = configure_grading(deadline=args.deadline).start()  # fresh workers: no cache carried over
        startup_s = time.perf_counter() - start
        pool.grade_many(warmup)
        start = time.perf_counter()
        verdicts = pool.grade_many(pairs)
        ours_runs.append(time.perf_counter() - start)
        slowest_ours = max(slowest_ours, pool.counters.slowest_item_s)
        timeouts = sum(v.reason == "timeout" for v in verdicts)
        pool.close()
    baseline_s, ours_s = statistics.median(baseline_runs), statistics.median(ours_runs)
    logging.getLogger("math_verify").setLevel(logging.ERROR)  # its timeout warnings, expected here
    agree = agreement(pairs, verdicts, args.deadline)

    kinds = sorted({kind for kind, _, _ in items})
    line = {
        "benchmark": "grading",
        "completions": len(pairs),
        "mix": {kind: sum(k == kind for k, _, _ in items) for kind in kinds},
        "workers": pool.size,
        "deadline_s": args.deadline,
        "baseline_per_s": round(len(pairs) / baseline_s, 1),
        "ours_per_s": round(len(pairs) / ours_s, 1),
        "speedup": round(baseline_s / ours_s, 2),
        "repeats": args.repeats,
        "speedup_per_run": [round(b / o, 2) for b, o in zip(baseline_runs, ours_runs, strict=True)],
        "baseline_slowest_item_s": round(slowest_baseline, 2),
        "ours_slowest_item_s": slowest_ours,
        "ours_timeouts": timeouts,
        "ours_startup_s": round(startup_s, 2),
        "agreement_with_math_verify": agree,
        "ours_accuracy_by_kind": {
            kind: round(
                sum(bool(v.correct) for (k, _, _), v in zip(items, verdicts, strict=True) if k == kind)
                / max(1, sum(k == kind for k, _, _ in items)),
                3,
            )
            for kind in kinds
        },
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
