"""N-gram decontamination of a 100k-question training set against every benchmark the project ships.

The set: GSM8K train questions with their numbers redrawn (100,000 distinct questions, clean by
construction), plus planted copies of MATH-500 and GSM8K test questions, half verbatim and half
re-typeset (`$` and spacing changed, a sentence added in front). The same rows go through this
project's decontamination (raml_recipes.data.decontaminate, the index built once) and through open-r1's
rule as its `scripts/decontaminate.py` writes it (whitespace words, n-grams as joined strings, one
lookup table per benchmark), both in this process, one core. Prints one JSON line: rows/s of each, the
ratio, and how many planted copies each found.

    python benchmarks/decontamination.py [--questions 100000] [--planted 200] [--ngram 8]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import sys
import time
from pathlib import Path

from raml_recipes.recipes import ArgumentParser

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the Hub-only sets are skipped at once, not after retries


def open_r1_lookup(documents: list[str], n: int) -> dict[str, set[int]]:
    """open-r1's build_ngram_lookup: lower case, whitespace collapsed, whitespace words."""
    lookup = collections.defaultdict(set)
    for doc_id, document in enumerate(documents):
        words = " ".join(document.lower().strip().split()).split()
        for i in range(len(words) - n + 1):
            lookup[" ".join(words[i : i + n])].add(doc_id)
    return lookup


def open_r1_contaminated(text: str, lookups: dict[str, dict], n: int) -> bool:
    words = " ".join(text.lower().strip().split()).split()
    grams = {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
    return any(gram in lookup for lookup in lookups.values() for gram in grams)


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=200)
    parser.add_argument("--ngram", type=int, default=8)
    args = parser.parse_args(argv)

    from raml_recipes.data.benchmarks import DECONTAMINATION_SETS, decontamination_index, load_benchmark
    from raml_recipes.data.decontaminate import decontaminate
    from raml_recipes.data.io import read_rows

    rng = random.Random(0)
    base = [row["question"] for row in read_rows(ROOT / "data/gsm8k/train.jsonl")]
    rows, seen = [], set()
    while len(rows) < args.questions:  # GSM8K train with redrawn numbers: distinct, clean questions
        text = re.sub(r"\d+", lambda _: str(rng.randint(2, 999)), rng.choice(base))
        if text not in seen:
            seen.add(text)
            rows.append({"id": f"q{len(rows)}", "problem": text})
    sources = load_benchmark("math500") + load_benchmark("gsm8k")
    planted = []
    for i, item in enumerate(rng.sample(sources, args.planted)):
        text = item["problem"]
        if i % 2:  # re-typeset: no dollar signs, spacing changed, a sentence in front
            text = "Solve the following problem. " + text.replace("$", "").replace(", ", " , ")
        planted.append({"id": f"planted{i}", "problem": text})
    rows += planted
    rng.shuffle(rows)

    start = time.perf_counter()
    index, skipped = decontamination_index(DECONTAMINATION_SETS, args.ngram)
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    kept, report = decontaminate(rows, index)
    ours_s = time.perf_counter() - start
    dropped_ids = {row["id"] for row in rows} - {row["id"] for row in kept}

    benchmark_texts = {name: [q["problem"] for q in load_benchmark(name)] for name in index.questions}
    start = time.perf_counter()
    lookups = {name: open_r1_lookup(texts, args.ngram) for name, texts in benchmark_texts.items()}
    theirs_index_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = {row["id"] for row in rows if open_r1_contaminated(row["problem"], lookups, args.ngram)}
    theirs_s = time.perf_counter() - start

    planted_ids = {row["id"] for row in planted}
    result = {
        "benchmark": "decontamination", "rows": len(rows), "ngram": args.ngram,
        "benchmarks_indexed": dict(index.questions), "skipped_benchmarks": sorted(skipped),
        "index_s": round(index_s, 2), "rows_per_s": round(len(rows) / ours_s),
        "open_r1_index_s": round(theirs_index_s, 2), "open_r1_rows_per_s": round(len(rows) / theirs_s),
        "speed_vs_open_r1": round(theirs_s / ours_s, 2),
        "planted": len(planted_ids), "planted_found": len(planted_ids & dropped_ids),
        "open_r1_planted_found": len(planted_ids & theirs),
        "clean_dropped": len(dropped_ids - planted_ids), "open_r1_clean_dropped": len(theirs - planted_ids),
        "total_s": round(index_s + ours_s, 1),
    }  # fmt: skip
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
