"""Pseudonyms: a keyed HMAC of an external id, so the id itself is never stored."""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(external_id: str | int, key: bytes, namespace: str = "telegram") -> str:
    """The stable pseudonym of ``external_id`` under ``key``.

    The namespace keeps ids from different sources (Telegram, an imported
    file) from colliding. Without the key the pseudonym cannot be linked back.
    """
    message = f"{namespace}:{external_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
