"""Model resolution: embedded offline models and the tiny test-model factory."""

from ..errors import EmbeddedModelError
from .embedded import is_embedded, resolve_model

__all__ = ["EmbeddedModelError", "is_embedded", "resolve_model"]
