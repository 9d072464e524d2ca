"""Pseudonyms: a keyed HMAC of an external id, so the id itself is never stored.

The key is the deployment's one secret: ``LNOB_PSEUDONYM_KEY``, else a random
key generated once into ``<data dir>/pseudonym.key``. A short key would let
anyone holding the database recover Telegram ids by trying them all, so a key
shorter than ``MIN_KEY_CHARS`` is refused, wherever it comes from.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from corpus.errors import CorpusError
from corpus.files import write_once

MIN_KEY_CHARS = 32  # 32 hex digits: 128 bits, out of reach of a brute force over ids
KEY_SETTING = "LNOB_PSEUDONYM_KEY"


class PseudonymKeyError(CorpusError):
    """The pseudonym key is missing, empty or too short."""


def pseudonym(external_id: str | int, key: bytes, namespace: str = "telegram") -> str:
    """The stable pseudonym of ``external_id`` under ``key``.

    The namespace keeps ids from different sources (Telegram, an imported
    file) from colliding. Without the key the pseudonym cannot be linked back.
    """
    message = f"{namespace}:{external_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def derived_key(key: bytes, purpose: str) -> bytes:
    """A key for one other use of the deployment's secret (invite codes...), independent of the pseudonyms."""
    return hmac.new(key, f"lnob:{purpose}".encode(), hashlib.sha256).digest()


def too_short(key: str) -> bool:
    """Whether ``key`` is empty or shorter than ``MIN_KEY_CHARS`` (surrounding spaces do not count)."""
    return len(key.strip()) < MIN_KEY_CHARS


def key_from_file(path: Path) -> bytes:
    """The key kept in ``path``, generated there first when there is none.

    Two processes starting on a fresh data dir both try to create it; the file
    is written whole and linked into place without replacing (see
    ``corpus.files.write_once``), so the loser reads the winner's key.
    """
    path = Path(path)
    if not path.exists():
        write_once(path, secrets.token_hex(32).encode())
    try:
        key = path.read_bytes().decode("ascii")
    except UnicodeDecodeError:
        key = ""
    if too_short(key):
        raise PseudonymKeyError(
            f"the pseudonym key in {path} is empty or shorter than {MIN_KEY_CHARS} characters: restore the file "
            f"from a backup, or set {KEY_SETTING} to the key this deployment has used"
        )
    return key.strip().encode()
