"""Sample n rollouts per question from a teacher model, sharded and resumable.

    # the paper: 64 rollouts per question at temperature 0.7, top-k 50
    python data_prep/generate_rollouts.py --model Qwen/QwQ-32B --questions questions.jsonl \
        --num-samples 64 --temperature 0.7 --top-k 50 --top-p 1.0 --max-new-tokens 16384 \
        --backend vllm --shard 0/8 --output rollouts/shard-0.jsonl
    # then: python data_prep/build_trajectories.py --input rollouts/shard-0.jsonl --output ...

--questions takes a named benchmark (gsm8k, math500, ...), a .jsonl/.json/.parquet file, a folder or a
Hub id with `problem`/`question` and `answer` columns. A rerun with the same --output skips the
questions already written.
"""

from __future__ import annotations

import argparse
import sys

from raml_recipes.data.errors import DataError
from raml_recipes.data.sft_format import PAPER_SFT_PROMPT
from raml_recipes.evaluation.benchmarks import load_benchmark
from raml_recipes.evaluation.config import EvaluationConfig
from raml_recipes.evaluation.rollouts import generate_rollouts, parse_shard, shard_questions
from raml_recipes.evaluation.runner import make_generator
from raml_recipes.models.loading import load_tokenizer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="Hub id, local folder or embedded:<name>")
    parser.add_argument("--questions", required=True, help="named benchmark, file, folder or Hub id")
    parser.add_argument("--split", default="train", help="split of a folder or Hub dataset")
    parser.add_argument("--output", required=True, help="rollout .jsonl (appended; reruns resume)")
    parser.add_argument("--num-samples", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=50)
    parser.add_argument("--max-new-tokens", type=int, default=4096)
    parser.add_argument("--max-questions", type=int, default=None)
    parser.add_argument(
        "--shard", default="0/1", help="i/n: this job takes every n-th question starting at i"
    )
    parser.add_argument("--backend", default="transformers", choices=["transformers", "vllm"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--prompt-template", default=PAPER_SFT_PROMPT)
    parser.add_argument("--system-prompt", default=None)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    index, count = parse_shard(args.shard)
    config = EvaluationConfig(
        model_name_or_path=args.model, output_dir=str(args.output), dtype=args.dtype, num_samples=args.num_samples,
        ks=[1], temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, max_new_tokens=args.max_new_tokens,
        prompt_template=args.prompt_template, system_prompt=args.system_prompt, backend=args.backend,
        batch_size=args.batch_size, seed=args.seed,
    )  # fmt: skip
    try:
        questions = shard_questions(
            load_benchmark(args.questions, args.max_questions, split=args.split), index, count
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    tokenizer = load_tokenizer(args.model)
    generator = make_generator(config, tokenizer)
    sampled = generate_rollouts(
        questions,
        generator,
        tokenizer,
        args.num_samples,
        args.output,
        args.prompt_template,
        args.system_prompt,
    )
    print(
        f"shard {args.shard}: {sampled} questions sampled, {len(questions) - sampled} already done -> {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
