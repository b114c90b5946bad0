"""Seeds that every process derives alike: the support-set draw, the mixture draw and sampling all use them."""

from __future__ import annotations

import hashlib


def stable_seed(*parts) -> int:
    """A seed from the parts' text, identical in every process (unlike `hash`, which is salted)."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")
