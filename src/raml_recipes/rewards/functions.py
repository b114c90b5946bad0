"""Rule-based reward functions for TRL's GRPOTrainer, registered by name.

Each is a picklable callable class with TRL's signature
`(prompts, completions, completion_ids=None, **kwargs) -> list[float | None]`, taking standard
(text) or conversational (`[{"role": "assistant", "content": ...}]`) completions. The gold answer
comes from a dataset column (`answer` by default, else TRL's `solution`), which TRL passes as a
keyword argument repeated per completion. None means "no score" (a gold answer with no expression).
Graded rewards take `grading`: `math_verify` (math-verify's verdicts, the default) or `lenient` (see
`raml_recipes.rewards.lenient`), e.g. `reward_kwargs: {accuracy: {grading: lenient}}`.

Recipes name them (`reward_funcs: [raml, accuracy]`) or give a dotted path
(`my_package.rewards:MyReward`); see `get_reward_function`.
"""

from __future__ import annotations

import importlib
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from .grading import DEFAULT_MODE, MODES, THINK_CLOSE, THINK_OPEN, Verdict
from .pool import grade_many

GOLD_COLUMNS = ("answer", "solution")


def completion_text(completion) -> str:
    """The text of a standard or conversational completion (the last message's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content") or "")
    raise TypeError(f"expected a completion as text or a list of messages, got {type(completion).__name__}")


def prompt_opens_thought(prompt) -> bool:
    """True when a text prompt ends inside an opened `<think>` (R1-style generation prompts)."""
    return isinstance(prompt, str) and prompt.rstrip().endswith(THINK_OPEN)


class RewardFunction:
    """Base class: sets the `__name__` TRL logs under (`rewards/<name>/mean`)."""

    name = "reward"

    def __init__(self):
        self.__name__ = self.name

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "__name__")
        return f"{type(self).__name__}({fields})"


class GradedReward(RewardFunction):
    """A reward that grades answers: finds the gold column and logs unparseable golds and timeouts."""

    def __init__(self, answer_column: str | None = None, grading: str = DEFAULT_MODE):
        super().__init__()
        if grading not in MODES:
            raise ValueError(f"reward {self.name!r}: grading must be one of {', '.join(MODES)}, got {grading!r}")
        self.answer_column = answer_column
        self.grading = grading

    def golds(self, kwargs: dict, count: int) -> list[str]:
        columns = (self.answer_column,) if self.answer_column else GOLD_COLUMNS
        for column in columns:
            if column in kwargs and kwargs[column] is not None:
                golds = [str(g) for g in kwargs[column]]
                if len(golds) != count:
                    raise ValueError(
                        f"reward {self.name!r}: {len(golds)} gold answers for {count} completions"
                    )
                return golds
        present = sorted(k for k in kwargs if k not in ("trainer_state", "log_metric", "log_extra"))
        raise ValueError(
            f"reward {self.name!r} needs the gold answer in a dataset column named {' or '.join(map(repr, columns))}; "
            f"columns passed: {present}"
        )

    def verdicts(self, texts: list[str], kwargs: dict) -> list[Verdict]:
        verdicts = grade_many(list(zip(self.golds(kwargs, len(texts)), texts, strict=True)), mode=self.grading)
        reasons = Counter(v.reason for v in verdicts)
        if kwargs.get("log_metric") is not None:
            kwargs["log_metric"](f"rewards/{self.name}/unparseable_gold", float(reasons["unparseable_gold"]))
            kwargs["log_metric"](f"rewards/{self.name}/timeouts", float(reasons["timeout"]))
        if kwargs.get("log_extra") is not None:
            kwargs["log_extra"](f"{self.name}_verdict", [v.reason for v in verdicts])
        return verdicts


class AccuracyReward(GradedReward):
    """1.0 when the answer matches the gold (math-verify), 0.0 otherwise, None for an unparseable gold."""

    name = "accuracy"

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float | None]:
        verdicts = self.verdicts([completion_text(c) for c in completions], kwargs)
        return [None if v.correct is None else float(v.correct) for v in verdicts]


@dataclass(frozen=True)
class FormatChecker:
    """Whether a completion follows a response format, with exactly one of each block.

    - `raml` (the paper's GRPO format): `<think>thought</think>` then
      `<conclusion>... \\boxed{answer} ...</conclusion>`, nothing else around them;
    - `r1`: `<think>thought</think>` then an answer part holding a `\\boxed{}`.
    The thought must not be empty. With `think_opened_in_prompt`, the prompt already ends with
    `<think>` (R1-style chat templates), so the completion starts inside the thought and must not
    open it again; for text prompts this is detected from the prompt itself.
    """

    STYLES: ClassVar[tuple[str, ...]] = ("raml", "r1")
    style: str = "raml"
    think_opened_in_prompt: bool = False

    def __post_init__(self):
        if self.style not in self.STYLES:
            raise ValueError(f"format style must be one of {', '.join(self.STYLES)}, got {self.style!r}")

    def __call__(self, text: str, prompt=None) -> bool:
        opened = self.think_opened_in_prompt or prompt_opens_thought(prompt)
        if text.count(THINK_CLOSE) != 1 or text.count(THINK_OPEN) != (0 if opened else 1):
            return False
        head, answer = text.split(THINK_CLOSE)
        if opened:
            thought = head
        else:
            before, _, thought = head.partition(THINK_OPEN)
            if before.strip():
                return False
        if not thought.strip():
            return False
        if self.style == "r1":
            return "\\boxed{" in answer
        if answer.count("<conclusion>") != 1 or answer.count("</conclusion>") != 1:
            return False
        match = re.fullmatch(r"\s*<conclusion>(.*)</conclusion>\s*", answer, re.DOTALL)
        return bool(match) and "\\boxed{" in match.group(1)


class FormatReward(RewardFunction):
    """1.0 when the completion follows the format (see `FormatChecker`), else 0.0."""

    name = "format"

    def __init__(self, style: str = "raml", think_opened_in_prompt: bool = False):
        super().__init__()
        self.checker = FormatChecker(style, think_opened_in_prompt)

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float]:
        return [float(self.checker(completion_text(c), p)) for p, c in zip(prompts, completions, strict=True)]


class RamlReward(GradedReward):
    """The paper's reward (Eq. 21): answer correctness x format.

    | answer | format | reward |
    |---|---|---|
    | right | right | 1 |
    | wrong | right | 0 |
    | right | wrong | -0.5 |
    | wrong | wrong | -1 |

    None when the gold answer yields no expression.
    """

    name = "raml"
    TABLE = {(True, True): 1.0, (False, True): 0.0, (True, False): -0.5, (False, False): -1.0}

    def __init__(
        self,
        answer_column: str | None = None,
        style: str = "raml",
        think_opened_in_prompt: bool = False,
        grading: str = DEFAULT_MODE,
    ):
        super().__init__(answer_column, grading)
        self.checker = FormatChecker(style, think_opened_in_prompt)

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        verdicts = self.verdicts(texts, kwargs)
        return [
            None if v.correct is None else self.TABLE[(v.correct, self.checker(text, prompt))]
            for prompt, text, v in zip(prompts, texts, verdicts, strict=True)
        ]


def _token_counts(reward: str, completion_ids) -> list[int]:
    if completion_ids is None:
        raise ValueError(f"reward {reward!r} needs completion_ids (it works on token counts)")
    return [len(ids) for ids in completion_ids]


class CosineScaledReward(GradedReward):
    """Correctness scaled by length on a cosine schedule ("Demystifying Long CoT", App. C.1).

    Short correct answers earn up to `max_value_correct`, long ones down to `min_value_correct`;
    short wrong answers are punished most (`min_value_wrong`), long wrong ones least
    (`max_value_wrong`). Lengths are token counts, capped at `max_len`.
    """

    name = "cosine"

    def __init__(
        self,
        max_len: int,
        min_value_wrong: float = -1.0,
        max_value_wrong: float = -0.5,
        min_value_correct: float = 0.5,
        max_value_correct: float = 1.0,
        answer_column: str | None = None,
        grading: str = DEFAULT_MODE,
    ):
        super().__init__(answer_column, grading)
        if max_len < 1:
            raise ValueError(f"max_len must be positive, got {max_len}")
        self.max_len = max_len
        self.wrong = (min_value_wrong, max_value_wrong)
        self.correct = (min_value_correct, max_value_correct)

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float | None]:
        lengths = _token_counts(self.name, completion_ids)
        verdicts = self.verdicts([completion_text(c) for c in completions], kwargs)
        rewards = []
        for verdict, length in zip(verdicts, lengths, strict=True):
            if verdict.correct is None:
                rewards.append(None)
                continue
            cosine = math.cos(min(length / self.max_len, 1.0) * math.pi)  # 1 when short, -1 at max_len
            low, high = self.correct if verdict.correct else self.wrong[::-1]
            rewards.append(low + 0.5 * (high - low) * (1.0 + cosine))
        return rewards


class SoftOverlongPunishment(RewardFunction):
    """DAPO's soft overlong punishment (Eq. 13), on token counts.

    0 up to `max_completion_len - soft_punish_cache` tokens, then falling linearly to -1 at
    `max_completion_len`, and -1 beyond.
    """

    name = "soft_overlong"

    def __init__(self, max_completion_len: int, soft_punish_cache: int):
        super().__init__()
        if not 0 < soft_punish_cache <= max_completion_len:
            raise ValueError(
                f"need 0 < soft_punish_cache <= max_completion_len, got {soft_punish_cache} and {max_completion_len}"
            )
        self.max_completion_len, self.soft_punish_cache = max_completion_len, soft_punish_cache

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float]:
        limit, cache = self.max_completion_len, self.soft_punish_cache
        rewards = []
        for length in _token_counts(self.name, completion_ids):
            if length <= limit - cache:
                rewards.append(0.0)
            elif length <= limit:
                rewards.append(((limit - cache) - length) / cache)
            else:
                rewards.append(-1.0)
        return rewards


REWARD_FUNCTIONS: dict[str, type[RewardFunction]] = {
    cls.name: cls
    for cls in (AccuracyReward, FormatReward, RamlReward, CosineScaledReward, SoftOverlongPunishment)
}


def get_reward_function(spec: str, **params) -> Callable:
    """A reward function from a registered name or a dotted path (`pkg.module:attr` or `pkg.module.attr`).

    A class is instantiated with `params`; a plain function is returned as is (then `params` must be empty).
    """
    if spec in REWARD_FUNCTIONS:
        try:
            return REWARD_FUNCTIONS[spec](**params)
        except TypeError as error:
            raise ValueError(f"reward {spec!r}: bad parameters {params}: {error}") from None
    module_name, sep, attr = spec.partition(":") if ":" in spec else spec.rpartition(".")
    if not sep or not module_name:
        raise ValueError(
            f"unknown reward {spec!r}: use one of {', '.join(REWARD_FUNCTIONS)} or a dotted path"
        )
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"reward {spec!r} cannot be imported: {error}") from None
    if isinstance(target, type):
        return target(**params)
    if params:
        raise ValueError(f"reward {spec!r} is a function; parameters {params} cannot be applied")
    return target


def get_reward_functions(specs: Sequence[str], params: dict[str, dict] | None = None) -> list[Callable]:
    """Reward functions for a recipe's `reward_funcs`, each with its entry of `params` (by spec)."""
    params = params or {}
    unknown = set(params) - set(specs)
    if unknown:
        raise ValueError(
            f"reward parameters given for {sorted(unknown)}, which are not in reward_funcs {list(specs)}"
        )
    return [get_reward_function(spec, **params.get(spec, {})) for spec in specs]
