"""Synthetic multi-step arithmetic word problems, each with many structurally distinct solutions.

The paper's Fig. 8 varies k, the number of distinct correct trajectories per question, with the
samples per question held fixed. Testing that on a small model needs a task where every question
has at least 8 correct trajectories that differ in *how* they compute, not only in wording.

Each problem `Structure` (shopping, boxes, machines, ...) draws a few small integers and has
several *methods*: small computation graphs of 2-5 binary steps (+, -, ×, exact ÷) that reach the
same answer by different decompositions (a×(b+c) vs a×b + a×c, total-then-subtract vs
subtract-as-you-go, (a×b)×c vs a×(b×c)). A trajectory is a *plan*, a method and one topological
order of its steps, rendered with one of several phrasings per step; every step line shows its
computation ("3 × 12 = 36"). A method whose intermediates would be negative or fractional for the
drawn numbers is skipped for that question.

Records follow the canonical schema (`schema.py`) and add `structure`, `numbers` (in the
structure's parameter order), `key` (structure and named numbers: what train and held-out splits
must not share) and `methods` (the method of each trajectory). Every trajectory is graded with
`rewards.grading.grade_text` and its arithmetic recomputed from the text (`step_values`).
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

SOURCE = "synthetic/arithmetic"
DEFAULT_MAX_OPERAND = 30
MIN_MAX_OPERAND = 6  # below this some structures cannot draw valid numbers at all
MAX_DRAWS = 2000  # draws per question before the key space counts as exhausted
ATTEMPTS_PER_TRAJECTORY = 20  # renderings tried per wanted trajectory (duplicates are skipped)

SYMBOLS = {"+": "+", "-": "-", "*": "×", "/": "÷"}
# One step line's arithmetic, `a op b = c` (also read by experiments.fact_coverage).
EQUATION = re.compile(r"(\d+) ([-+×÷]) (\d+) = (\d+)")
NAMES = ("Ava", "Ben", "Maya", "Leo", "Nora", "Omar", "Lily", "Sam", "Zoe", "Ivan", "Emma", "Raj")


@dataclass(frozen=True)
class Step:
    """One binary operation; `role` names its result (and picks its phrasings).

    Operands are parameter names, roles of earlier steps of the same method, or integer constants.
    """

    role: str
    op: str
    left: str | int
    right: str | int


@dataclass(frozen=True)
class Structure:
    """A problem template: how to draw its numbers, its text, its solution methods and phrasings.

    Every method ends in the step that yields the answer, and each of its other steps feeds a
    later one (so every topological order ends with the answer). Phrasings hold `{eq}` once and
    may use the numbers and the context (`name`, `name2`, `name3`, nouns).
    """

    name: str
    params: tuple[str, ...]
    draw: Callable[[random.Random, int], dict[str, int] | None]
    problem: str
    methods: dict[str, tuple[Step, ...]]
    phrases: dict[str, tuple[str, ...]]
    nouns: tuple[dict[str, str], ...] = ({},)


def _pick(rng: random.Random, low: int, high: int | None, max_operand: int) -> int:
    """A draw in [low, min(high, max_operand)] (high None: up to max_operand)."""
    top = max_operand if high is None else min(high, max_operand)
    return rng.randint(low, max(low, top))


def _draw_shopping(rng, m):
    price = _pick(rng, 4, None, m)
    return {
        "n": _pick(rng, 2, 12, m),
        "p": price,
        "d": _pick(rng, 1, price - 1, m),
        "s": _pick(rng, 1, None, m),
    }


def _draw_boxes(rng, m):
    return {
        "b": _pick(rng, 2, 6, m),
        "r": _pick(rng, 2, 6, m),
        "c": _pick(rng, 2, None, m),
        "l": _pick(rng, 2, None, m),
        "g": _pick(rng, 2, None, m),
    }


def _draw_machines(rng, m):
    numbers = {"a": _pick(rng, 2, None, m), "b": _pick(rng, 2, None, m), "m": _pick(rng, 2, 12, m)}
    numbers["k"] = _pick(rng, 2, 10, m)
    return numbers if (numbers["a"] + numbers["b"]) * numbers["m"] % numbers["k"] == 0 else None


def _draw_sharing(rng, m):
    friends = _pick(rng, 2, 8, m)
    # The loose items and the packed ones each split evenly, so the share-by-parts method always works.
    numbers = {"x": _pick(rng, 2, 9, m), "y": _pick(rng, 2, None, m)}
    numbers["z"] = friends * _pick(rng, 1, max(1, m // friends), m)
    numbers["f"] = friends
    return numbers if numbers["x"] * numbers["y"] % friends == 0 else None


def _draw_ages(rng, m):
    return {"a": _pick(rng, 3, None, m), "b": _pick(rng, 2, None, m), "m": _pick(rng, 2, 4, m)}


def _draw_saving(rng, m):
    return {
        "s": _pick(rng, 1, None, m),
        "w1": _pick(rng, 1, None, m),
        "w2": _pick(rng, 1, None, m),
        "n": _pick(rng, 2, 12, m),
        "c": _pick(rng, 1, None, m),
    }


def _draw_tickets(rng, m):
    adult = _pick(rng, 5, None, m)
    numbers = {
        "A": adult,
        "C": _pick(rng, 1, adult - 1, m),
        "a": _pick(rng, 2, 6, m),
        "c": _pick(rng, 2, 6, m),
    }
    cost = numbers["a"] * numbers["A"] + numbers["c"] * numbers["C"]
    # The bill is derived (the smallest two notes that cover the cost), not a drawn operand.
    numbers["B"] = rng.choice([bill for bill in (10, 20, 50, 100, 200, 500, 1000) if bill >= cost][:2])
    return numbers


def _draw_travel(rng, m):
    numbers = {"v": _pick(rng, 3, None, m), "h1": _pick(rng, 2, 6, m), "h2": _pick(rng, 2, 6, m)}
    # The route is derived: what is ridden plus a drawn remainder, so the answer is the remainder.
    numbers["d"] = numbers["v"] * (numbers["h1"] + numbers["h2"]) + _pick(rng, 1, None, m)
    return numbers


def _nouns(*pairs: tuple[str, str]) -> tuple[dict[str, str], ...]:
    return tuple({"item": one, "items": many} for one, many in pairs)


def _methods(table: dict[str, str]) -> dict[str, tuple[Step, ...]]:
    """Methods written as "role = left op right; ..." (op one of + - * /; operands names or integers)."""
    methods = {}
    for name, text in table.items():
        steps = []
        for part in text.split(";"):
            role, _, left, op, right = part.split()
            left, right = (int(x) if x.isdigit() else x for x in (left, right))
            steps.append(Step(role, op, left, right))
        methods[name] = tuple(steps)
    return methods


STRUCTURES: dict[str, Structure] = {
    structure.name: structure
    for structure in (
        Structure(
            name="shopping",
            params=("n", "p", "d", "s"),
            draw=_draw_shopping,
            problem="{name} buys {n} {items} that cost ${p} each. A coupon takes ${d} off the price of "
            "each {item}, and delivery costs ${s}. How many dollars does {name} pay in total?",
            nouns=_nouns(("notebook", "notebooks"), ("mug", "mugs"), ("lamp", "lamps"), ("plant", "plants")),
            methods=_methods(
                {
                    "discount_per_item": "unit = p - d; cost = n * unit; total = cost + s",
                    "full_minus_saving": "full = n * p; saving = n * d; cost = full - saving; total = cost + s",
                    "delivery_first": "full = n * p; with_fee = full + s; saving = n * d; total = with_fee - saving",
                }
            ),
            phrases={
                "unit": (
                    "With the coupon, one {item} costs {eq} dollars.",
                    "Each {item} costs {eq} dollars after the discount.",
                    "The discounted price of a {item} is {eq} dollars.",
                ),
                "cost": (
                    "After the coupon, the {items} cost {eq} dollars.",
                    "So the {n} {items} come to {eq} dollars.",
                    "The discounted {items} cost {eq} dollars in all.",
                ),
                "full": (
                    "Without the coupon, the {items} would cost {eq} dollars.",
                    "At full price, {n} {items} cost {eq} dollars.",
                    "Before the discount the {items} cost {eq} dollars.",
                ),
                "saving": (
                    "The coupon saves {eq} dollars in all.",
                    "The discount on {n} {items} is {eq} dollars.",
                    "Altogether the coupon takes off {eq} dollars.",
                ),
                "with_fee": (
                    "Full price plus delivery is {eq} dollars.",
                    "Adding delivery to the full price gives {eq} dollars.",
                    "Before the discount, the bill with delivery is {eq} dollars.",
                ),
                "total": (
                    "In total {name} pays {eq} dollars.",
                    "So the total is {eq} dollars.",
                    "{name} pays {eq} dollars altogether.",
                ),
            },
        ),
        Structure(
            name="boxes",
            params=("b", "r", "c", "l", "g"),
            draw=_draw_boxes,
            problem="A shop has {b} boxes of {items}. Each box holds {r} packs, and each pack has {c} {items}. "
            "There are also {l} loose {items}. The shop sells {g} {items}. How many {items} does the shop "
            "have left?",
            nouns=_nouns(
                ("pencil", "pencils"), ("crayon", "crayons"), ("eraser", "erasers"), ("candle", "candles")
            ),
            methods=_methods(
                {
                    "packs_first": "packs = b * r; boxed = packs * c; all = boxed + l; left = all - g",
                    "per_box_first": "per_box = r * c; boxed = b * per_box; all = boxed + l; left = all - g",
                    "sell_from_boxes": "per_box = r * c; boxed = b * per_box; boxed_left = boxed - g; left = boxed_left + l",
                    "sell_from_loose": "packs = b * r; boxed = packs * c; loose_left = l - g; left = boxed + loose_left",
                }
            ),
            phrases={
                "packs": (
                    "There are {eq} packs in the boxes.",
                    "The {b} boxes hold {eq} packs.",
                    "In all there are {eq} packs.",
                ),
                "per_box": (
                    "Each box holds {eq} {items}.",
                    "One box has {eq} {items}.",
                    "A box contains {eq} {items}.",
                ),
                "boxed": (
                    "The boxes hold {eq} {items}.",
                    "There are {eq} {items} in the boxes.",
                    "All the boxes together have {eq} {items}.",
                ),
                "all": (
                    "With the loose ones, there are {eq} {items}.",
                    "Adding the loose {items} gives {eq}.",
                    "Before the sale the shop has {eq} {items}.",
                ),
                "boxed_left": (
                    "Selling from the boxes leaves {eq} {items} in them.",
                    "After the sale the boxes hold {eq} {items}.",
                    "Taking the sold {items} from the boxes leaves {eq}.",
                ),
                "loose_left": (
                    "Selling from the loose {items} leaves {eq} of them.",
                    "After the sale there are {eq} loose {items}.",
                    "The loose {items} drop to {eq}.",
                ),
                "left": (
                    "So the shop has {eq} {items} left.",
                    "That leaves {eq} {items}.",
                    "The shop ends with {eq} {items}.",
                ),
            },
        ),
        Structure(
            name="machines",
            params=("a", "b", "m", "k"),
            draw=_draw_machines,
            problem="One machine makes {a} {items} per minute and a second machine makes {b} {items} per "
            "minute. Both machines run for {m} minutes, and all the {items} are packed into boxes of {k}. "
            "How many boxes are filled?",
            nouns=_nouns(("button", "buttons"), ("bottle", "bottles"), ("cup", "cups"), ("bolt", "bolts")),
            methods=_methods(
                {
                    "each_machine": "first = a * m; second = b * m; made = first + second; boxes = made / k",
                    "combined_rate": "rate = a + b; made = rate * m; boxes = made / k",
                    "boxes_per_minute": "rate = a + b; boxes_per_minute = rate / k; boxes = boxes_per_minute * m",
                    "blocks_of_minutes": "rate = a + b; blocks = m / k; boxes_by_block = rate * blocks",
                }
            ),
            phrases={
                "first": (
                    "The first machine makes {eq} {items}.",
                    "In {m} minutes the first machine makes {eq} {items}.",
                    "The first machine turns out {eq} {items}.",
                ),
                "second": (
                    "The second machine makes {eq} {items}.",
                    "In {m} minutes the second machine makes {eq} {items}.",
                    "The second machine turns out {eq} {items}.",
                ),
                "rate": (
                    "Together the machines make {eq} {items} per minute.",
                    "The combined rate is {eq} {items} per minute.",
                    "Each minute both machines make {eq} {items}.",
                ),
                "made": (
                    "Altogether they make {eq} {items}.",
                    "In total {eq} {items} are made.",
                    "The machines make {eq} {items} in all.",
                ),
                "boxes_per_minute": (
                    "Each minute's {items} fill {eq} boxes.",
                    "Every minute they fill {eq} boxes.",
                    "That is {eq} boxes per minute.",
                ),
                "blocks": (
                    "The {m} minutes make {eq} blocks of {k} minutes.",
                    "That run is {eq} blocks of {k} minutes each.",
                    "In blocks of {k} minutes, the run lasts {eq} blocks.",
                ),
                "boxes_by_block": (
                    "Each block fills one box per {item} made each minute, so {eq} boxes are filled.",
                    "A block of {k} minutes fills as many boxes as {items} made per minute: {eq} boxes in all.",
                    "Every block fills one box for each {item} per minute, which gives {eq} boxes.",
                ),
                "boxes": (
                    "So {eq} boxes are filled.",
                    "They fill {eq} boxes.",
                    "That fills {eq} boxes.",
                ),
            },
        ),
        Structure(
            name="sharing",
            params=("x", "y", "z", "f"),
            draw=_draw_sharing,
            problem="{name} has {x} packs of {y} {items} and {z} loose {items}. {name} shares all of them "
            "equally among {f} friends. How many {items} does each friend get?",
            nouns=_nouns(
                ("sticker", "stickers"), ("marble", "marbles"), ("card", "cards"), ("bead", "beads")
            ),
            methods=_methods(
                {
                    "total_first": "packed = x * y; total = packed + z; each = total / f",
                    "share_each_part": "packed = x * y; packed_share = packed / f; loose_share = z / f; each = packed_share + loose_share",
                    "share_each_pack": "pack_share = y / f; packed_share = x * pack_share; loose_share = z / f; each = packed_share + loose_share",
                }
            ),
            phrases={
                "packed": (
                    "The packs hold {eq} {items}.",
                    "{x} packs of {y} make {eq} {items}.",
                    "There are {eq} {items} in the packs.",
                ),
                "total": (
                    "With the loose ones, {name} has {eq} {items}.",
                    "Altogether there are {eq} {items}.",
                    "{name} has {eq} {items} in all.",
                ),
                "pack_share": (
                    "Each pack gives every friend {eq} {items}.",
                    "One pack split {f} ways is {eq} {items} each.",
                    "From every pack a friend gets {eq} {items}.",
                ),
                "packed_share": (
                    "From the packs each friend gets {eq} {items}.",
                    "Each friend's share of the packed {items} is {eq}.",
                    "The packed {items} give each friend {eq}.",
                ),
                "loose_share": (
                    "From the loose {items} each friend gets {eq}.",
                    "The loose {items} give each friend {eq} more.",
                    "Each friend's share of the loose {items} is {eq}.",
                ),
                "each": (
                    "Each friend gets {eq} {items}.",
                    "So every friend receives {eq} {items}.",
                    "Each of the {f} friends gets {eq} {items}.",
                ),
            },
        ),
        Structure(
            name="ages",
            params=("a", "b", "m"),
            draw=_draw_ages,
            problem="{name} is {a} years old. {name2} is {b} years older than {name}, and {name3} is {m} times "
            "as old as {name2}. What is the sum of {name2}'s and {name3}'s ages?",
            methods=_methods(
                {
                    "each_age": "older = a + b; oldest = m * older; sum = older + oldest",
                    "count_parts": "older = a + b; parts = 1 + m; sum = parts * older",
                    "distribute": "m_a = m * a; m_b = m * b; oldest = m_a + m_b; older = a + b; sum = older + oldest",
                }
            ),
            phrases={
                "older": (
                    "{name2} is {eq} years old.",
                    "{name2}'s age is {eq}.",
                    "So {name2} is {eq}.",
                ),
                "oldest": (
                    "{name3} is {eq} years old.",
                    "{name3}'s age is {eq}.",
                    "So {name3} is {eq}.",
                ),
                "parts": (
                    "The sum is {name2}'s age taken {eq} times.",
                    "{name2}'s age plus {m} times it is {eq} times {name2}'s age.",
                    "Together the two ages make {eq} times {name2}'s age.",
                ),
                "m_a": (
                    "{m} times {name}'s age is {eq}.",
                    "Multiplying {name}'s age by {m} gives {eq}.",
                    "{name}'s age taken {m} times is {eq}.",
                ),
                "m_b": (
                    "{m} times the age gap is {eq}.",
                    "Multiplying the {b}-year gap by {m} gives {eq}.",
                    "The gap taken {m} times is {eq}.",
                ),
                "sum": (
                    "The sum of their ages is {eq}.",
                    "Together they are {eq} years old.",
                    "{name2} and {name3} are {eq} years old together.",
                ),
            },
        ),
        Structure(
            name="saving",
            params=("s", "w1", "w2", "n", "c"),
            draw=_draw_saving,
            problem="{name} has ${s} saved. Each week {name} gets ${w1} of allowance and earns ${w2} doing "
            "chores, and saves all of it. After {n} weeks, {name} spends ${c} on a gift. How many dollars "
            "does {name} have now?",
            methods=_methods(
                {
                    "weekly_total": "weekly = w1 + w2; earned = weekly * n; before_gift = s + earned; left = before_gift - c",
                    "each_income": "allowance = w1 * n; chores = w2 * n; earned = allowance + chores; before_gift = s + earned; left = before_gift - c",
                    "gift_from_savings": "savings_left = s - c; weekly = w1 + w2; earned = weekly * n; left = savings_left + earned",
                    "gift_from_earnings": "weekly = w1 + w2; earned = weekly * n; earned_left = earned - c; left = earned_left + s",
                }
            ),
            phrases={
                "weekly": (
                    "{name} saves {eq} dollars each week.",
                    "Each week adds {eq} dollars.",
                    "The weekly savings are {eq} dollars.",
                ),
                "allowance": (
                    "The allowance over {n} weeks is {eq} dollars.",
                    "In {n} weeks the allowance adds up to {eq} dollars.",
                    "From allowance {name} saves {eq} dollars.",
                ),
                "chores": (
                    "The chores over {n} weeks bring {eq} dollars.",
                    "In {n} weeks the chores add up to {eq} dollars.",
                    "From chores {name} saves {eq} dollars.",
                ),
                "earned": (
                    "Over {n} weeks {name} saves {eq} dollars.",
                    "In {n} weeks that is {eq} dollars.",
                    "The {n} weeks bring in {eq} dollars.",
                ),
                "before_gift": (
                    "Before the gift {name} has {eq} dollars.",
                    "With the earlier savings that makes {eq} dollars.",
                    "{name} then has {eq} dollars.",
                ),
                "savings_left": (
                    "Paying for the gift from the old savings leaves {eq} dollars of them.",
                    "The gift out of the earlier savings leaves {eq} dollars.",
                    "Taking the gift from what was saved before leaves {eq} dollars.",
                ),
                "earned_left": (
                    "Paying for the gift from the new savings leaves {eq} dollars of them.",
                    "The gift out of the weekly savings leaves {eq} dollars.",
                    "Taking the gift from the {n} weeks' savings leaves {eq} dollars.",
                ),
                "left": (
                    "So {name} has {eq} dollars now.",
                    "{name} now has {eq} dollars.",
                    "That leaves {eq} dollars.",
                ),
            },
        ),
        Structure(
            name="tickets",
            params=("A", "C", "a", "c", "B"),
            draw=_draw_tickets,
            problem="At the museum, adult tickets cost ${A} and child tickets cost ${C}. A family buys {a} "
            "adult tickets and {c} child tickets and pays with ${B}. How many dollars of change do they get?",
            methods=_methods(
                {
                    "total_first": "adults = a * A; kids = c * C; cost = adults + kids; change = B - cost",
                    "adults_first": "adults = a * A; after_adults = B - adults; kids = c * C; change = after_adults - kids",
                    "kids_first": "kids = c * C; after_kids = B - kids; adults = a * A; change = after_kids - adults",
                }
            ),
            phrases={
                "adults": (
                    "The adult tickets cost {eq} dollars.",
                    "{a} adult tickets cost {eq} dollars.",
                    "For the adults they pay {eq} dollars.",
                ),
                "kids": (
                    "The child tickets cost {eq} dollars.",
                    "{c} child tickets cost {eq} dollars.",
                    "For the children they pay {eq} dollars.",
                ),
                "cost": (
                    "All the tickets cost {eq} dollars.",
                    "The tickets come to {eq} dollars.",
                    "Together the tickets cost {eq} dollars.",
                ),
                "after_adults": (
                    "After the adult tickets, {eq} dollars of the money remain.",
                    "Paying for the adults leaves {eq} dollars.",
                    "Taking the adult tickets out leaves {eq} dollars.",
                ),
                "after_kids": (
                    "After the child tickets, {eq} dollars of the money remain.",
                    "Paying for the children leaves {eq} dollars.",
                    "Taking the child tickets out leaves {eq} dollars.",
                ),
                "change": (
                    "The change is {eq} dollars.",
                    "So they get {eq} dollars back.",
                    "They receive {eq} dollars in change.",
                ),
            },
        ),
        Structure(
            name="travel",
            params=("v", "h1", "h2", "d"),
            draw=_draw_travel,
            problem="{name} cycles at {v} km per hour. {name} rides for {h1} hours in the morning and {h2} "
            "hours in the afternoon. The whole route is {d} km long. How many km of the route are left?",
            methods=_methods(
                {
                    "each_ride": "morning = v * h1; afternoon = v * h2; ridden = morning + afternoon; left = d - ridden",
                    "hours_first": "hours = h1 + h2; ridden = v * hours; left = d - ridden",
                    "ride_by_ride": "morning = v * h1; after_morning = d - morning; afternoon = v * h2; left = after_morning - afternoon",
                }
            ),
            phrases={
                "morning": (
                    "In the morning {name} rides {eq} km.",
                    "The morning ride covers {eq} km.",
                    "{name} covers {eq} km before noon.",
                ),
                "afternoon": (
                    "In the afternoon {name} rides {eq} km.",
                    "The afternoon ride covers {eq} km.",
                    "{name} covers {eq} km after noon.",
                ),
                "hours": (
                    "{name} rides for {eq} hours in all.",
                    "The riding time is {eq} hours.",
                    "Altogether that is {eq} hours on the bike.",
                ),
                "ridden": (
                    "Altogether {name} rides {eq} km.",
                    "The total distance ridden is {eq} km.",
                    "So far {name} has covered {eq} km.",
                ),
                "after_morning": (
                    "After the morning, {eq} km of the route remain.",
                    "The morning ride leaves {eq} km.",
                    "Once the morning is done, {eq} km are still ahead.",
                ),
                "left": (
                    "So {eq} km of the route are left.",
                    "That leaves {eq} km.",
                    "{name} still has {eq} km to go.",
                ),
            },
        ),
    )
}


# --- computing and rendering plans ---------------------------------------------------------


def _apply(op: str, left: int, right: int) -> int | None:
    """The step's result, or None when it leaves the non-negative integers (negative, inexact ÷)."""
    if op == "+":
        result = left + right
    elif op == "-":
        result = left - right
    elif op in ("*", "×"):
        result = left * right
    elif op in ("/", "÷"):
        if right == 0 or left % right:
            return None
        result = left // right
    else:
        raise ValueError(f"unknown operation {op!r}")
    return result if result >= 0 else None


def evaluate(steps: Sequence[Step], numbers: dict[str, int]) -> dict[str, int] | None:
    """Every step's value by role, or None when some intermediate is negative or fractional."""
    values: dict[str, int] = dict(numbers)
    for step in steps:
        operands = [
            operand if isinstance(operand, int) else values[operand] for operand in (step.left, step.right)
        ]
        result = _apply(step.op, *operands)
        if result is None:
            return None
        values[step.role] = result
    return {step.role: values[step.role] for step in steps}


def topological_orders(steps: Sequence[Step]) -> list[tuple[Step, ...]]:
    """All orders of `steps` in which each step comes after the steps it uses (methods are tiny)."""
    roles = {step.role for step in steps}
    needs = {
        step.role: {x for x in (step.left, step.right) if isinstance(x, str) and x in roles} for step in steps
    }
    orders = []
    for order in itertools.permutations(steps):
        done: set[str] = set()
        for step in order:
            if not needs[step.role] <= done:
                break
            done.add(step.role)
        else:
            orders.append(order)
    return orders


def _equation(step: Step, known: dict[str, int]) -> str:
    left, right = (
        operand if isinstance(operand, int) else known[operand] for operand in (step.left, step.right)
    )
    return f"{left} {SYMBOLS[step.op]} {right} = {known[step.role]}"


def render(lines: Sequence[str], answer: int) -> str:
    """A trajectory in the project's think format (as in the GSM8K records)."""
    return "<think>\n" + "\n".join(lines) + "\n</think>\n\nThe answer is \\boxed{" + str(answer) + "}."


def step_values(trajectory: str) -> list[int]:
    """The results of the thought's step lines, in order, each recomputed from the text.

    Every line of the thought must hold exactly one `a op b = c` with the right result; a
    ValueError says which line does not. This reads only the text, so it also checks the renderer.
    """
    if "<think>" not in trajectory or "</think>" not in trajectory:
        raise ValueError("no <think> ... </think> block")
    thought = trajectory.split("<think>", 1)[1].split("</think>", 1)[0]
    values = []
    for line in thought.strip().splitlines():
        found = EQUATION.findall(line)
        if len(found) != 1:
            raise ValueError(f"expected one equation in step line {line!r}, found {len(found)}")
        left, op, right, result = found[0]
        if _apply(op, int(left), int(right)) != int(result):
            raise ValueError(f"wrong arithmetic in step line {line!r}")
        values.append(int(result))
    if not values:
        raise ValueError("the thought has no step lines")
    return values


def verify_trajectory(answer: str, trajectory: str) -> str | None:
    """None when the trajectory is right; otherwise "grade" or "arithmetic", what failed.

    "grade": the project's grader does not mark it correct against `answer`; "arithmetic": a step
    line is wrong or missing its equation, or the last step's result is not the answer.
    """
    from raml_recipes.rewards.grading import grade_text

    if grade_text(answer, trajectory).correct is not True:
        return "grade"
    try:
        values = step_values(trajectory)
    except ValueError:
        return "arithmetic"
    return None if str(values[-1]) == answer else "arithmetic"


def question_key(structure: Structure, numbers: dict[str, int]) -> str:
    """What identifies a question across splits: its structure and numbers ("ages:a=12,b=5,m=3")."""
    return structure.name + ":" + ",".join(f"{param}={numbers[param]}" for param in structure.params)


def value_sequences(structure: Structure, numbers: dict[str, int]) -> set[tuple[int, ...]]:
    """The distinct sequences of intermediate results over all valid plans (method and order)."""
    sequences = set()
    for steps in structure.methods.values():
        values = evaluate(steps, numbers)
        if values is not None:
            sequences.update(
                tuple(values[step.role] for step in order) for order in topological_orders(steps)
            )
    return sequences


def _draw_question(structure: Structure, rng: random.Random, max_operand: int, taken: Collection[str]):
    """Numbers for a new question (key not in `taken`), with their key.

    The first method must be valid, and the valid plans must compute at least two different
    sequences of values: numbers that make every decomposition coincide (in `boxes`, b = c makes
    b × r and r × c equal, and a large sale can rule out the other methods) are redrawn.
    """
    first_method = next(iter(structure.methods.values()))
    for _ in range(MAX_DRAWS):
        numbers = structure.draw(rng, max_operand)
        if numbers is None or evaluate(first_method, numbers) is None:
            continue
        if len(value_sequences(structure, numbers)) < 2:
            continue
        key = question_key(structure, numbers)
        if key not in taken:
            return numbers, key
    raise ValueError(
        f"no new {structure.name!r} question found in {MAX_DRAWS} draws: too many questions asked "
        f"for max_operand={max_operand}"
    )


def _plans(structure: Structure, numbers: dict[str, int], rng: random.Random):
    """(method name, values, shuffled orders) for each method valid on these numbers, shuffled."""
    plans = []
    for name, steps in structure.methods.items():
        values = evaluate(steps, numbers)
        if values is not None:
            orders = topological_orders(steps)
            rng.shuffle(orders)
            plans.append((name, values, orders))
    answers = {values[steps[-1].role] for name, values, _ in plans for steps in [structure.methods[name]]}
    if len(answers) != 1:  # a template bug, not bad luck: the methods must agree
        raise RuntimeError(f"{structure.name} methods disagree on {numbers}: answers {sorted(answers)}")
    rng.shuffle(plans)
    return plans, answers.pop()


def make_question(
    structure: Structure,
    numbers: dict[str, int],
    rng: random.Random,
    *,
    trajectories: int,
    question_id: str,
    tally: Counter | None = None,
) -> dict:
    """One canonical record with up to `trajectories` distinct, verified trajectories.

    Plans are taken round-robin over the valid methods (then over each method's orders), so a
    question's trajectories spread over as many decompositions and orders as it has; phrasings
    are drawn per step. Exact duplicates and trajectories that fail verification are skipped
    and counted in `tally`.
    """
    tally = Counter() if tally is None else tally
    plans, answer = _plans(structure, numbers, rng)
    context = dict(numbers, **rng.choice(structure.nouns))
    context.update(zip(("name", "name2", "name3"), rng.sample(NAMES, 3), strict=True))
    texts: list[str] = []
    methods: list[str] = []
    for attempt in range(trajectories * ATTEMPTS_PER_TRAJECTORY):
        if len(texts) == trajectories:
            break
        name, values, orders = plans[attempt % len(plans)]
        order = orders[(attempt // len(plans)) % len(orders)]
        known = dict(numbers, **values)
        lines = [
            rng.choice(structure.phrases[step.role]).format_map({**context, "eq": _equation(step, known)})
            for step in order
        ]
        text = render(lines, answer)
        if text in texts:
            tally["duplicates_skipped"] += 1
            continue
        tally["checked"] += 1
        failure = verify_trajectory(str(answer), text)
        if failure is not None:
            tally[f"{failure}_failures"] += 1
            continue
        texts.append(text)
        methods.append(name)
    if len(texts) < trajectories:
        tally["short_questions"] += 1
    return {
        "id": question_id,
        "problem": structure.problem.format_map(context),
        "answer": str(answer),
        "trajectories": texts,
        "correct": [True] * len(texts),
        "source": SOURCE,
        "structure": structure.name,
        "numbers": [numbers[param] for param in structure.params],
        "key": question_key(structure, numbers),
        "methods": methods,
    }


def _structures(names: Sequence[str] | None) -> list[Structure]:
    if names is None:
        return list(STRUCTURES.values())
    unknown = [name for name in names if name not in STRUCTURES]
    if unknown or not names:
        raise ValueError(f"unknown structures {unknown}; known: {', '.join(STRUCTURES)}")
    return [STRUCTURES[name] for name in names]


def generate_questions(
    count: int,
    *,
    seed: int,
    trajectories: int = 8,
    max_operand: int = DEFAULT_MAX_OPERAND,
    structures: Sequence[str] | None = None,
    exclude_keys: Collection[str] = (),
    split: str = "train",
    tally: Counter | None = None,
) -> list[dict]:
    """`count` questions with distinct keys, none in `exclude_keys`, each with `trajectories` trajectories.

    Structures take turns (question i uses structure i mod the number of structures). Question i
    draws from its own generator seeded by (seed, split, i), so the output is the same for the
    same arguments and a smaller `count` gives a prefix of a larger one. Drawn operands stay in
    [1, max_operand] (counts such as weeks or boxes are capped lower); products and the derived
    ticket bill and route length can be larger. Ids are "synthetic-{split}-{i}". `tally`, when
    given, receives the verification counts (see `make_question`).
    """
    if count < 0 or trajectories < 1:
        raise ValueError("count must be >= 0 and trajectories >= 1")
    if max_operand < MIN_MAX_OPERAND:
        raise ValueError(f"max_operand must be at least {MIN_MAX_OPERAND}, got {max_operand}")
    chosen = _structures(structures)
    taken = set(exclude_keys)
    records = []
    for index in range(count):
        structure = chosen[index % len(chosen)]
        rng = random.Random(f"{seed}:{split}:{index}")  # str seeds are hashed deterministically (SHA-512)
        numbers, key = _draw_question(structure, rng, max_operand, taken)
        taken.add(key)
        records.append(
            make_question(
                structure,
                numbers,
                rng,
                trajectories=trajectories,
                question_id=f"synthetic-{split}-{index}",
                tally=tally,
            )
        )
    return records


def split_stats(records: Sequence[dict]) -> dict:
    """Counts for one split: questions, trajectories, distinctness and structural variety."""
    if not records:
        return {"questions": 0, "trajectories": 0}
    distinct = [len(set(record["trajectories"])) for record in records]
    orders = [len({tuple(step_values(text)) for text in record["trajectories"]}) for record in records]
    methods = [len(set(record["methods"])) for record in records]
    answers = [int(record["answer"]) for record in records]
    return {
        "questions": len(records),
        "trajectories": sum(len(record["trajectories"]) for record in records),
        "distinct_trajectories_per_question": {"min": min(distinct), "mean": sum(distinct) / len(distinct)},
        # Distinct sequences of intermediate results: more than 1 means more than wording differs.
        "value_orders_per_question": {"min": min(orders), "mean": sum(orders) / len(orders)},
        "methods_per_question": {"min": min(methods), "mean": sum(methods) / len(methods)},
        "answer_range": [min(answers), max(answers)],
        "structures": dict(Counter(record["structure"] for record in records)),
    }


def build_split(
    train_questions: int,
    heldout_questions: int,
    *,
    seed: int,
    trajectories: int = 8,
    max_operand: int = DEFAULT_MAX_OPERAND,
    structures: Sequence[str] | None = None,
) -> tuple[list[dict], list[dict], dict]:
    """Train and held-out questions with disjoint keys and problem texts, and their stats.

    The held-out questions are drawn from the key space left after the train keys (a held-out
    draw that hits a train key is redrawn); the texts are checked as well.
    """
    tally: Counter = Counter()
    common = {
        "seed": seed,
        "trajectories": trajectories,
        "max_operand": max_operand,
        "structures": structures,
    }
    train = generate_questions(train_questions, split="train", tally=tally, **common)
    heldout = generate_questions(
        heldout_questions, split="heldout", exclude_keys={r["key"] for r in train}, tally=tally, **common
    )
    shared_keys = {r["key"] for r in train} & {r["key"] for r in heldout}
    shared_problems = {r["problem"] for r in train} & {r["problem"] for r in heldout}
    if shared_keys or shared_problems:  # cannot happen by construction; never write a leaking split
        raise RuntimeError(
            f"train and held-out share {len(shared_keys)} keys, {len(shared_problems)} problems"
        )
    stats = {
        "seed": seed,
        "trajectories": trajectories,
        "max_operand": max_operand,
        "structures": [structure.name for structure in _structures(structures)],
        "train": split_stats(train),
        "heldout": split_stats(heldout),
        "verification": {
            name: tally.get(name, 0)
            for name in (
                "checked",
                "grade_failures",
                "arithmetic_failures",
                "duplicates_skipped",
                "short_questions",
            )
        },
        "overlap": {"keys": len(shared_keys), "problems": len(shared_problems)},
    }
    return train, heldout, stats
