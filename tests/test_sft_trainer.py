"""The support-set SFT trainer on a tiny model: learning, loss masks, guards, padding-free, resume."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import torch
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from raml_recipes.data.sft_format import build_sft_dataset
from raml_recipes.training.run_end import save_run_summary
from raml_recipes.training.sft_config import SupportSetSFTConfig
from raml_recipes.training.sft_trainer import SupportSetSFTTrainer

from .conftest import ROOT


def make_trainer(
    model_dir, records, tmp_path, trainer_class=SupportSetSFTTrainer, tokenizer=None, **overrides
):
    settings = dict(
        output_dir=str(tmp_path / "out"),
        support_size=2,
        samples_per_question=2,
        per_device_train_batch_size=4,
        learning_rate=3e-3,
        lr_scheduler_type="constant",
        num_train_epochs=1,
        max_length=512,
        use_cpu=True,
        bf16=False,
        activation_checkpointing=False,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        seed=0,
        disable_tqdm=True,
    )
    settings.update(overrides)
    dataset, _ = build_sft_dataset(records)
    return trainer_class(
        model=str(model_dir),
        args=SupportSetSFTConfig(**settings),
        train_dataset=dataset,
        processing_class=tokenizer,
    )


def logged_losses(trainer):
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def test_tiny_sft_loss_falls_and_support_metrics_are_logged(tiny_model_dir, records, tmp_path):
    trainer = make_trainer(tiny_model_dir, records, tmp_path, num_train_epochs=4)
    result = trainer.train()
    losses = logged_losses(trainer)
    assert len(losses) == 4 * 12 * 2 // 4
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3

    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert all(entry["support/k"] == 2 and entry["support/samples_per_question"] == 2 for entry in logged)
    assert (
        logged[-1]["support/distinct_seen_per_question"]
        > logged[0]["support/distinct_seen_per_question"]
        == 2
    )

    summary = json.loads(save_run_summary(trainer, result, data={"questions": 12}).read_text())
    assert summary["support_set"]["support/k"] == 2 and summary["data"] == {"questions": 12}
    assert [e["loss"] for e in summary["log_history"] if "loss" in e] == losses
    assert (tmp_path / "out" / "training_curves.png").stat().st_size > 1000


def test_labels_cover_exactly_the_assistant_turn_and_its_end_token(
    tiny_model_dir, tiny_tokenizer, records, tmp_path
):
    trainer = make_trainer(tiny_model_dir, records, tmp_path, max_length=2048)  # nothing truncated
    dataset, _ = build_sft_dataset(records)
    for row, prepared in zip(dataset, trainer.train_dataset, strict=True):
        prompt_ids = tiny_tokenizer.apply_chat_template(
            row["prompt"], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        labels = prepared["labels"]
        assert labels[: len(prompt_ids)] == [-100] * len(prompt_ids)
        assert all(label != -100 for label in labels[len(prompt_ids) :])
        trained = tiny_tokenizer.decode(labels[len(prompt_ids) :])
        # The whole trajectory, <think> block first, then the end-of-turn token (= EOS), then the
        # template's newline after the turn.
        assert trained == row["completion"][0]["content"] + "<|im_end|>\n"
        assert trained.startswith("<think>\n") and tiny_tokenizer.eos_token_id in labels


def test_eos_stays_trained_when_pad_equals_eos(tiny_model_dir, tiny_tokenizer, records, tmp_path):
    # SmolLM2's tokenizer pads with its EOS: open-r1's SFT models "never stop" when that masks the EOS.
    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.pad_token = tokenizer.eos_token
    trainer = make_trainer(tiny_model_dir, records, tmp_path, tokenizer=tokenizer)
    rows = [trainer.train_dataset[0], trainer.train_dataset[1]]
    short, long_ = sorted(rows, key=lambda r: len(r["input_ids"]))
    batch = trainer.data_collator([short, long_])
    n = len(short["input_ids"])
    eos_positions = [
        i
        for i, t in enumerate(short["input_ids"])
        if t == tokenizer.eos_token_id and short["labels"][i] != -100
    ]
    assert eos_positions and all(batch["labels"][0, i] == tokenizer.eos_token_id for i in eos_positions)
    assert (batch["labels"][0, n:] == -100).all() and (
        batch["input_ids"][0, n:] == tokenizer.eos_token_id
    ).all()


def test_a_template_that_drops_the_thought_is_refused(tiny_model_dir, tiny_tokenizer, records, tmp_path):
    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.chat_template = tokenizer.chat_template.replace(
        "message['content'] + '<|im_end|>' }}{% endgeneration %}",
        "message['content'].split('</think>')[-1] + '<|im_end|>' }}{% endgeneration %}",
    )
    with pytest.raises(ValueError, match="strips the <think> block"):
        make_trainer(tiny_model_dir, records, tmp_path, tokenizer=tokenizer)


def test_an_untrained_eos_is_refused(tiny_model_dir, tiny_tokenizer, records, tmp_path):
    # A base model whose EOS is <|endoftext|> while the chat turns end in <|im_end|>.
    tokenizer = copy.deepcopy(tiny_tokenizer)
    tokenizer.eos_token = "<|endoftext|>"
    with pytest.raises(ValueError, match=r"'<\|endoftext\|>' is not trained.*Set `eos_token`"):
        make_trainer(tiny_model_dir, records, tmp_path, tokenizer=tokenizer)
    trainer = make_trainer(tiny_model_dir, records, tmp_path, tokenizer=tokenizer, eos_token="<|im_end|>")
    assert trainer.processing_class.eos_token == "<|im_end|>"


def test_a_max_length_that_leaves_no_completion_is_explained(tiny_model_dir, records, tmp_path):
    with pytest.raises(ValueError, match="no training rows left after tokenization: with max_length=40"):
        make_trainer(tiny_model_dir, records, tmp_path, max_length=40)


def test_packing_is_refused_with_the_alternative_named(tiny_model_dir, records, tmp_path):
    with pytest.raises(
        ValueError, match="packing=True is not supported with support sets.*padding_free=True"
    ):
        make_trainer(tiny_model_dir, records, tmp_path, packing=True)


def test_padding_free_truncates_and_matches_the_padded_loss(tiny_model_dir, records, tmp_path):
    trainer = make_trainer(tiny_model_dir, records, tmp_path, padding_free=True, max_length=256)
    assert trainer.args.max_length == 256  # TRL refuses padding_free with max_length: restored after init
    assert max(len(ids) for ids in trainer.train_dataset["input_ids"]) == 256
    assert len(trainer.train_dataset) == 36  # long rows truncated (prompts stay under 256), none dropped
    rows = [trainer.train_dataset[i] for i in range(4)]
    rows = [{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows]
    model = trainer.model.eval()
    pad_id = trainer.processing_class.pad_token_id
    with torch.no_grad():
        flat = model(**DataCollatorForLanguageModeling(pad_token_id=pad_id, padding_free=True)(rows)).loss
        padded = model(**DataCollatorForLanguageModeling(pad_token_id=pad_id)(rows)).loss
    torch.testing.assert_close(flat, padded, rtol=1e-4, atol=1e-5)
    trainer.model.train()
    trainer.train()
    assert len(logged_losses(trainer)) == 12 * 2 // 4


class RecordingTrainer(SupportSetSFTTrainer):
    """Records a fingerprint of every batch the training loop sees."""

    def training_step(self, model, inputs, num_items_in_batch=None):
        self.seen.append(sorted(inputs["input_ids"].sum(dim=1).tolist()))
        return super().training_step(model, inputs, num_items_in_batch)

    seen: list


def test_resuming_from_a_checkpoint_replays_the_same_order(tiny_model_dir, records, tmp_path):
    common = dict(num_train_epochs=2, save_strategy="steps", save_steps=2, trainer_class=RecordingTrainer)
    full = make_trainer(tiny_model_dir, records, tmp_path / "full", **common)
    full.seen = []
    full.train()
    assert len(full.seen) == 12  # 12 questions x 2 samples / 4 per batch = 6 steps per epoch
    assert full.seen[:6] != full.seen[6:]  # each epoch has its own draw and order

    resumed = make_trainer(tiny_model_dir, records, tmp_path / "full", **common)
    resumed.seen = []
    resumed.train(
        resume_from_checkpoint=str(tmp_path / "full" / "out" / "checkpoint-8")
    )  # mid-way through epoch 2
    assert resumed.seen == full.seen[8:]


def test_sft_script_trains_lora_adapters_with_an_eval_split(tmp_path):
    from raml_recipes.recipes import parse_recipe
    from raml_recipes.scripts import sft

    from .conftest import GSM8K_TRAJECTORIES, ROOT

    output_dir = tmp_path / "lora"
    argv = [
        "--config", str(ROOT / "recipes/tiny/sft/config_demo.yaml"), "--output_dir", str(output_dir),
        "--max_questions", "8", "--num_train_epochs", "1", "--use_peft", "--lora_r", "4", "--lora_alpha", "8",
        "--eval_strategy", "epoch", "--eval_dataset_name", str(GSM8K_TRAJECTORIES), "--disable_tqdm", "true",
    ]  # fmt: skip
    sft.main(*parse_recipe(sft.make_parser(), argv))
    assert (output_dir / "adapter_model.safetensors").is_file() and not (
        output_dir / "model.safetensors"
    ).exists()
    metrics = json.loads((output_dir / "metrics.json").read_text())
    assert any("eval_loss" in entry for entry in metrics["log_history"])
    assert metrics["data"]["questions"] == 8

    without_eval_source = [*argv[:-4], "--disable_tqdm", "true"]
    with pytest.raises(ValueError, match="set eval_dataset_name"):
        sft.main(*parse_recipe(sft.make_parser(), without_eval_source))


@pytest.mark.slow
def test_sft_answers_held_out_questions_at_each_evaluation(tmp_path):
    """eval_accuracy_questions: at every evaluation the model in training answers the first N held-out
    questions greedily, graded by math-verify; accuracy, the count and the clipped share are logged
    beside eval_loss (metrics.json, the figure)."""
    held_out = tmp_path / "held_out.jsonl"
    rows = [json.loads(line) for line in (ROOT / "data/trajectories/gsm8k_train.jsonl").read_text().splitlines()]
    held_out.write_text("".join(json.dumps(row) + "\n" for row in rows[-6:]))
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "raml_recipes.cli", "sft", "--config", "recipes/tiny/sft/config_demo.yaml",
         "--output_dir", str(out), "--max_questions", "8", "--num_train_epochs", "1", "--eval_strategy", "steps",
         "--eval_steps", "1", "--eval_dataset_name", str(held_out), "--eval_accuracy_questions", "4",
         "--eval_accuracy_max_new_tokens", "8"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((out / "metrics.json").read_text())["log_history"]
    losses = [entry["step"] for entry in history if "eval_loss" in entry]
    accuracy = [entry for entry in history if "eval_accuracy" in entry]
    assert losses == [1, 2] and [entry["step"] for entry in accuracy] == [1, 2]  # beside each eval loss
    for entry in accuracy:
        assert entry["eval_accuracy_questions"] == 4
        # 8 new tokens cannot hold a worked answer: every answer is cut, none can be right.
        assert entry["eval_accuracy_clipped"] == 1.0 and entry["eval_accuracy"] == 0.0
    assert (out / "eval_accuracy.png").is_file()


def test_sft_accuracy_without_evaluation_is_one_line(capsys):
    from raml_recipes.cli import main as raml

    assert raml(["sft", "--config", "recipes/tiny/sft/config_demo.yaml", "--eval_accuracy_questions", "4"]) == 1
    assert "eval_accuracy_questions is set but eval_strategy is no" in capsys.readouterr().err
