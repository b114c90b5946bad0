"""From summarization rows to what people use: the compressed dataset, its summary, a histogram."""

from __future__ import annotations

import statistics
from pathlib import Path

from ..data.io import write_json, write_jsonl
from ..plotting import figure
from .tracking import log_summary


def _ratio_stats(rows: list[dict]) -> dict:
    ratios = [row["long_tokens"] / max(row["short_tokens"], 1) for row in rows]
    kept = [row["short_tokens"] / max(row["long_tokens"], 1) for row in rows]
    if not rows:
        return {"trajectories": 0}
    return {
        "trajectories": len(rows),
        "compression_ratio_mean": round(statistics.fmean(ratios), 3),
        "compression_ratio_median": round(statistics.median(ratios), 3),
        "tokens_kept_median": round(statistics.median(kept), 3),
        "mean_long_tokens": round(statistics.fmean(row["long_tokens"] for row in rows), 1),
        "mean_short_tokens": round(statistics.fmean(row["short_tokens"] for row in rows), 1),
    }


def source_correct(record: dict, index: int) -> bool:
    """Whether trajectory `index` of `record` was itself correct (records without flags: all are)."""
    flags = record.get("correct")
    return True if flags is None else bool(flags[index])


def compressed_records(records: list[dict], rows: list[dict], method: str, on_reject: str) -> list[dict]:
    """Canonical records holding each question's kept compressions (or long trajectories, see on_reject).

    Each text keeps its source trajectory's `correct` flag: with `only_correct: false` the summaries of
    wrong trajectories are written too (the paper's Avg@16 reads all of them), and SFT drops them.
    """
    by_question: dict[str, list[dict]] = {}
    for row in rows:
        by_question.setdefault(row["id"], []).append(row)
    output = []
    for record in records:
        kept: dict[str, bool] = {}  # text -> correct; two trajectories can compress to the same text
        for row in sorted(by_question.get(record["id"], []), key=lambda r: r["trajectory_index"]):
            index = row["trajectory_index"]
            if row["verdict"] == "kept":
                text = row["text"]
            elif on_reject == "keep_long":
                text = record["trajectories"][index]
            else:
                continue
            kept[text] = kept.get(text, False) or source_correct(record, index)
        if kept:
            output.append({
                **record, "trajectories": list(kept), "correct": list(kept.values()),
                "source": f"{record.get('source') or 'trajectories'}+summarized:{method}",
            })  # fmt: skip
    return output


def length_histogram(path: Path, rows: list[dict], title: str) -> Path:
    ratios = [row["short_tokens"] / max(row["long_tokens"], 1) for row in rows]
    with figure(path) as ax:
        ax.hist(ratios, bins=20, range=(0, 1.05), color="tab:blue", edgecolor="white")
        ax.set(title=title, xlabel="short / long tokens (student tokenizer)", ylabel="trajectories")
        ax.grid(alpha=0.3)
    return path


def write_outputs(config, records: list[dict], rows: list[dict]) -> dict:
    output_dir = Path(config.output_dir)
    verdicts = {v: sum(row["verdict"] == v for row in rows) for v in ("kept", "rejected", "no_thought")}
    judged = verdicts["kept"] + verdicts["rejected"]
    dataset = compressed_records(records, rows, config.method, config.on_reject)
    kept_rows = [row for row in rows if row["verdict"] == "kept"]
    by_id = {record["id"]: record for record in records}
    judged_rows = [row for row in rows if row["verdict"] != "no_thought"]
    # The paper's comparison (Fig. 11, Avg@n): the long trajectories' own accuracy against the accuracy
    # of the answers read off their summaries, over the same trajectories (all of them with
    # only_correct: false; then the first is below 1).
    long_correct = sum(source_correct(by_id[row["id"]], row["trajectory_index"]) for row in judged_rows)
    summary = {
        "method": config.method,
        "rules": config.rules if config.method == "rules" else None,
        "granularity": config.granularity if config.method == "rules" else None,
        "student_tokenizer": config.student_tokenizer,
        "questions": len(records),
        "questions_written": len(dataset),
        **{f"trajectories_{v}": n for v, n in verdicts.items()},
        "preserved": round(verdicts["kept"] / judged, 4) if judged else None,
        "only_correct": config.only_correct,
        "accuracy_long": round(long_correct / judged, 4) if judged else None,
        "accuracy_compressed": round(verdicts["kept"] / judged, 4) if judged else None,
        "kept": _ratio_stats(kept_rows),
        "all": _ratio_stats([row for row in rows if row["verdict"] != "no_thought"]),
        "dataset": str(output_dir / "trajectories.jsonl"),
        "histogram": str(output_dir / "length_ratios.png"),
    }
    write_jsonl(output_dir / "trajectories.jsonl", dataset)
    length_histogram(
        output_dir / "length_ratios.png",
        kept_rows,
        f"Kept compressions ({config.method}): {len(kept_rows)} of {judged}",
    )
    write_json(output_dir / "summary.json", summary)
    log_summary(config, summary, output_dir / "length_ratios.png")
    return summary
