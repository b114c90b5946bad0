"""One-command GPU check: support-set SFT throughput and MFU, GRPO step time for k = 4 of G = 16.

A random-initialised Qwen2.5-shaped model (`--size`: toy, 0.5b or 1.5b; built from its config, no
download) with a byte-level BPE tokenizer trained on the spot, and synthetic data, in one process:

1. SFT: `SupportSetSFTTrainer` (k = 2 of 4 trajectories per question, 2 samples per question) and
   TRL's plain `SFTTrainer` train from the same initial weights on the same batches (the support-set
   epoch's rows, handed to TRL in the order the support-set sampler draws them). Steps after
   `--warmup` are timed (CUDA synchronised at every step end); tokens are the non-padding tokens of
   the batches; MFU = 6 x parameters x tokens/s / peak FLOP/s.
2. GRPO: one generation batch of G = 16 completions per prompt, forced to `--completion_length`
   tokens (EOS and padding suppressed during sampling, so a random model cannot stop early), scored
   by a seeded random reward; then optimizer steps on those rollouts with all 16 completions, with
   k = 4 as `SupportSetGRPOTrainer` takes them, and k = 4 masked (the paper's way), interleaved,
   median of `--repeats` (`raml_recipes.training.support_timing.time_support_steps`).
3. Peak memory per phase: `torch.cuda.max_memory_allocated` on CUDA; on CPU the process's peak RSS.

bf16 on CUDA, float32 on CPU. Each phase is bounded by a share of `--budget_s` (SFT stops early,
generation gets `max_time`); a phase that fails is reported with its error and the rest still runs.
Progress goes to stderr; stdout is exactly one JSON line; ratios are against the baseline measured
in the same process (TRL's SFTTrainer; all 16 completions).

    PYTHONPATH=src python3 benchmarks/gpu_check.py [--size 0.5b] [--batch_size 8] [--seq_len 2048] \
        [--steps 10] [--warmup 3] [--completion_length 2048] [--prompts 1] [--repeats 3] [--budget_s 420]

On the GPU machine, with the wheels of benchmarks/gpu_wheels.txt: `bash benchmarks/gpu_check.sh`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from raml_recipes.recipes import ArgumentParser

# No Hub look-ups: every model and tokenizer here is built locally.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:  # the GPU machine runs the project from source, not installed
    sys.path.insert(0, str(ROOT / "src"))

# Qwen2.5 shapes (the published configs); "toy" takes the tokenizer's vocabulary.
SHAPES = {
    "toy": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, vocab_size=None),
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                 num_key_value_heads=2, vocab_size=151936),
    "1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                 num_key_value_heads=2, vocab_size=151936),
}  # fmt: skip
# Dense bf16 peak of the H100/H200 SXM datasheets (the sparse figure is twice this).
HOPPER_BF16_PEAK = 989e12
GROUP, SUPPORT_K = 16, 4
SFT_TRAJECTORIES, SFT_SUPPORT, SFT_SAMPLES = 4, 2, 2
GIB = 2**30


def log(message: str) -> None:
    print(f"[gpu_check {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Tokenizer, model, data: deterministic, so that the test can rebuild the rows and count tokens.


def problem_text(rng: random.Random) -> str:
    a, b = rng.randint(2, 99), rng.randint(2, 99)
    return f"A farmer has {a} apples and buys {b} more boxes of 3 apples each. How many apples does he have?"


def reasoning_line(rng: random.Random, step: int) -> str:
    a, b = rng.randint(1, 999), rng.randint(1, 999)
    return f"Step {step}: {a} + {b} = {a + b}, so we carry the sum forward and check it again.\n"


def build_tokenizer():
    from raml_recipes.models.tiny import train_tiny_tokenizer

    rng = random.Random(1)
    corpus = [problem_text(rng) for _ in range(200)] + [reasoning_line(rng, i) for i in range(400)]
    return train_tiny_tokenizer(corpus, vocab_size=1024)


def model_config(size: str, tokenizer):
    from transformers import Qwen2Config

    shape = dict(SHAPES[size])
    shape["vocab_size"] = shape["vocab_size"] or len(tokenizer)
    return Qwen2Config(
        **shape, max_position_embeddings=32768, tie_word_embeddings=True, use_sliding_window=False,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
    )  # fmt: skip


def build_model(config, device: str, dtype, seed: int = 0):
    """The same random weights on every call: each arm starts from the same initial model."""
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    torch.manual_seed(seed)
    with torch.device(device):  # initialised in place: a 1.5B model is slow to initialise on the CPU
        model = Qwen2ForCausalLM(config)
    model = model.to(dtype)
    model.generation_config = GenerationConfig(
        eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id, bos_token_id=None
    )
    return model


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())  # tied embeddings count once


def sft_question_count(batch_size: int, steps: int, warmup: int) -> int:
    """Enough questions that one support-set epoch covers every step (a second epoch redraws)."""
    return math.ceil(batch_size * (steps + warmup) / SFT_SAMPLES) + 1


def sft_records(tokenizer, questions: int, seq_len: int, seed: int = 0) -> list[dict]:
    """Questions with SFT_TRAJECTORIES trajectories each, of 0.3 to 1.2 x seq_len tokens: mixed
    lengths make the padding realistic, and the longest are truncated to seq_len."""
    rng = random.Random(seed)
    lines = [reasoning_line(rng, i % 40 + 1) for i in range(400)]
    line_tokens = [len(ids) for ids in tokenizer(lines, add_special_tokens=False)["input_ids"]]
    records = []
    for q in range(questions):
        trajectories = []
        for _ in range(SFT_TRAJECTORIES):
            target, parts, tokens = rng.randint(int(0.3 * seq_len), int(1.2 * seq_len)), [], 0
            while tokens < target:
                i = rng.randrange(len(lines))
                parts.append(lines[i])
                tokens += line_tokens[i]
            trajectories.append("".join(parts) + f"The answer is \\boxed{{{rng.randint(1, 999)}}}.")
        records.append({"id": f"q{q}", "problem": problem_text(rng), "trajectories": trajectories})
    return records


def sft_dataset(tokenizer, args):
    from raml_recipes.data.sft_format import build_sft_dataset

    records = sft_records(
        tokenizer, sft_question_count(args.batch_size, args.steps, args.warmup), args.seq_len
    )
    dataset, _ = build_sft_dataset(records, prompt_template="{problem}")
    return dataset


def grpo_prompts(count: int) -> list[dict]:
    rng = random.Random(2)
    return [{"prompt": [{"role": "user", "content": problem_text(rng)}]} for _ in range(count)]


# ---------------------------------------------------------------------------------------------
# Measurement


def training_kwargs(config_class) -> dict:
    """Activation checkpointing off, named the way the installed transformers names it.

    TRL defaults it to on, which recomputes the forward and would time something else; transformers
    5.18 renamed `gradient_checkpointing` to `activation_checkpointing` (the GPU machine has 5.17).
    """
    names = {f.name for f in dataclasses.fields(config_class)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {key: False}


class Device:
    def __init__(self, peak_tflops: float | None):
        import torch

        self.cuda = torch.cuda.is_available()
        self.type = "cuda" if self.cuda else "cpu"
        self.dtype = torch.bfloat16 if self.cuda else torch.float32
        self.name = torch.cuda.get_device_name(0) if self.cuda else f"cpu ({os.cpu_count()} cores)"
        if peak_tflops is not None:
            self.peak_flops = peak_tflops * 1e12
        elif self.cuda and any(tag in self.name for tag in ("H100", "H200")):
            self.peak_flops = HOPPER_BF16_PEAK
        else:
            self.peak_flops = None

    def sync(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.synchronize()

    def reset_peak(self) -> None:
        if self.cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()

    def peak_gib(self) -> float | None:
        if not self.cuda:
            return None
        import torch

        return round(torch.cuda.max_memory_allocated() / GIB, 3)

    def release(self) -> None:
        gc.collect()
        if self.cuda:
            import torch

            torch.cuda.empty_cache()


def peak_rss_gib() -> float:
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)


def timed_training(trainer, device: Device, warmup: int, deadline: float) -> dict:
    """Train, timing every optimizer step end to end (data, forward, backward, update) and counting
    the non-padding tokens of each step's batch."""
    from transformers import TrainerCallback

    ends, counts = [], {}

    class StepClock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            device.sync()
            ends.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            device.sync()
            ends.append(time.perf_counter())
            if ends[-1] > deadline and state.global_step > warmup:
                control.should_training_stop = True

    training_step = trainer.training_step

    def counting_step(model, inputs, *rest, **kwargs):
        mask = inputs.get("attention_mask")
        # Kept as a tensor: reading it here would synchronise the device mid-step.
        tokens = mask.sum() if mask is not None else inputs["input_ids"].numel()
        counts.setdefault(trainer.state.global_step, []).append(tokens)
        return training_step(model, inputs, *rest, **kwargs)

    trainer.training_step = counting_step
    trainer.add_callback(StepClock())
    device.reset_peak()
    trainer.train()
    durations = [b - a for a, b in zip(ends, ends[1:], strict=False)]
    measured = durations[warmup:]
    per_step = [int(sum(int(t) for t in counts[s])) for s in range(warmup, warmup + len(measured))]
    seconds = sum(measured)
    return {
        "steps": len(measured),
        "tokens_per_step": per_step,
        "tokens": sum(per_step),
        "seconds": round(seconds, 4),
        "median_step_s": round(statistics.median(measured), 4) if measured else None,
        "tokens_per_s": round(sum(per_step) / seconds, 1) if seconds else None,
        "peak_memory_gib": device.peak_gib(),
        "steps_done": len(durations),
    }


def mfu(tokens_per_s, n_params: int, device: Device):
    """6N FLOPs per token (forward 2N, backward 4N). The tied embedding matrix counts once: as the
    output projection it does its FLOPs, the lookup does none. Attention's score FLOPs are left out
    (PaLM's count would add up to 18% at 0.5B and 2048 tokens)."""
    if tokens_per_s is None or device.peak_flops is None:
        return None
    return round(6 * n_params * tokens_per_s / device.peak_flops, 4)


def sft_phase(args, tokenizer, config, device: Device, n_params: int, deadline_s: float) -> dict:
    from trl import SFTConfig, SFTTrainer

    from raml_recipes.training.sft_config import SupportSetSFTConfig
    from raml_recipes.training.sft_trainer import SupportSetSFTTrainer

    dataset = sft_dataset(tokenizer, args)
    total_steps = args.warmup + args.steps
    arm_seconds = deadline_s / 2
    with tempfile.TemporaryDirectory() as tmp:
        common = dict(
            per_device_train_batch_size=args.batch_size, max_length=args.seq_len, max_steps=total_steps,
            learning_rate=1e-5, use_cpu=not device.cuda, bf16=device.cuda, report_to="none",
            disable_tqdm=True, save_strategy="no", seed=0, dataloader_num_workers=0,
        )  # fmt: skip
        support_args = SupportSetSFTConfig(
            output_dir=f"{tmp}/support", support_size=SFT_SUPPORT, samples_per_question=SFT_SAMPLES,
            train_sampling_strategy="random", **common, **training_kwargs(SupportSetSFTConfig),
        )  # fmt: skip
        log(f"sft: {len(dataset)} rows, building the support-set trainer")
        trainer = SupportSetSFTTrainer(
            model=build_model(config, device.type, device.dtype), args=support_args, train_dataset=dataset,
            processing_class=tokenizer,
        )  # fmt: skip
        if len(trainer.train_dataset) != len(dataset):
            raise RuntimeError(
                "rows were dropped in tokenization: the baseline could not see the same batches"
            )
        order = trainer._get_train_sampler().epoch_order(0)[: args.batch_size * total_steps]
        log(f"sft: support-set trainer, {total_steps} steps of {args.batch_size} x <= {args.seq_len} tokens")
        support = timed_training(trainer, device, args.warmup, time.perf_counter() + arm_seconds)
        del trainer
        device.release()

        # TRL's own trainer on the rows the support-set sampler drew, in its order: the same batches.
        steps_done = support["steps_done"]
        baseline_rows = dataset.remove_columns("question_id").select(order[: args.batch_size * steps_done])
        baseline_args = SFTConfig(
            output_dir=f"{tmp}/trl", train_sampling_strategy="sequential",
            **{**common, "max_steps": steps_done}, **training_kwargs(SFTConfig),
        )  # fmt: skip
        log(f"sft: TRL SFTTrainer, {steps_done} steps on the same batches")
        trainer = SFTTrainer(
            model=build_model(config, device.type, device.dtype), args=baseline_args,
            train_dataset=baseline_rows, processing_class=tokenizer,
        )  # fmt: skip
        baseline = timed_training(trainer, device, args.warmup, float("inf"))
        del trainer
        device.release()

    result = {
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "warmup": args.warmup,
        "steps": support["steps"],
        "tokens": support["tokens"],
        "trl_tokens": baseline["tokens"],
        "support_set_tokens_per_s": support["tokens_per_s"],
        "trl_tokens_per_s": baseline["tokens_per_s"],
        "ratio": round(support["tokens_per_s"] / baseline["tokens_per_s"], 3)
        if support["tokens_per_s"] and baseline["tokens_per_s"]
        else None,
        "support_set_mfu": mfu(support["tokens_per_s"], n_params, device),
        "trl_mfu": mfu(baseline["tokens_per_s"], n_params, device),
        "support_set_median_step_s": support["median_step_s"],
        "trl_median_step_s": baseline["median_step_s"],
        "tokens_per_step": support["tokens_per_step"],
        "trl_tokens_per_step": baseline["tokens_per_step"],
        "peak_memory_gib": {"support_set": support["peak_memory_gib"], "trl": baseline["peak_memory_gib"]},
    }
    if args.report_rows:
        result["rows"] = order[
            args.batch_size * args.warmup : args.batch_size * (args.warmup + support["steps"])
        ]
    return result


def grpo_phase(args, tokenizer, config, device: Device, generation_s: float) -> dict:
    from datasets import Dataset

    from raml_recipes.training.grpo_config import SupportSetGRPOConfig
    from raml_recipes.training.grpo_trainer import SupportSetGRPOTrainer
    from raml_recipes.training.support_timing import time_support_steps

    rng = random.Random(0)

    def seeded_random_reward(completions, **kwargs):
        # Distinct rewards within each group: the group advantages are non-zero, with no grading.
        return [rng.random() for _ in completions]

    # A random model stops wherever it samples EOS; suppressing EOS and padding forces every
    # completion to the requested length, as a long reasoning rollout would be.
    stop_ids = sorted({tokenizer.eos_token_id, tokenizer.pad_token_id, config.eos_token_id} - {None})
    generation_kwargs = {"suppress_tokens": stop_ids, "max_time": max(1.0, generation_s)}
    with tempfile.TemporaryDirectory() as tmp:
        grpo_args = SupportSetGRPOConfig(
            output_dir=tmp, num_generations=GROUP, per_device_train_batch_size=GROUP * args.prompts,
            max_completion_length=args.completion_length, support_size=SUPPORT_K, use_cpu=not device.cuda,
            bf16=device.cuda, report_to="none", disable_tqdm=True, seed=0, learning_rate=1e-6,
            generation_kwargs=generation_kwargs, **training_kwargs(SupportSetGRPOConfig),
        )  # fmt: skip
        trainer = SupportSetGRPOTrainer(
            model=build_model(config, device.type, device.dtype), reward_funcs=[seeded_random_reward],
            args=grpo_args, train_dataset=Dataset.from_list(grpo_prompts(args.prompts)),
            processing_class=tokenizer,
        )  # fmt: skip

        seen = {"rows": {}, "loss_tokens": {}, "peak": {}, "full": None, "pending": None}
        generate, compute_loss = trainer._generate_and_score_completions, trainer.compute_loss

        def flush():
            if seen["pending"] is not None and device.cuda:
                label = seen["pending"]
                seen["peak"][label] = max(seen["peak"].get(label, 0.0), device.peak_gib())
            seen["pending"] = None

        def timed_generate(inputs):
            device.reset_peak()
            device.sync()
            start = time.perf_counter()
            output = generate(inputs)
            device.sync()
            seen["generation_s"] = round(time.perf_counter() - start, 3)
            mask = output["completion_mask"]
            seen["full"] = (mask.size(0), int(mask.sum()))
            seen["peak"]["generation"] = device.peak_gib()
            return output

        def labelled_loss(model, inputs, *rest, **kwargs):
            # The peak of a step (forward, backward, update) is read when the next one starts.
            flush()
            rows, tokens = inputs["completion_mask"].size(0), int(inputs["completion_mask"].sum())
            full_rows, full_tokens = seen["full"]
            if rows < full_rows:
                label = f"k_{SUPPORT_K}"
            else:
                label = f"all_{GROUP}" if tokens == full_tokens else f"masked_k_{SUPPORT_K}"
            seen["rows"][label], seen["loss_tokens"][label] = rows, tokens
            device.reset_peak()
            seen["pending"] = label
            return compute_loss(model, inputs, *rest, **kwargs)

        trainer._generate_and_score_completions = timed_generate
        trainer.compute_loss = labelled_loss
        log(f"grpo: generating {GROUP * args.prompts} completions of {args.completion_length} tokens")
        timing = time_support_steps(trainer, args.repeats, ks=[SUPPORT_K])
        flush()
        del trainer
        device.release()

    step = timing["step_s"]
    return {
        "G": GROUP,
        "k": SUPPORT_K,
        "prompts": args.prompts,
        "completions": timing["completions"],
        "completion_tokens": timing["completion_tokens"],
        "completion_length_requested": args.completion_length,
        "completion_length": round(timing["completion_tokens"] / timing["completions"], 1),
        "generation_s": seen.get("generation_s"),
        "repeats": args.repeats,
        f"step_s_all_{GROUP}": step[f"all_{GROUP}"],
        f"step_s_k_{SUPPORT_K}": step[f"k_{SUPPORT_K}"],
        f"step_s_masked_k_{SUPPORT_K}": step[f"masked_k_{SUPPORT_K}"],
        "ratio": timing["ratio"][SUPPORT_K],
        "masked_ratio": timing["masked_ratio"][SUPPORT_K],
        "rows": seen["rows"],
        "loss_tokens": seen["loss_tokens"],
        "peak_memory_gib": seen["peak"] if device.cuda else None,
    }


def versions() -> dict:
    import importlib.metadata as metadata

    found = {}
    for name in ("torch", "transformers", "trl", "datasets", "accelerate"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["python"] = sys.version.split()[0]
    return found


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SHAPES), default="0.5b")
    parser.add_argument("--batch_size", type=int, default=8, help="SFT sequences per step")
    parser.add_argument("--seq_len", type=int, default=2048, help="SFT max_length")
    parser.add_argument("--steps", type=int, default=10, help="timed SFT steps per trainer")
    parser.add_argument("--warmup", type=int, default=3, help="untimed SFT steps first (at least 1)")
    parser.add_argument("--completion_length", type=int, default=2048, help="GRPO tokens per completion")
    parser.add_argument("--prompts", type=int, default=1, help=f"GRPO prompts ({GROUP} completions each)")
    parser.add_argument("--repeats", type=int, default=3, help="timed GRPO steps of each kind (median)")
    parser.add_argument("--peak_tflops", type=float, default=None,
                        help="peak FLOP/s for MFU (default: 989 on H100/H200, none elsewhere)")  # fmt: skip
    parser.add_argument("--budget_s", type=float, default=420.0,
                        help="wall-clock budget: SFT gets 40%% (both trainers), GRPO generation 30%%")  # fmt: skip
    parser.add_argument("--phases", default="sft,grpo", help="comma-separated subset of sft,grpo")
    parser.add_argument("--report_rows", action="store_true", help="list the timed SFT rows (for tests)")
    args = parser.parse_args(argv)
    if args.warmup < 1:
        parser.error("--warmup must be at least 1: the first step includes start-up work")
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not set(phases) <= {"sft", "grpo"}:
        parser.error(f"--phases must name sft and/or grpo, got {args.phases!r}")

    start = time.perf_counter()
    result = {"benchmark": "gpu_check", "size": args.size}
    failed = False
    # Trainers print their logs to stdout; stdout carries only the JSON line.
    with contextlib.redirect_stdout(sys.stderr):
        import torch

        device = Device(args.peak_tflops)
        log(f"device {device.name}, dtype {device.dtype}, versions {versions()}")
        tokenizer = build_tokenizer()
        config = model_config(args.size, tokenizer)
        probe = build_model(config, "meta", device.dtype)
        n_params = count_parameters(probe)
        del probe
        result.update(
            device=device.name,
            versions=versions(),
            dtype=str(device.dtype).replace("torch.", ""),
            n_params=n_params,
            model={key: getattr(config, key) for key in SHAPES["0.5b"]},
            peak_tflops=device.peak_flops / 1e12 if device.peak_flops else None,
        )
        log(f"model {args.size}: {n_params / 1e6:.1f}M parameters")
        torch.manual_seed(0)
        for phase in phases:
            phase_start = time.perf_counter()
            try:
                if phase == "sft":
                    result["sft"] = sft_phase(args, tokenizer, config, device, n_params, 0.4 * args.budget_s)
                else:
                    result["grpo"] = grpo_phase(args, tokenizer, config, device, 0.3 * args.budget_s)
            except Exception as error:  # one GPU call: keep what the other phase measured
                failed = True
                result[phase] = {"error": f"{type(error).__name__}: {error}"}
                log(f"{phase} failed: {error!r}")
                import traceback

                traceback.print_exc()
            log(f"{phase}: {time.perf_counter() - phase_start:.1f} s")
            device.release()
        result["peak_rss_gib"] = peak_rss_gib()
        result["total_s"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
