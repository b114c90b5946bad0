"""raml-recipes: math-reasoning post-training recipes on TRL, after "Reasoning as Meta-Learning"."""

__version__ = "0.1.0"
