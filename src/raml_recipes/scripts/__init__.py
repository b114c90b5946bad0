"""Entry points, one per stage, in the style of TRL's `trl/scripts`: a parser and a short main."""
