"""Where the project's own files are: recipes, accelerate configs and the data copies it ships."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The source checkout holding `recipes/` and `data/` ($RAML_PROJECT_ROOT overrides)."""
    root = Path(os.environ.get("RAML_PROJECT_ROOT", Path(__file__).resolve().parents[2]))
    if not (root / "recipes").is_dir():
        raise FileNotFoundError(
            f"no recipes/ folder under {root}: run from a source checkout of raml-recipes "
            "(pip install -e .) or set RAML_PROJECT_ROOT"
        )
    return root


def recipe(*parts: str) -> Path:
    return project_root().joinpath("recipes", *parts)


def shipped_data(*parts: str) -> Path:
    return project_root().joinpath("data", *parts)


def shared_data(*parts: str) -> Path:
    """A file of the shared data folder beside the checkout ($RAML_SHARED_DATA overrides)."""
    root = Path(os.environ.get("RAML_SHARED_DATA", project_root().parent / "shared" / "data"))
    return root.joinpath(*parts)
