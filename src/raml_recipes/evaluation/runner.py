"""The evaluation loop: sample, grade, append; resumable from `samples.jsonl`.

Outputs in `output_dir`: `config.json` (the settings; a resume must match them), `samples.jsonl`
(every sample with its verdict, appended as generated), `summary.json`, `results.md`,
`model_index.json` (for the Hub model card) and `results.png`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tqdm.auto import tqdm

from ..data.benchmarks import load_benchmark
from ..data.io import write_json
from ..models.loading import load_tokenizer
from ..prompts import render_prompt_text
from ..rewards import configure_grading, grade_choice, grade_many
from ..runs import check_run_settings, read_appended_rows
from .config import EvaluationConfig
from .generation import build_generator
from .report import markdown_table, metric_columns, model_index, results_chart, summarize_benchmark

QUESTIONS_PER_CHUNK = 8  # at least this many questions are generated, graded and appended together


def make_generator(config: EvaluationConfig, tokenizer):
    return build_generator(
        config, config.model_name_or_path, tokenizer, config.decoding, config.model_revision
    )


def _grade(questions: list[dict], samples: list[list], mode: str = "math_verify") -> list[list]:
    """Verdicts per sample: correct when any acceptable gold answer matches; None when none can be parsed.

    Math answers go through the grading pool (math-verify, with its deadline); multiple-choice items
    (`grader: "choice"`) are letters, read in this process.
    """
    pairs = [
        (gold, s.text)
        for q, qs in zip(questions, samples, strict=True)
        if q.get("grader") != "choice"
        for s in qs
        for gold in q["answers"]
    ]
    verdicts = iter(grade_many(pairs, mode=mode))
    graded = []
    for question, question_samples in zip(questions, samples, strict=True):
        if question.get("grader") == "choice":
            graded.append([grade_choice(question["answers"][0], s.text) for s in question_samples])
            continue
        row = []
        for _ in question_samples:
            own = [next(verdicts) for _ in question["answers"]]
            # A match with any gold wins; else an incorrect verdict; None only if no gold parses.
            scored = [v for v in own if v.correct is not None]
            row.append(next((v for v in scored if v.correct), scored[0] if scored else own[0]))
        graded.append(row)
    return graded


def _chunks(pending: list[tuple[dict, list[int]]], size: int):
    """Chunks of at most `size` questions, never mixing benchmarks (each may have its own token budget)."""
    start = 0
    while start < len(pending):
        benchmark = pending[start][0]["benchmark"]
        end = start
        while end < len(pending) and end - start < size and pending[end][0]["benchmark"] == benchmark:
            end += 1
        yield benchmark, pending[start:end]
        start = end


def evaluate(config: EvaluationConfig) -> dict:
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    prompt_sources = config.resolve_prompts()
    # The model's files and every benchmark given as a file are inputs: retrained or regenerated in
    # place, they make the samples already here someone else's.
    inputs = {"model": config.model_name_or_path}
    inputs |= {f"benchmark {spec}": spec for spec in config.benchmarks if Path(spec).exists()}
    settings = {**config.fingerprint(), "benchmarks": config.benchmarks}
    check_run_settings(output_dir, "evaluate", settings, inputs, overwrite=config.overwrite_output_dir,
                       outputs=("samples.jsonl", "summary.json", "results.md", "model_index.json", "results.png"))  # fmt: skip
    configure_grading(workers=config.grading_workers, deadline=config.grading_deadline)
    questions = [q for spec in config.benchmarks for q in load_benchmark(spec, config.max_questions)]
    samples_path = output_dir / "samples.jsonl"
    done: dict[tuple, set[int]] = {}
    for row in read_appended_rows(samples_path):
        done.setdefault((row["benchmark"], row["id"]), set()).add(row["sample"])
    pending = []
    for question in questions:
        missing = [
            s
            for s in range(config.num_samples)
            if s not in done.get((question["benchmark"], question["id"]), ())
        ]
        if missing:
            pending.append((question, missing))
    if pending:
        tokenizer = load_tokenizer(
            config.model_name_or_path, config.model_revision, config.chat_template_path, config.trust_remote_code
        )
        generator = make_generator(config, tokenizer)
        total = sum(len(missing) for _, missing in pending)
        with (
            tqdm(total=total, desc="Sampling", unit="sample") as bar,
            open(samples_path, "a", encoding="utf-8") as out,
        ):
            # A chunk fills a whole generation batch (what a kill can lose): with 8 questions a chunk, a
            # batch_size of 64 would generate 8 sequences at a time, several times slower on a CPU.
            per_chunk = max(QUESTIONS_PER_CHUNK, config.batch_size // config.num_samples)
            for benchmark, chunk in _chunks(pending, per_chunk):
                generator.decoding = replace(config.decoding, max_new_tokens=config.max_new_tokens_for(benchmark))
                prompts = [
                    render_prompt_text(tokenizer, q["problem"], config.prompt_template, config.system_prompt,
                                       config.enable_thinking)
                    for q, _ in chunk
                ]  # fmt: skip
                samples = generator.generate(
                    [(p, len(m)) for p, (_, m) in zip(prompts, chunk, strict=True)], bar.update
                )
                verdicts = _grade([q for q, _ in chunk], samples, config.grading)
                for (question, missing), question_samples, question_verdicts in zip(
                    chunk, samples, verdicts, strict=True
                ):
                    for index, sample, verdict in zip(
                        missing, question_samples, question_verdicts, strict=True
                    ):
                        row = {
                            "benchmark": question["benchmark"], "id": question["id"], "sample": index,
                            "completion": sample.text, "num_tokens": sample.num_tokens,
                            "finish_reason": sample.finish_reason, "correct": verdict.correct,
                            "reason": verdict.reason, "extracted": verdict.extracted,
                        }  # fmt: skip
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
    return write_reports(config, questions, read_appended_rows(samples_path), prompt_sources)


def write_reports(
    config: EvaluationConfig, questions: list[dict], rows: list[dict], prompt_sources: dict | None = None
) -> dict:
    output_dir = Path(config.output_dir)
    wanted = {(q["benchmark"], q["id"]) for q in questions}
    rows = [r for r in rows if (r["benchmark"], r["id"]) in wanted and r["sample"] < config.num_samples]
    summaries = {
        spec: summarize_benchmark([r for r in rows if r["benchmark"] == spec], config.num_samples, config.ks)
        for spec in config.benchmarks
    }
    summary = {
        "model": config.model_name_or_path,
        "backend": config.backend,  # of the latest run into this folder (not in the fingerprint)
        "settings": config.fingerprint(),
        "prompt_sources": prompt_sources,  # where prompt_template / system_prompt came from
        "benchmarks": summaries,
    }
    write_json(output_dir / "summary.json", summary)
    table = markdown_table(summaries, config.num_samples, config.ks)
    (output_dir / "results.md").write_text(
        f"# Evaluation of {config.model_name_or_path}\n\n{config.num_samples} samples per question, temperature "
        f"{config.temperature}, top-p {config.top_p}, top-k {config.top_k}, at most {config.max_new_tokens} new "
        f"tokens. Metrics in %.\n\n{table}"
    )
    write_json(
        output_dir / "model_index.json",
        model_index(config.model_name_or_path, summaries, config.num_samples, config.ks),
    )
    results_chart(output_dir / "results.png", summaries, metric_columns(config.num_samples, config.ks))
    return summary
