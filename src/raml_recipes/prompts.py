"""Prompts: the paper's protocol strings, copied exactly from its official code and attributed, and how a
question becomes a prompt (`render_prompt_text`: the chat template applied, the assistant turn opened),
the same way in every stage that trains, samples or probes.

They are protocol settings like a learning rate: a model trained or evaluated with another wording is
not the paper's setting. Each constant names the file of the public repository open-compass/RaML (or
of OpenCompass, whose loaders that repository's evaluation config calls) that it comes from, and
`docs/paper_fidelity.md` says which recipe uses it; `tests/test_paper_fidelity.py` holds the recipes
to that table. Placeholders are renamed to this project's `{problem}` (the official code writes
`{question}`, or concatenates); nothing else is changed: odd spacing is kept on purpose.
"""

from __future__ import annotations

# src/third_party/verl/data_process_sft.py, the instruction for `jnanliu/orz-math-filtered-qwen-72b-rollout`:
# one user turn, `instruction + problem`, no system message. Also this project's default SFT prompt.
SFT_QWEN72B_PROMPT = (
    "Please solve the following mathematical problem step by step and put your final answer in \\boxed{}. "
    "Here is the problem: \n\n{problem}"
)

# The same file, the instruction for `jnanliu/orz-math-filtered-distill-14b-rollout`: a system message,
# and the bare problem as the user turn.
SFT_DISTILL_SYSTEM_PROMPT = (
    "You are a helpful AI Assistant that provides well-reasoned and detailed responses. You first think "
    "about the reasoning process as an internal monologue and then provide the user with the answer. Respond "
    "in the following format: <think>\n...\n</think>\n<answer>\n...\n</answer>"
)

# src/third_party/verl/data_process_grpo.py: the system message of every GRPO prompt (train and
# validation), the bare problem as the user turn. The blank line after "steps:" holds four spaces in the
# official string (an indented triple-quoted literal); they are part of what the models were trained on.
GRPO_SYSTEM_PROMPT = (
    "A conversation between a User and an Assistant. The User poses a question, and the Assistant provides a "
    "solution. The Assistant's response follows these structured steps:\n    \n"
    "1. **Reasoning Process**: The Assistant reflects on the problem using a reasoning process enclosed within "
    "`<think>` and `</think>` tags.\n"
    "2. **Conclusion**: The Assistant reaches a conclusion, which is enclosed within `<conclusion>` and "
    "`</conclusion>` tags. The final answer is highlighted within `\\boxed{...final answer...}`.\n"
    "3. **Answer Format**: The complete response should be formatted as:\n\n"
    "<think>\n...reasoning process...\n</think>\n<conclusion>\n...conclusion...\n"
    "The answer is \\boxed{...final answer...}\n</conclusion>"
)

# src/third_party/opencompass/evaluation_config.py, `SYSTEM_PROMPT`: the system message of every
# benchmark; the user turn is the bare question (`{question}`; LiveMathBench: its own `{prompt}`).
EVAL_SYSTEM_PROMPT = (
    "A conversation between a User and an Assistant. The User poses a question, and the Assistant provides a "
    "solution. The Assistant's response follows these structured steps:\n\n"
    "1. **Reasoning Process**: The Assistant comprehensively thinks about the problem through a reasoning "
    "process.\n"
    "2. **Conclusion**: The Assistant reaches a conclusion, which is enclosed within `<conclusion>` and "
    "`</conclusion>` tags. The final answer is highlighted within `\\boxed{...final answer...}`.\n"
    "3. **Response Format**: The complete response should be formatted as:\n\n"
    "...reasoning process...\n<conclusion>\n...conclusion...\n"
    "The answer is \\boxed{...final answer...}\n</conclusion>"
)

# The bare question: the user turn of the GRPO prompts, the distilled SFT data and the evaluation.
BARE_PROBLEM = "{problem}"

# src/third_party/opencompass/evaluation_config.py, the user turn of `gpqa_dataset` (multiple choice;
# the options in OpenCompass's GPQADataset order, see data/benchmarks.py).
GPQA_USER_PROMPT = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'Answer: $LETTER' (without quotes) where LETTER is one of ABCD. Think step by step "
    "before answering.\n\n{question}\n\nA) {a}\nB) {b}\nC) {c}\nD) {d}"
)

# OpenCompass opencompass/datasets/livemathbench/prompts.py (PROMPT_EN, PROMPT_CN after `.format`), which
# `LiveMathBenchDataset(cot=True)` wraps each question in; the official config sends that text as the user
# turn. The English wording is OpenCompass's own ("please reasoning").
LIVEMATHBENCH_PROMPTS = {
    "en": "Here is a math question, please reasoning step by step, and put your answer in \\boxed{}.\n{question}\n",
    "cn": "下面是一个数学问题，请逐步推理，并把最终答案放置于\\boxed{}中。\n{question}\n",
}

# src/trajectory_pruning.ipynb (cell 13): the user turn of the Qwen3-32B teacher rollouts that the
# summarization study compresses (no system message; `enable_thinking=True`).
TEACHER_ROLLOUT_PROMPT = "{problem}\n\nPlease reason step by step, and put your final answer within \\boxed{}"

# src/trajectory_pruning.ipynb (cell 23): the summarizer's user turn. The trajectory is the text before
# `</think>`, cut before "\n\n**Final Answer**", at most 24,576 summarizer tokens.
SUMMARY_PROMPT = (
    "{trajectory}\n\n\nSummarize the aforementioned reasoning process and not explicitly include the final "
    "conclusion and answer. Only provide the English summary."
)

# src/pseudo_gradient_descent.ipynb and src/trajectory_pruning.ipynb: appended after a (partial) thought
# to read the model's answer (the confidence probe, forced early stopping, reading an answer off a summary).
FINAL_ANSWER_MARKER = "\n\n**Final Answer**\n\\boxed{"
THOUGHT_END_CUT = "\n\n**Final Answer**"  # where a thought is cut before it is summarized

# The paper's no-thinking delimiter, appended right after `<think>` (Sec. 3.2; a comment in
# src/pseudo_gradient_descent.ipynb). For templates with a thinking switch the notebook's alternative is
# `enable_thinking=False`.
NO_THINKING_PHRASE = "Therefore, after all this, I believe the answer is"

# src/pseudo_gradient_descent.ipynb (the reflection-token cell): matched as token ids, case-sensitive,
# each spelling on its own. The paper's Fig. 6 also shows "Hold on", "Therefore" and "Since", which the
# notebook's list does not have.
PAPER_REFLECTION_WORDS = (
    "wait", "Wait", "retry", "Retry", "recheck", "Recheck", "however", "However", "alternatively", "Alternatively",
)  # fmt: skip


# ---- Rendering a prompt --------------------------------------------------------------------------------

# The default user prompt: the official SFT script's for the Qwen2.5-Math-72B rollouts (above).
PAPER_SFT_PROMPT = SFT_QWEN72B_PROMPT
PROBLEM_PLACEHOLDER = "{problem}"


def render_prompt(template: str, problem: str) -> str:
    # Plain replacement, not str.format: math prompts contain literal braces such as "\boxed{}".
    return template.replace(PROBLEM_PLACEHOLDER, problem)


def check_prompt_template(template: str, field: str = "prompt_template") -> None:
    if PROBLEM_PLACEHOLDER not in template:
        raise ValueError(f"{field} must contain the placeholder {PROBLEM_PLACEHOLDER}; got {template!r}")


def prompt_messages(
    problem: str, prompt_template: str = PAPER_SFT_PROMPT, system_prompt: str | None = None
) -> list[dict]:
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    messages.append({"role": "user", "content": render_prompt(prompt_template, problem)})
    return messages


def render_prompt_text(
    tokenizer,
    problem: str,
    prompt_template: str = PAPER_SFT_PROMPT,
    system_prompt: str | None = None,
    enable_thinking: bool | None = None,
) -> str:
    """The full generation prompt for a question: chat template applied, assistant turn opened.

    `enable_thinking` is handed to the chat template (Qwen3's switch; templates without one ignore it);
    None leaves the template's default.
    """
    messages = prompt_messages(problem, prompt_template, system_prompt)
    extra = {} if enable_thinking is None else {"enable_thinking": enable_thinking}
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False, **extra)


def template_opens_thought(tokenizer) -> bool:
    """True when the chat template's generation prompt already opens `<think>` (R1-style templates)."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "1 + 1?"}], tokenize=False, add_generation_prompt=True
    )
    return text.rstrip().endswith("<think>")


def has_thinking_switch(tokenizer) -> bool:
    """True when the chat template renders differently with `enable_thinking` off (Qwen3-style templates)."""
    messages = [{"role": "user", "content": "1 + 1?"}]
    on, off = (
        tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False, enable_thinking=flag
        )
        for flag in (True, False)
    )
    return on != off
