"""Model resolution: embedded offline models and the tiny test-model factory."""

from .embedded import EmbeddedModelError, is_embedded, resolve_model

__all__ = ["EmbeddedModelError", "is_embedded", "resolve_model"]
