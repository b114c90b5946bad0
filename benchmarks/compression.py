"""Rule-based compression on real long reasoning: tokens kept and answers preserved, per rule and combined.

On the correct DeepSeek-R1-distill traces (Llama-8B and Qwen-14B, MATH level 5, 20 of the 40 in the
file), each rule alone and the three combined are applied at the given granularity. Per method:
- `compression_ratio`: median of long / short tokens of the whole trajectory (thought + final answer
  part, which the rules never touch), with the student's tokenizer;
- `tokens_kept`: median of short / long tokens;
- `preserved`: fraction whose retained thought alone still ends by stating the answer, graded with the
  project's grader (the check `raml summarize` keeps a compression by).
`baseline_preserved` is the same check on the untouched thoughts. Prints one JSON line; `--plot`
also saves a histogram of tokens kept per method.

    python benchmarks/compression.py [--traces ../shared/data/reasoning_traces/thought_anchors_r1distill_math.jsonl]
        [--tokenizer embedded:smollm2-135m] [--granularity paragraph] [--plot compression.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from raml_recipes.recipes import ArgumentParser

METHODS = {
    "stop_at_answer": ["stop_at_answer"],
    "drop_verification": ["drop_verification"],
    "collapse_branches": ["collapse_branches"],
    "combined": ["stop_at_answer", "drop_verification", "collapse_branches"],
}


def main(argv=None) -> int:
    from raml_recipes.paths import shared_data, shipped_data

    default = shared_data("reasoning_traces", "thought_anchors_r1distill_math.jsonl")
    if not default.is_file():
        default = shipped_data("reasoning_traces", "thought_anchors_r1distill_math.jsonl")
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=Path, default=default)
    parser.add_argument("--tokenizer", default="embedded:smollm2-135m")
    parser.add_argument("--granularity", default="paragraph", choices=["paragraph", "line", "sentence"])
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args(argv)

    from raml_recipes.data.io import read_rows
    from raml_recipes.models.loading import load_tokenizer
    from raml_recipes.summarize import answer_follows, compress_with_rules, split_trajectory

    rows = [row for row in read_rows(args.traces) if row["is_correct"]]
    # The file's prompt ends with "<think>\n": the trajectory is that opening plus the response.
    texts = ["<think>\n" + row["response"] for row in rows]
    answers = [row["gt_answer"] for row in rows]
    tokenizer = load_tokenizer(args.tokenizer)

    def tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    long_tokens = [tokens(text) for text in texts]
    baseline = answer_follows([split_trajectory(text).thought for text in texts], answers)
    result = {
        "traces": len(rows), "tokenizer": args.tokenizer, "granularity": args.granularity,
        "median_long_tokens": statistics.median(long_tokens),
        "baseline_preserved": round(sum(baseline) / len(rows), 3),
    }  # fmt: skip
    kept_by_method = {}
    for name, rules in METHODS.items():
        start = time.perf_counter()
        compressed = compress_with_rules(texts, answers, rules, args.granularity)
        preserved = answer_follows([c.thought for c in compressed], answers)
        seconds = time.perf_counter() - start
        short = [tokens(c.text) for c in compressed]
        kept = [s / n for s, n in zip(short, long_tokens, strict=True)]
        kept_by_method[name] = kept
        result[name] = {
            "compression_ratio": round(
                statistics.median(n / s for s, n in zip(short, long_tokens, strict=True)), 3
            ),
            "tokens_kept": round(statistics.median(kept), 3),
            "preserved": round(sum(preserved) / len(rows), 3),
            "seconds": round(seconds, 2),
        }
    if args.plot:
        from raml_recipes.plotting import figure

        with figure(args.plot, (7, 4)) as ax:
            ax.hist(list(kept_by_method.values()), bins=10, range=(0, 1), label=list(kept_by_method))
            ax.set(title=f"Rule-based compression, {len(rows)} R1-distill traces",
                   xlabel="short / long tokens", ylabel="traces")  # fmt: skip
            ax.legend()
        result["plot"] = str(args.plot)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
