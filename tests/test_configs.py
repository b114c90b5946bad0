"""The shared argument groups (`raml_recipes.configs`): each group's checks run in every stage config
made of it, and a stage's own defaults (`with_defaults`) change that stage only."""

from __future__ import annotations

import dataclasses
import re

import pytest

from raml_recipes.configs import PromptArguments, SamplingArguments, with_defaults
from raml_recipes.evaluation.config import EvaluationConfig, RolloutConfig
from raml_recipes.probe.config import ProbeConfig
from raml_recipes.summarize.config import SummarizeConfig
from raml_recipes.training.grpo_config import GRPOScriptArguments
from raml_recipes.training.sft_config import SFTScriptArguments

STAGES = {
    "evaluate": lambda **kw: EvaluationConfig(model_name_or_path="m", output_dir="o", **kw),
    "rollouts": lambda **kw: RolloutConfig(model_name_or_path="m", questions="gsm8k", output="o.jsonl", **kw),
    "summarize": lambda **kw: SummarizeConfig(dataset_name="d", output_dir="o", student_tokenizer="t", **kw),
    "probe": lambda **kw: ProbeConfig(probe="confidence", model_name_or_path="m", output_dir="o", **kw),
    "sft": lambda **kw: SFTScriptArguments(dataset_name="d.jsonl", **kw),
    "grpo": lambda **kw: GRPOScriptArguments(dataset_name="d.jsonl", **kw),
}
# (group's field, a bad value, the message, the stages made of that group)
GROUP_CASES = [
    ("dtype", "float13", "dtype must be one of", ["evaluate", "rollouts", "summarize", "probe"]),
    (
        "batch_size",
        0,
        "batch_size must be a positive integer",
        ["evaluate", "rollouts", "summarize", "probe"],
    ),
    ("backend", "tgi", "backend must be one of transformers, vllm", ["evaluate", "rollouts", "summarize"]),
    (
        "vllm_gpu_memory_utilization",
        1.5,
        "vllm_gpu_memory_utilization must lie in (0, 1]",
        ["evaluate", "rollouts", "summarize"],
    ),
    (
        "vllm_tensor_parallel_size",
        0,
        "vllm_tensor_parallel_size must be a positive integer",
        ["evaluate", "rollouts", "summarize"],
    ),
    ("top_p", 0.0, "top_p must lie in (0, 1]", ["evaluate", "rollouts", "summarize"]),
    ("temperature", -1.0, "temperature must be >= 0", ["evaluate", "rollouts", "summarize"]),
    (
        "prompt_template",
        "Solve it.",
        "prompt_template must contain the placeholder {problem}",
        ["evaluate", "rollouts", "probe", "sft", "grpo"],
    ),
    ("grading", "strict", "grading must be one of math_verify, lenient", ["evaluate", "summarize"]),
    ("grading_deadline", 0.0, "grading_deadline must be a number greater than 0", ["evaluate", "summarize"]),
    ("shard", "2/2", "--shard 2/2: need 0 <= i < n", ["rollouts", "summarize"]),
]


@pytest.mark.parametrize(
    ("stage", "name", "value", "message"),
    [(stage, name, value, message) for name, value, message, stages in GROUP_CASES for stage in stages],
    ids=lambda v: str(v)[:28],
)
def test_each_group_checks_its_fields_in_every_stage_made_of_it(stage, name, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        STAGES[stage](**{name: value})


def test_every_stage_has_the_fields_of_its_groups_and_passes_with_their_defaults():
    for stage, make in STAGES.items():
        config = make()
        for name, _, _, stages in GROUP_CASES:
            assert hasattr(config, name) == (stage in stages), (stage, name)


def test_a_stage_default_changes_that_stage_only_and_keeps_the_help():
    summarize, evaluate = STAGES["summarize"](), STAGES["evaluate"]()
    # The summarizer samples with top_p 1 and top_k 0 (off), in batches of 8; evaluation with the group's.
    assert (summarize.top_p, summarize.top_k, summarize.batch_size) == (1.0, 0, 8)
    assert (evaluate.top_p, evaluate.top_k, evaluate.batch_size) == (0.8, 50, 16)
    assert SamplingArguments().top_p == 0.8
    helps = {stage: {f.name: f.metadata.get("help") for f in dataclasses.fields(type(STAGES[stage]()))}
             for stage in ("summarize", "evaluate")}  # fmt: skip
    assert helps["summarize"]["top_p"] == helps["evaluate"]["top_p"] == "Nucleus sampling (1: off)."
    # GRPO's prompt is the official one: the bare problem under the official system prompt.
    grpo = STAGES["grpo"]()
    assert grpo.prompt_template == "{problem}" and grpo.system_prompt.startswith(
        "A conversation between a User"
    )
    assert STAGES["sft"]().system_prompt is None
    with pytest.raises(TypeError, match="SamplingArguments has no field top_q"):
        with_defaults(SamplingArguments, top_q=0.5)


def test_a_null_prompt_is_read_from_the_run_record_in_evaluation_only():
    assert STAGES["evaluate"]().prompt_template is None  # resolved later from the model's run record
    assert STAGES["rollouts"](prompt_template=None).prompt_template is None
    for stage in ("sft", "grpo", "probe"):
        with pytest.raises(
            ValueError, match=r"prompt_template must be a user prompt with \{problem\}, got null"
        ):
            STAGES[stage](prompt_template=None)
    assert PromptArguments.PROMPT_FROM_RECORD is False


def test_the_index_in_configs_lists_each_groups_fields_and_stages_as_they_are():
    import raml_recipes.configs as configs
    from raml_recipes.training.grpo_config import SupportSetGRPOConfig
    from raml_recipes.training.sft_config import SupportSetSFTConfig

    stage_classes = {"sft": [SFTScriptArguments, SupportSetSFTConfig], "grpo": [GRPOScriptArguments, SupportSetGRPOConfig],
                     "evaluate": [EvaluationConfig], "rollouts": [RolloutConfig], "summarize": [SummarizeConfig],
                     "probe": [ProbeConfig]}  # fmt: skip
    rows = [line.split("|")[1:4] for line in configs.__doc__.splitlines() if line.startswith("| `")]
    groups = {name for name, value in vars(configs).items() if isinstance(value, type) and name.endswith("Arguments")}
    assert {row[0].strip().strip("`") for row in rows} == groups
    for name, listed_fields, listed_stages in rows:
        group = getattr(configs, name.strip().strip("`"))
        assert [f.strip() for f in listed_fields.split(",")] == list(group.__annotations__), name
        stages = {stage for stage, classes in stage_classes.items() if any(issubclass(c, group) for c in classes)}
        assert {s.strip() for s in listed_stages.split(",")} == stages, name
