"""N-gram decontamination: a training question that shares a run of n words with an evaluation question
is dropped, with the run that matched.

The rule of open-r1's `scripts/decontaminate.py` and s1's `decontaminate_util.py` (8-grams of the
lower-cased text by default), with two changes for math: LaTeX markup and punctuation are dropped and
words, numbers and mathematical symbols are split apart before the n-grams are taken (`$17_b$` and `17_b` give the same tokens, so
a copy re-typeset is still a copy), and a question with fewer than n tokens is matched whole (open-r1
never matches a benchmark question shorter than n words). A copy with only its numbers changed is
caught when n consecutive tokens survive; a different question that happens to use the same numbers is
not.

Matching is one set lookup per n-gram of a training question against an index built once from the
benchmarks (a 64-bit hash per n-gram); `benchmarks/decontamination.py` measures it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

NGRAM = 8
_LATEX = re.compile(r"\\(?:left|right|displaystyle|textbf|text|mathrm|mbox|quad|qquad|cdot|times|dfrac|frac)(?![a-z])")
# Words, numbers and the symbols that carry mathematics; punctuation is not a token (with it, 8 tokens
# span fewer words and generic phrasing such as ". how much money does he have left" starts to match).
_TOKEN = re.compile(r"[a-z]+|\d+(?:\.\d+)?|[+\-*/=^<>_%|!]")


def tokens(text: str) -> list[str]:
    """Lower-cased words, numbers and mathematical symbols; LaTeX commands, `$`, braces, punctuation and
    spacing dropped."""
    return _TOKEN.findall(_LATEX.sub(" ", text.lower()))


def ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    """The word n-grams of `words`; the whole sequence when it is shorter than n."""
    if len(words) < n:
        return [tuple(words)] if words else []
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


@dataclass(frozen=True)
class Match:
    benchmark: str
    question_id: str
    ngram: str


class NgramIndex:
    """Every n-gram of the evaluation questions, by hash, with the first question it came from."""

    def __init__(self, questions: Mapping[str, Iterable[tuple[str, str]]], n: int = NGRAM):
        """`questions`: benchmark name -> (question id, problem text) pairs."""
        if n < 1:
            raise ValueError(f"n-gram size must be a positive integer, got {n}")
        self.n = n
        self.entries: dict[int, tuple[str, str]] = {}
        self.questions: Counter = Counter()
        self.short_lengths: set[int] = set()  # token counts of questions shorter than n
        for benchmark, items in questions.items():
            for question_id, problem in items:
                self.questions[benchmark] += 1
                words = tokens(problem)
                if 0 < len(words) < n:
                    self.short_lengths.add(len(words))
                for gram in ngrams(words, n):
                    self.entries.setdefault(hash(gram), (benchmark, str(question_id)))

    def find(self, text: str) -> Match | None:
        """The first n-gram of `text` found in the index, or None. A text shorter than n tokens is
        looked up whole, and so is each benchmark question shorter than n."""
        words = tokens(text)
        grams = ngrams(words, self.n)
        for k in sorted(self.short_lengths):  # a short benchmark question inside this text
            if k < len(words):
                grams += [tuple(words[i : i + k]) for i in range(len(words) - k + 1)]
        for gram in grams:
            found = self.entries.get(hash(gram))
            if found is not None:
                return Match(found[0], found[1], " ".join(gram))
        return None


@dataclass
class DecontaminationReport:
    """What was dropped, per benchmark, with the n-gram that matched (the first few per benchmark)."""

    n: int
    questions_indexed: dict
    checked: int = 0
    dropped: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    max_examples: int = 20

    def add(self, row_id: str, match: Match) -> None:
        self.dropped[match.benchmark] += 1
        shown = self.examples.setdefault(match.benchmark, [])
        if len(shown) < self.max_examples:
            shown.append({"id": row_id, "benchmark_question": match.question_id, "ngram": match.ngram})

    def as_dict(self) -> dict:
        return {"ngram": self.n, "questions_indexed": dict(self.questions_indexed), "checked": self.checked,
                "dropped": dict(self.dropped), "kept": self.checked - sum(self.dropped.values()),
                "examples": self.examples}  # fmt: skip


def decontaminate(rows: Iterable[dict], index: NgramIndex, problem_field: str = "problem") -> tuple[list[dict], DecontaminationReport]:
    """The rows whose `problem_field` shares no n-gram with an indexed evaluation question."""
    report = DecontaminationReport(n=index.n, questions_indexed=index.questions)
    kept = []
    for row in rows:
        report.checked += 1
        match = index.find(str(row[problem_field]))
        if match is None:
            kept.append(row)
        else:
            report.add(str(row.get("id", report.checked)), match)
    return kept, report
