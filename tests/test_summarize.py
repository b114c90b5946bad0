"""`raml summarize`: the run (rules and model back-ends), sharding and resume, token counts, the
answer-reading check, the outputs, and `raml compare`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raml_recipes.cli import main as raml
from raml_recipes.data.loaders import load_trajectories
from raml_recipes.rewards import grade_many
from raml_recipes.runs import read_appended_rows
from raml_recipes.summarize import runner
from raml_recipes.summarize.config import SummarizeConfig
from raml_recipes.summarize.model import boxed_content, truncate_to_tokens

from .conftest import GSM8K_TRAJECTORIES, ROOT


def config(tmp_path, tokenizer_dir, **overrides) -> SummarizeConfig:
    settings = dict(
        dataset_name=str(GSM8K_TRAJECTORIES), output_dir=str(tmp_path / "out"), max_questions=6,
        student_tokenizer=str(tokenizer_dir), granularity="line", trajectories_per_chunk=4,
    )  # fmt: skip
    return SummarizeConfig(**{**settings, **overrides})


def all_rows(output_dir):
    return [row for path in sorted(output_dir.glob("rows-*.jsonl")) for row in read_appended_rows(path)]


def test_rules_run_writes_dataset_summary_and_histogram(tmp_path, tiny_model_dir, tiny_tokenizer):
    cfg = config(tmp_path, tiny_model_dir)
    summary = runner.summarize(cfg)
    out = tmp_path / "out"
    rows = all_rows(out)
    assert len(rows) == 18  # 6 questions x 3 trajectories, each once
    # Token counts are the student tokenizer's, for the long and the short text.
    source = {r["id"]: r for r in load_trajectories(str(GSM8K_TRAJECTORIES), max_questions=6)}
    for row in rows:
        long_text = source[row["id"]]["trajectories"][row["trajectory_index"]]
        assert row["long_tokens"] == len(tiny_tokenizer(long_text, add_special_tokens=False)["input_ids"])
        assert row["short_tokens"] == len(tiny_tokenizer(row["text"], add_special_tokens=False)["input_ids"])
        assert row["method"] == "rules" and row["verdict"] in ("kept", "rejected")
    # The "checked" rendering ends in a re-check of known results: the rules remove it.
    checked = [r for r in rows if r["trajectory_index"] == 2 and r["verdict"] == "kept"]
    assert checked and all("Let me check" not in r["text"] for r in checked)
    assert all(r["short_tokens"] < r["long_tokens"] for r in checked)
    # The dataset is canonical (loads for SFT) and every kept text keeps its final answer.
    dataset = load_trajectories(str(out / "trajectories.jsonl"))
    assert len(dataset) == summary["questions_written"] > 0
    for record in dataset:
        assert all(t.endswith("\\boxed{" + record["answer"] + "}.") for t in record["trajectories"])
    assert summary["trajectories_kept"] + summary["trajectories_rejected"] == 18
    assert summary["preserved"] == round(summary["trajectories_kept"] / 18, 4)
    assert summary["kept"]["compression_ratio_median"] >= 1.0
    assert (out / "length_ratios.png").stat().st_size > 1000
    assert json.loads((out / "summary.json").read_text()) == summary


def test_interrupted_shards_resume_and_write_each_row_once(tmp_path, tiny_model_dir, monkeypatch):
    real = runner._compress_rules
    calls = {"n": 0}

    def dies_on_second_chunk(cfg, units):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # a job killed mid-run
        return real(cfg, units)

    monkeypatch.setattr(runner, "_compress_rules", dies_on_second_chunk)
    first = config(tmp_path, tiny_model_dir, shard="0/2")
    with pytest.raises(KeyboardInterrupt):
        runner.summarize(first)
    out = tmp_path / "out"
    assert len(all_rows(out)) == 4  # the first chunk landed
    # A kill in the middle of a write leaves half a line: it is dropped, not duplicated.
    with open(runner.rows_path(out, 0, 2), "a") as handle:
        handle.write('{"id": "gsm8k-train-')
    monkeypatch.setattr(runner, "_compress_rules", real)
    assert runner.summarize(first) is None  # shard 1 has not run: no dataset yet
    assert not (out / "trajectories.jsonl").exists()
    summary = runner.summarize(config(tmp_path, tiny_model_dir, shard="1/2"))
    rows = all_rows(out)
    keys = [(r["id"], r["trajectory_index"]) for r in rows]
    assert len(keys) == len(set(keys)) == 18
    assert summary is not None and (out / "trajectories.jsonl").is_file()
    # A rerun of a finished shard does nothing new.
    runner.summarize(first)
    assert len(all_rows(out)) == 18


def test_resume_with_other_settings_is_refused(tmp_path, tiny_model_dir):
    runner.summarize(config(tmp_path, tiny_model_dir, max_questions=2))
    with pytest.raises(ValueError, match=r"other settings or inputs \(rules .+ -> \[\"stop_at_answer\"\]\)"):
        runner.summarize(config(tmp_path, tiny_model_dir, max_questions=2, rules=["stop_at_answer"]))


def test_a_trajectory_file_regenerated_in_place_is_not_paired_with_old_rows(tmp_path, tiny_model_dir):
    """New gold answers must never meet old summaries (nor a changed trajectory count an old index)."""
    source = tmp_path / "trajectories.jsonl"
    rows = [json.loads(line) for line in Path(GSM8K_TRAJECTORIES).read_text().splitlines()[:2]]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    runner.summarize(config(tmp_path, tiny_model_dir, dataset_name=str(source)))
    count = len(rows[0]["trajectories"])
    rows[0] = {k: v[:1] if isinstance(v, list) and len(v) == count else v for k, v in rows[0].items()}
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(ValueError, match=rf"trajectories \({source}\) has other contents"):
        runner.summarize(config(tmp_path, tiny_model_dir, dataset_name=str(source)))
    summary = runner.summarize(config(tmp_path, tiny_model_dir, dataset_name=str(source), overwrite_output_dir=True))
    assert summary is not None and {r["id"] for r in all_rows(tmp_path / "out")} == {r["id"] for r in rows}
    assert len([r for r in all_rows(tmp_path / "out") if r["id"] == rows[0]["id"]]) == 1  # the one trajectory left


def test_model_backend_summarizes_with_the_tiny_model(tmp_path, tiny_model_dir):
    cfg = config(
        tmp_path, tiny_model_dir, method="model", max_questions=2, on_reject="drop",
        summarizer_model_name_or_path=str(tiny_model_dir), reader_model_name_or_path=str(tiny_model_dir),
        max_thought_tokens=20, max_summary_tokens=12, reader_max_tokens=6, dtype="float32",
    )  # fmt: skip
    summary = runner.summarize(cfg)
    rows = all_rows(tmp_path / "out")
    assert len(rows) == 6
    for row in rows:
        assert row["method"] == "model" and row["verdict"] in ("kept", "rejected")
        # The summary replaces the thought; the answer part after it is the original's.
        assert row["text"].startswith("<think>\n") and "</think>\n\nThe answer is \\boxed{" in row["text"]
        assert row["summary_finish_reason"] in ("stop", "length")
        assert row["reader_answer"] == "" or row["reader_answer"].startswith("\\boxed{")
    # A random model reads no answer off its summaries: every one is rejected, and with
    # on_reject: drop no question is written; the counts say so.
    assert [r["verdict"] for r in rows] == ["rejected"] * 6
    assert (summary["trajectories_kept"], summary["trajectories_rejected"], summary["questions_written"]) == (0, 6, 0)


@pytest.mark.parametrize(
    ("reader_output", "gold", "kept"),
    [
        ("72}. That is all.", "72", True),
        ("24} clips in May", "72", False),  # the summary no longer leads to the answer
        ("\\frac{1}{2}}", "1/2", True),  # read up to the balancing brace, not the first one
        ("72 and more text that never closes the box", "72", False),
    ],
)
def test_answer_reading_keeps_only_summaries_that_lead_to_the_answer(reader_output, gold, kept):
    content = boxed_content(reader_output)
    answer = "" if content is None else "\\boxed{" + content + "}"
    assert bool(grade_many([(gold, answer)])[0].correct) is kept


def test_thought_is_cut_to_the_token_budget_at_a_token_boundary(tiny_tokenizer):
    text = "Natalia sold 48/2 = 24 clips in May. " * 20
    cut = truncate_to_tokens(tiny_tokenizer, text, 15)
    ids = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert cut == tiny_tokenizer.decode(ids[:15]) and text.startswith(cut.strip()[:20])
    assert truncate_to_tokens(tiny_tokenizer, "short", 15) == "short"
    # `max_thought_tokens: null` (no cap): the whole thought, where the recipe check used to fail on `None < 1`.
    assert truncate_to_tokens(tiny_tokenizer, text, None) == text
    config = SummarizeConfig(dataset_name="d", output_dir="o", student_tokenizer="t", max_thought_tokens=None)
    assert config.max_thought_tokens is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"method": "model"}, "method: model needs summarizer_model_name_or_path"),
        ({"rules": ["stop_early"]}, "rules must name one or more of"),
        ({"shard": "2/2"}, r"--shard 2/2: need 0 <= i < n"),
        ({"summary_prompt": "no placeholder", "method": "model", "summarizer_model_name_or_path": "m",
          "reader_model_name_or_path": "m"}, r"summary_prompt must contain \{trajectory\}"),
    ],
)  # fmt: skip
def test_bad_settings_name_the_field(tmp_path, override, message):
    with pytest.raises(ValueError, match=message):
        config(tmp_path, "unused", **override)


def test_compare_writes_table_figure_and_json(tmp_path, capsys):
    runs = {}
    for label, pass1, tokens in (("long", 40.0, 300.0), ("compressed", 35.0, 120.0)):
        folder = tmp_path / label
        folder.mkdir()
        metrics = {"questions": 20, "samples_per_question": 2, "pass@1": pass1, "avg@2": pass1,
                   "mean_tokens": tokens, "truncated_fraction": 0.1}  # fmt: skip
        (folder / "summary.json").write_text(json.dumps({"model": label, "benchmarks": {"gsm8k": metrics}}))
        runs[label] = folder
    code = raml(["compare", "--run", f"long={runs['long']}", "--run", f"compressed={runs['compressed']}",
                 "--output_dir", str(tmp_path / "cmp")])  # fmt: skip
    assert code == 0
    table = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "| long | gsm8k | 40.0 | 40.0 (n=2) | 300 | 10% |" in table
    assert "| compressed | gsm8k | 35.0 | 35.0 (n=2) | 120 | 10% |" in table
    assert (tmp_path / "cmp" / "accuracy_vs_tokens.png").stat().st_size > 1000
    result = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert [r["mean_tokens"] for r in result["rows"]] == [300.0, 120.0]
    assert raml(["compare", "--run", f"x={tmp_path / 'missing'}", "--output_dir", str(tmp_path / "c2")]) == 1
    assert "has no summary.json" in capsys.readouterr().err


def test_raml_summarize_cli_runs_the_tiny_recipe(tmp_path, tiny_model_dir):
    code = raml(["summarize", "--config", str(ROOT / "recipes/tiny/summarize/config_demo.yaml"),
                 "--student_tokenizer", str(tiny_model_dir), "--max_questions", "3",
                 "--output_dir", str(tmp_path / "cli")])  # fmt: skip
    assert code == 0
    assert len(load_trajectories(str(tmp_path / "cli" / "trajectories.jsonl"))) == 3


def test_all_trajectories_summarized_report_both_accuracies_and_keep_the_source_verdicts(tmp_path, tiny_model_dir):
    """only_correct: false summarizes the wrong trajectories too (the paper's Avg@16 reads all of them);
    summary.json puts the long trajectories' accuracy beside the compressed ones', and the dataset keeps
    each source's verdict so that SFT on it drops the wrong ones."""
    from raml_recipes.data.io import write_jsonl

    records = [dict(r) for r in load_trajectories(str(GSM8K_TRAJECTORIES), max_questions=4)]
    for record in records:
        record["correct"] = [True, False, True]  # the middle rendering marked wrong (a stand-in verdict)
    data = tmp_path / "flagged.jsonl"
    write_jsonl(data, records)
    summary = runner.summarize(config(tmp_path, tiny_model_dir, dataset_name=str(data), only_correct=False))
    judged = summary["trajectories_kept"] + summary["trajectories_rejected"]
    assert judged == 12 and summary["only_correct"] is False
    assert summary["accuracy_long"] == round(8 / 12, 4)
    assert summary["accuracy_compressed"] == summary["preserved"] == round(summary["trajectories_kept"] / 12, 4)
    rows = {(r["id"], r["trajectory_index"]): r for r in all_rows(tmp_path / "out")}
    written = load_trajectories(str(tmp_path / "out" / "trajectories.jsonl"))
    assert False in [c for flags in written["correct"] for c in flags]
    for record in written:
        for text, correct in zip(record["trajectories"], record["correct"], strict=True):
            sources = [j for j in range(3) if rows[(record["id"], j)]["text"] == text]
            assert correct == any(j != 1 for j in sources)  # wrong only when it came from the wrong rendering
    only = runner.summarize(config(tmp_path / "only", tiny_model_dir, dataset_name=str(data)))
    assert only["trajectories_kept"] + only["trajectories_rejected"] == 8 and only["accuracy_long"] == 1.0
