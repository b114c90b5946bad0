"""Sample n rollouts per question from a teacher model, sharded and resumable: `raml rollouts`.

    # the teacher rollouts of the paper's summarization study (settings in the recipe)
    python data_prep/generate_rollouts.py --config recipes/Qwen3-32B/rollouts/config_paper.yaml --shard 0/8
    python data_prep/generate_rollouts.py --model Qwen/QwQ-32B --questions questions.jsonl \
        --num_samples 64 --temperature 0.7 --top_k 50 --top_p 1.0 --max_new_tokens 32768 \
        --backend vllm --shard 0/8 --output rollouts/shard-0.jsonl
    # then: python data_prep/build_trajectories.py --input rollouts/shard-0.jsonl --output ...

Every key of `raml_recipes.evaluation.config.RolloutConfig` is a flag (`--num_samples` or
`--num_samples`); `--model` is `--model_name_or_path`. A rerun with the same --output skips the
questions already written.
"""

from __future__ import annotations

import sys

from raml_recipes.cli import main as raml

if __name__ == "__main__":
    argv = ["--model_name_or_path" if arg == "--model" else arg for arg in sys.argv[1:]]
    sys.exit(raml(["rollouts", *argv]))
