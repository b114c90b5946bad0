"""Confidence-probe throughput: cached, blocked prefixes against one forward pass per prefix.

On SmolLM2-135M-Instruct (float32, CPU) and a real R1-distill trace cut to 1,000 thought tokens, the
probe is computed (a) the naive way, one forward of prompt + prefix + answer per prefix, on evenly
spaced prefixes, and (b) with `answer_nll_curve` on all 1,001 prefixes. Prints one JSON line with
prefixes per second for each, `speedup` = (b) / (a), and the largest difference between the two at
the prefixes both computed.

    python benchmarks/probe_speed.py [--tokens 1000] [--naive_prefixes 24] [--chunk 64]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from raml_recipes.recipes import ArgumentParser


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--naive_prefixes", type=int, default=24)
    parser.add_argument("--chunk", type=int, default=64)
    args = parser.parse_args(argv)

    from raml_recipes.models.loading import load_causal_lm, load_tokenizer
    from raml_recipes.probe.confidence import answer_nll_curve, answer_nll_naive, encode_probe
    from raml_recipes.probe.trajectories import r1_probe_trajectories
    from raml_recipes.prompts import render_prompt_text

    torch.manual_seed(0)
    tokenizer = load_tokenizer(args.model)
    model = load_causal_lm(args.model, "float32")
    item = max(r1_probe_trajectories(), key=lambda i: len(i["thought"]))
    probe = encode_probe(
        tokenizer, render_prompt_text(tokenizer, item["problem"]), item["thought"], item["answer"]
    )
    probe.thought = probe.thought[: args.tokens]
    total = len(probe.thought) + 1
    sampled = [round(i * (total - 1) / (args.naive_prefixes - 1)) for i in range(args.naive_prefixes)]

    answer_nll_naive(model, probe, 10)  # warm-up
    start = time.perf_counter()
    naive = [answer_nll_naive(model, probe, p) for p in sampled]
    naive_rate = len(sampled) / (time.perf_counter() - start)

    start = time.perf_counter()
    curve = answer_nll_curve(model, probe, chunk=args.chunk)
    ours_rate = total / (time.perf_counter() - start)

    line = {
        "benchmark": "probe_speed",
        "model": args.model,
        "thought_tokens": len(probe.thought),
        "prompt_tokens": len(probe.prompt),
        "naive_prefixes_per_s": round(naive_rate, 2),
        "ours_prefixes_per_s": round(ours_rate, 2),
        "speedup": round(ours_rate / naive_rate, 1),
        "max_abs_difference": float(max(abs(curve[p] - n) for p, n in zip(sampled, naive, strict=True))),
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
