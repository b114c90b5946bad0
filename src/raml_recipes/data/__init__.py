"""Trajectory data: the canonical record, loaders, converters and per-question support sets."""

from ..errors import DataError
from .loaders import load_trajectories
from .schema import validate_record

__all__ = ["DataError", "load_trajectories", "validate_record"]
