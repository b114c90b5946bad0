"""(gold, prediction) pairs for checking our grader against math-verify itself.

The categories follow the ones math-verify's own test-suite covers (number formats, fractions,
sets and intervals, LaTeX notations, percentages, text answers, matrices, equations, tuples), with
golds written as data sets write them (no `$...$`). The expected verdict is not written here: the
test asks math-verify (`math_verify_suite.reference_verdict`) and requires our grader to agree; where
our verdict differs from math-verify run on the whole completion, `DELIBERATE_DIFFERENCES` says why.
"""

CASES = [
    # numbers: separators, decimals, signs, units
    ("7425000", "7,425,000"),
    ("1000", "1 000"),
    ("1000", "1000.0"),
    ("1000.0", "1,000.0"),
    ("0.4", ".4"),
    ("-5", "-5"),
    ("1000.99", "$1,000.99"),
    ("1000.99", "the total is 1,000.99€"),
    ("2", "AZYUK2A"),
    ("12", "The answer is 12."),
    ("12", "The answer is 13."),
    ("3.14", "\\boxed{3.14}"),
    ("3.14", "\\boxed{3.15}"),
    ("-7", "\\boxed{7}"),
    ("0", "\\boxed{0}"),
    ("100", "\\boxed{10^2}"),
    # fractions
    ("\\frac{10}{9}", "10/9"),
    ("-\\frac{10}{9}", "-\\frac{10}{9}"),
    ("\\frac{1}{3}", "$\\dfrac{1}{3}$"),
    ("\\frac{1}{3}", "$\\tfrac{1}{3}$"),
    ("\\frac{1}{3}", "$\\frac13$"),
    ("1", "$\\frac3{3}$"),
    ("\\frac{1}{2}", "\\boxed{0.5}"),
    ("\\frac{1}{2}", "\\boxed{\\frac{2}{4}}"),
    ("\\frac{1}{2}", "\\boxed{\\frac{1}{3}}"),
    ("\\frac{1}{2}", "\\boxed{2}"),
    # sets and intervals
    ("[0,1)", "$[0,1)$"),
    ("[0,9)", "$[0,1)$"),
    ("(0,9)", "$[0,9)$"),
    ("\\{1, 2, 3\\}", "\\boxed{\\{3, 2, 1\\}}"),
    ("(-\\infty, 2]", "\\boxed{(-\\infty, 2]}"),
    ("(-\\infty, 2]", "\\boxed{(-\\infty, 2)}"),
    ("1, 2", "\\boxed{2, 1}"),
    # LaTeX notations
    ("9", "Answer \\[ 9 \\]"),
    ("9", "Answer $ 9 $"),
    ("9", "Answer $$ 9 $$"),
    ("9", "Answer \\( 9 \\)"),
    ("10", "Answer \\( (9+1) \\)"),
    ("\\sqrt{3}", "$\\sqrt3 $"),
    ("\\frac{1}{3}", "$\\left( \\frac{1}{3} \\right)$"),
    ("\\frac{1}{3}", "$k = \\frac{1}{3}$"),
    ("\\frac{1}{3}", "$\\frac{1}{3} \\text{meters}$"),
    ("2\\sqrt{2}", "\\boxed{\\sqrt{8}}"),
    ("3\\sqrt{13}", "\\boxed{3\\sqrt{13}}"),
    ("\\pi", "\\boxed{\\pi}"),
    ("2\\pi", "\\boxed{6.28}"),
    # percentages
    ("28\\%", "28 percent"),
    ("28\\%", "$28$ %"),
    ("28\\%", "\\boxed{28}"),
    ("0.28", "\\boxed{28}"),
    ("10\\%", "\\boxed{10\\%}"),
    # text answers
    ("\\text{Evelyn}", "\\boxed{\\text{Evelyn}}"),
    ("\\text{Evelyn}", "\\boxed{\\text{Briana}}"),
    ("\\text{(C)}", "\\boxed{C}"),
    ("\\text{(C)}", "\\boxed{(C)}"),
    ("\\text{(C)}", "\\boxed{(D)}"),
    # matrices and vectors
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}"),
    ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 2 \\\\ 1 \\end{pmatrix}}"),
    # equations and expressions
    ("x=2", "\\boxed{x=2}"),
    ("2", "\\boxed{x=2}"),
    ("x^2+2x+1", "\\boxed{(x+1)^2}"),
    ("x^2+2x+1", "\\boxed{(x-1)^2}"),
    ("y = 2x + 3", "\\boxed{y=3+2x}"),
    ("90^\\circ", "\\boxed{90}"),
    ("90^\\circ", "\\boxed{90^\\circ}"),
    # tuples and points
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\frac{\\pi}{2})}"),
    ("(3, \\frac{\\pi}{2})", "\\boxed{(3, \\pi)}"),
    ("(1, -2)", "the point is $(1,-2)$"),
    # several boxes, the last one alone in its formula
    ("5", "First $\\boxed{3}$, then corrected: $\\boxed{5}$"),
    ("3", "First $\\boxed{3}$, then corrected: $\\boxed{5}$"),
]

# Where our grader's verdict differs from math-verify run on the whole completion, and why.
DELIBERATE_DIFFERENCES = [
    # An answer inside an unfinished or closed thought is not the model's answer: only the text after
    # </think> is graded. math-verify reads the whole text and takes the boxed answer in the thought.
    ("7", "<think>maybe \\boxed{7}</think> I am not sure.", False, True),
    ("7", "<think>it is \\boxed{7} and then the output stops", False, True),
    # A gold with no expression says nothing about the answer: no score (None); math-verify says False.
    ("\\frac{", "\\boxed{1}", None, False),
]
