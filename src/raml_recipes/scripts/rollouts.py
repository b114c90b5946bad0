"""Sample n rollouts per question from a teacher model, sharded and resumable.

```bash
# The teacher rollouts of the paper's summarization study (Qwen3-32B, 16 per question)
raml rollouts --config recipes/Qwen3-32B/rollouts/config_paper.yaml --shard 0/8
# Any model and question set; then: python data_prep/build_trajectories.py --input <output> ...
raml rollouts --model_name_or_path Qwen/QwQ-32B --questions math500 --num_samples 64 \
    --temperature 0.7 --top_p 1.0 --top_k 50 --max_new_tokens 32768 --backend vllm --output rollouts.jsonl
```
`questions` takes a named benchmark (gsm8k, math500, ...), a .jsonl/.json/.parquet file, a folder or a
Hub id with `problem`/`question` and `answer` columns. A rerun with the same `output` skips the
questions already written. Each row records why every rollout stopped: the count of rollouts cut at
`max_new_tokens` is printed, since a cut thought has no answer and grades as incorrect.
"""

from __future__ import annotations


def main(config) -> int:
    from raml_recipes.data.benchmarks import load_benchmark
    from raml_recipes.evaluation.rollouts import generate_rollouts, parse_shard, shard_questions
    from raml_recipes.evaluation.runner import make_generator
    from raml_recipes.models.loading import load_tokenizer

    index, count = parse_shard(config.shard)
    questions = shard_questions(
        load_benchmark(config.questions, config.max_questions, split=config.split), index, count
    )
    config.resolve_prompts()
    tokenizer = load_tokenizer(
        config.model_name_or_path, config.model_revision, config.chat_template_path, config.trust_remote_code
    )
    generator = make_generator(config, tokenizer)
    sampled, truncated = generate_rollouts(
        questions, generator, tokenizer, config.num_samples, config.output, config.prompt_template,
        config.system_prompt, enable_thinking=config.enable_thinking,
    )  # fmt: skip
    print(
        f"shard {config.shard}: {sampled} questions sampled, {len(questions) - sampled} already done -> {config.output}"
        + (
            f"; {truncated} rollouts reached max_new_tokens ({config.max_new_tokens}) unfinished"
            if truncated
            else ""
        )
    )
    return 0


def make_parser(prog: str | None = None):
    from trl import TrlParser

    from raml_recipes.evaluation.config import RolloutConfig

    return TrlParser((RolloutConfig,), prog=prog)


def cli(argv: list[str] | None = None, prog: str | None = None) -> int:
    from raml_recipes.recipes import parse_recipe

    (config,) = parse_recipe(make_parser(prog), argv)
    return main(config)


if __name__ == "__main__":
    import sys

    from raml_recipes.user_errors import run

    sys.exit(run(cli, "raml rollouts"))
