"""Padding waste and training throughput of support-set batches against TRL's default batches.

Same data, same model, one process: the epoch's support-set samples (k=2 of 3 trajectories, 2 per
question, 200 GSM8K questions) go through forward + backward + optimizer step of a small random
Llama (hidden 256, 4 layers) in three ways:
- `baseline`: TRL's default, a random order and the padding collator;
- `grouped`:  the support-set sampler with `train_sampling_strategy: group_by_length`, same collator;
- `padding_free`: the support-set sampler with TRL's padding-free collator (one flat sequence per batch).
Prints one JSON line; ratios are against the baseline.

    python benchmarks/sft_batches.py [--questions 200] [--batch_size 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from raml_recipes.recipes import ArgumentParser

ROOT = Path(__file__).resolve().parents[1]


def build_trainer(workdir: Path, questions: int, batch_size: int):
    from raml_recipes.data.io import read_rows
    from raml_recipes.data.loaders import load_trajectories
    from raml_recipes.data.sft_format import build_sft_dataset
    from raml_recipes.models.tiny import build_tiny_model
    from raml_recipes.training.sft_config import SupportSetSFTConfig
    from raml_recipes.training.sft_trainer import SupportSetSFTTrainer

    corpus = [
        row["question"] + "\n" + row["answer"] for row in read_rows(ROOT / "data/gsm8k/train.jsonl")[:300]
    ]
    model_dir = build_tiny_model(workdir / "model", corpus=corpus, hidden_size=256, num_layers=4)
    records = load_trajectories(str(ROOT / "data/trajectories/gsm8k_train.jsonl"), max_questions=questions)
    dataset, _ = build_sft_dataset(records)
    args = SupportSetSFTConfig(
        output_dir=str(workdir / "out"),
        support_size=2,
        samples_per_question=2,
        per_device_train_batch_size=batch_size,
        max_length=1024,
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        report_to="none",
        train_sampling_strategy="group_by_length",
        disable_tqdm=True,
    )
    return SupportSetSFTTrainer(model=str(model_dir), args=args, train_dataset=dataset)


def run(model, optimizer, batches) -> dict:
    real = padded = 0
    start = time.perf_counter()
    for batch in batches:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        # A padding-free batch is one flat sequence with no padding: every position is a real token.
        real += (
            int(batch["attention_mask"].sum()) if "attention_mask" in batch else batch["input_ids"].numel()
        )
        padded += batch["input_ids"].numel()
    elapsed = time.perf_counter() - start
    return {
        "padding_waste": round(1 - real / padded, 4),
        "tokens_per_s": round(real / elapsed, 1),
        "seconds": round(elapsed, 2),
    }


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="repeat each way; the median is reported")
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    with tempfile.TemporaryDirectory() as workdir:
        trainer = build_trainer(Path(workdir), args.questions, args.batch_size)
        dataset = trainer.train_dataset.select_columns(["input_ids", "labels"])
        rows = [dataset[i] for i in range(len(dataset))]
        sampler = trainer._get_train_sampler()
        grouped_order = sampler.epoch_order(0)
        baseline_order = trainer.support_plan.epoch_rows(0)
        random.Random(0).shuffle(baseline_order)
        pad_id = trainer.processing_class.pad_token_id
        padded_collator = DataCollatorForLanguageModeling(pad_token_id=pad_id)
        flat_collator = DataCollatorForLanguageModeling(pad_token_id=pad_id, padding_free=True)

        def batches(order, collator):
            return [
                collator([rows[i] for i in order[s : s + args.batch_size]])
                for s in range(0, len(order), args.batch_size)
            ]

        ways = {
            "baseline": batches(baseline_order, padded_collator),
            "grouped": batches(grouped_order, padded_collator),
            "padding_free": batches(grouped_order, flat_collator),
        }
        model = trainer.model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        run(model, optimizer, ways["baseline"][:3])  # warm-up
        results = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():
                results[name].append(run(model, optimizer, way))
        summary = {
            name: {key: round(statistics.median(r[key] for r in runs), 4) for key in runs[0]}
            for name, runs in results.items()
        }
    base = summary["baseline"]
    line = {
        "benchmark": "sft_batches",
        "samples": len(baseline_order),
        "batch_size": args.batch_size,
        **summary,
        "grouped_padding_waste_ratio": round(summary["grouped"]["padding_waste"] / base["padding_waste"], 3),
        "grouped_tokens_per_s_ratio": round(summary["grouped"]["tokens_per_s"] / base["tokens_per_s"], 3),
        "padding_free_tokens_per_s_ratio": round(
            summary["padding_free"]["tokens_per_s"] / base["tokens_per_s"], 3
        ),
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
