"""Grading and rule-based rewards."""

from .grading import Verdict, answer_region, grade

__all__ = ["Verdict", "answer_region", "grade"]
