"""`raml summarize`: compress a trajectory dataset, verify every compression, append rows as it goes.

Outputs in `output_dir`:
- `rows-<i>-of-<n>.jsonl`: one row per trajectory of shard i, appended chunk by chunk: question id,
  trajectory index, method, verdict (kept / rejected / no_thought), long and short token counts
  (student tokenizer), the compressed text. A rerun skips the rows already there, so a killed job
  loses at most the chunk in flight, and no row is written twice.
- once every shard's rows are in (whichever shard finishes last does this): `trajectories.jsonl`
  (the canonical schema, ready for `raml sft`), `summary.json` and `length_ratios.png`.
"""

from __future__ import annotations

import json
from pathlib import Path

from tqdm.auto import tqdm

from ..configs import parse_shard
from ..data.loaders import load_trajectories
from ..models.loading import load_tokenizer
from ..rewards import configure_grading, grade_many
from ..runs import check_run_settings, read_appended_rows
from .compress import answer_follows, compress_with_rules
from .config import SummarizeConfig
from .report import write_outputs
from .trajectory import split_trajectory


def rows_path(output_dir: Path, index: int, count: int) -> Path:
    return Path(output_dir) / f"rows-{index:05d}-of-{count:05d}.jsonl"


def work_units(records: list[dict], only_correct: bool) -> list[tuple[dict, int]]:
    """(record, trajectory index) for every trajectory to compress."""
    return [
        (record, j)
        for record in records
        for j in range(len(record["trajectories"]))
        if not (only_correct and record.get("correct") is not None and not record["correct"][j])
    ]


def _compress_rules(config: SummarizeConfig, units) -> list[dict]:
    texts = [record["trajectories"][j] for record, j in units]
    answers = [record["answer"] for record, _ in units]
    compressed = compress_with_rules(texts, answers, config.rules, config.granularity)
    follows = answer_follows([c.thought for c in compressed], answers)
    return [
        {"text": c.text, "verdict": "no_thought" if c.parts is None else ("kept" if ok else "rejected")}
        for c, ok in zip(compressed, follows, strict=True)
    ]


def _compress_model(config: SummarizeConfig, units, models) -> list[dict]:
    from .model import read_answers, summarize_thoughts

    parts = [split_trajectory(record["trajectories"][j]) for record, j in units]
    todo = [i for i, p in enumerate(parts) if p is not None]
    results = [{"text": record["trajectories"][j], "verdict": "no_thought"} for record, j in units]
    if not todo:
        return results
    summaries = summarize_thoughts(models, config, [parts[i].thought for i in todo])
    problems = [units[i][0]["problem"] for i in todo]
    answers = read_answers(models, config, problems, [s.text for s in summaries])
    verdicts = grade_many(
        [(units[i][0]["answer"], answer) for i, answer in zip(todo, answers, strict=True)], mode=config.grading
    )
    for i, summary, answer, verdict in zip(todo, summaries, answers, verdicts, strict=True):
        results[i] = {
            "text": parts[i].with_thought(summary.text.strip()),
            "verdict": "kept" if verdict.correct else "rejected",
            "reader_answer": answer,
            "summary_finish_reason": summary.finish_reason,
        }
    return results


def summarize(config: SummarizeConfig) -> dict | None:
    """Process this shard; returns the summary once every shard is done (None while some are not)."""
    output_dir = Path(config.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    inputs = {"trajectories": config.dataset_name, "student_tokenizer": config.student_tokenizer,
              "summarizer": config.summarizer_model_name_or_path, "reader": config.reader_model_name_or_path}  # fmt: skip
    check_run_settings(output_dir, "summarize", config.fingerprint(), inputs, overwrite=config.overwrite_output_dir,
                       outputs=("rows-*.jsonl", "summary.json", "trajectories.jsonl", "length_ratios.png"))  # fmt: skip
    configure_grading(workers=config.grading_workers, deadline=config.grading_deadline)
    records = list(
        load_trajectories(config.dataset_name, split=config.dataset_split, max_questions=config.max_questions)
    )
    index, count = parse_shard(config.shard)
    path = rows_path(output_dir, index, count)
    done = {(row["id"], row["trajectory_index"]) for row in read_appended_rows(path)}
    units = [
        (r, j) for r, j in work_units(records[index::count], config.only_correct) if (r["id"], j) not in done
    ]
    if units:
        tokenizer = load_tokenizer(config.student_tokenizer)
        models = None
        if config.method == "model":
            from .model import load_models

            models = load_models(config)
        with (
            tqdm(total=len(units), desc=f"Summarizing ({config.method})", unit="trajectory") as bar,
            open(path, "a", encoding="utf-8") as out,
        ):
            for start in range(0, len(units), config.trajectories_per_chunk):
                chunk = units[start : start + config.trajectories_per_chunk]
                if config.method == "rules":
                    results = _compress_rules(config, chunk)
                else:
                    results = _compress_model(config, chunk, models)
                for (record, j), result in zip(chunk, results, strict=True):
                    long_text = record["trajectories"][j]
                    row = {
                        "id": record["id"], "trajectory_index": j, "method": config.method, **result,
                        "long_tokens": len(tokenizer(long_text, add_special_tokens=False)["input_ids"]),
                        "short_tokens": len(tokenizer(result["text"], add_special_tokens=False)["input_ids"]),
                    }  # fmt: skip
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                bar.update(len(chunk))
    return assemble_if_complete(config, records)


def assemble_if_complete(config: SummarizeConfig, records: list[dict]) -> dict | None:
    """Write the dataset and summary when the rows of every shard are in; None otherwise."""
    index, count = parse_shard(config.shard)
    rows = [
        row
        for i in range(count)
        for row in read_appended_rows(rows_path(config.output_dir, i, count), repair=i == index)
    ]
    expected = {(r["id"], j) for r, j in work_units(records, config.only_correct)}
    present = {(row["id"], row["trajectory_index"]) for row in rows}
    missing = expected - present
    if missing:
        print(
            f"{len(missing)} of {len(expected)} trajectories still to do in other shards; outputs written when all are done"
        )
        return None
    return write_outputs(config, records, rows)
