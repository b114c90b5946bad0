"""math-verify's own extraction-and-verify test cases, read from its source distribution.

The suite is not copied into this repository: `make install` downloads math-verify's sdist (the
version installed) from PyPI into `.venv/sdists/`, and this module reads the cases out of its
`tests/*.py` with `ast`, never importing that code. Each case is a test function's parametrized
(gold, prediction, expected) with the options that function passes to its harness (`compare_strings`:
extraction targets, float precision, strict, set-relation comparison), or to `verify(parse(gold),
parse(pred))` directly.
"""

from __future__ import annotations

import ast
import importlib.metadata
import math
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from .conftest import ROOT

SDIST_DIR = ROOT / ".venv" / "sdists"
# The files whose cases are (gold, prediction, expected) extraction-and-verify checks.
SUITE_FILES = ("test_all.py", "test_boxed.py", "test_numina_cases.py", "test_open_thoughts.py",
               "test_yujianll.py", "test_strict.py")  # fmt: skip
HARNESS_DEFAULTS = {
    "match_types": ["latex", "expr"],
    "precision": 6,
    "strict": True,
    "allow_set_relation_comp": False,
}


@dataclass(frozen=True)
class Case:
    file: str
    test: str
    index: int
    gold: str
    pred: str
    expected: bool
    options: dict = field(default_factory=dict, hash=False)

    @property
    def id(self) -> str:
        return f"{self.file}::{self.test}[{self.index}]"


def sdist_path() -> Path:
    version = importlib.metadata.version("math-verify")
    path = SDIST_DIR / f"math_verify-{version}.tar.gz"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: `make install` downloads math-verify's source distribution (its test suite) there; "
            f'or: .venv/bin/pip download --no-deps --no-binary :all: "math-verify=={version}" -d {SDIST_DIR}'
        )
    return path


def _literal(node: ast.AST):
    """A literal, or a string built with math.sqrt in an f-string (the one computed gold of the suite)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        return eval(compile(ast.Expression(node), "<case>", "eval"), {"math": math})  # noqa: S307


def _harness_call(function: ast.FunctionDef) -> dict | None:
    """The options the test passes to compare_strings, or {"direct": True} for verify(parse(), parse())."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "compare_strings":
            options = {}
            for keyword in node.keywords:
                value = keyword.value
                options[keyword.arg] = value.id if isinstance(value, ast.Name) else ast.literal_eval(value)
            return options
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "verify":
            return {"direct": True}
    return None


def load_cases() -> list[Case]:
    cases = []
    with tarfile.open(sdist_path()) as archive:
        for member in archive.getmembers():
            name = Path(member.name).name
            if Path(member.name).parent.name != "tests" or name not in SUITE_FILES:
                continue
            tree = ast.parse(archive.extractfile(member).read().decode("utf-8"))
            for function in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
                harness = _harness_call(function)
                for decorator in function.decorator_list:
                    if not (
                        isinstance(decorator, ast.Call)
                        and getattr(decorator.func, "attr", "") == "parametrize"
                    ):
                        continue
                    names = [n.strip() for n in _literal(decorator.args[0]).split(",")]
                    for index, values in enumerate(_literal(decorator.args[1])):
                        row = dict(zip(names, values, strict=True))
                        options = {**HARNESS_DEFAULTS}
                        for key, value in (harness or {}).items():
                            options[key] = row[value] if isinstance(value, str) and value in row else value
                        expected = row.get("expected", row.get("result"))
                        cases.append(
                            Case(
                                name, function.name, index, row["gold"], row["pred"], bool(expected), options
                            )
                        )
    return cases


def harness_verdict(case: Case) -> bool:
    """What math-verify says about a case with the options its own test uses."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    if case.options.get("direct"):
        return bool(verify(parse(case.gold), parse(case.pred)))
    targets = [
        LatexExtractionConfig(boxed_match_priority=0) if kind == "latex" else ExprExtractionConfig()
        for kind in case.options["match_types"]
    ]
    return bool(
        verify(
            parse(case.gold, targets), parse(case.pred, targets), float_rounding=case.options["precision"],
            strict=case.options["strict"], allow_set_relation_comp=case.options["allow_set_relation_comp"],
        )
    )  # fmt: skip


def reference_verdict(gold: str, completion: str) -> bool | None:
    """Raw math-verify as this project's default mode promises to match it: `verify(parse(gold),
    parse(answer region))` with math-verify's default extraction and comparison, the gold given a
    `\\boxed{}` anchor unless it has unescaped `$` delimiters of its own. None when the gold yields no expression
    (math-verify can then only compare strings: not a verdict on the answer)."""
    from math_verify import parse, verify

    from raml_recipes.rewards.grading import answer_region

    gold_parsed = parse(gold if re.search(r"(?<!\\)\$|\\boxed", gold) else f"\\boxed{{{gold}}}")
    if not any(not isinstance(item, str) for item in gold_parsed):
        return None
    region = answer_region(completion)
    return bool(verify(gold_parsed, parse(region))) if region is not None else False
