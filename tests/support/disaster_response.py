"""The labelled disaster-response messages in ``../shared/data``: where they lie and the selections taken from them.

Tests (the quality floors) and benchmarks (``bench/bench_language.py``,
``bench/bench_themes.py``, ``bench/calibrate_model.py``) choose the same
messages, so the choice is made here once:

- ``mixed_language_messages``: the messages whose original is not English,
  chosen as ``../shared/tools/mixed-language-set`` chooses them;
- ``load_labelled_set``: the single-label subset (exactly one fine-grained
  category) or every message with a category, with its reference label;
- ``cached_embeddings``: their vectors in the space ``lnob analyse`` clusters
  an English corpus on, cached on disk by a hash of the texts.

The data set is not part of the repository; callers skip or exit when
``VALIDATION_CSV`` is absent.
"""

from __future__ import annotations

import csv
import hashlib
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
VALIDATION_CSV = REPO.parent / "shared" / "data" / "disaster-response" / "validation.csv"

# -- messages whose original is not English ---------------------------------------------

ENGLISH_FUNCTION_WORDS = frozenset(
    "the and to of is we in for need are our have not with this you they please i my".split()
)


@dataclass(frozen=True)
class MixedMessage:
    """One labelled message whose original is not English: the English ``message`` and its ``original``."""

    message: str
    original: str


def original_is_not_english(row: dict[str, str]) -> bool:
    """The rule of ``../shared/tools/mixed-language-set``: a long enough original, unlike the message,
    with under 12% of its words common English function words."""
    original = (row.get("original") or "").strip()
    if len(original) < 15 or original.lower() == row["message"].strip().lower():
        return False
    words = re.findall(r"[a-zà-ÿ']+", original.lower())
    return bool(words) and sum(w in ENGLISH_FUNCTION_WORDS for w in words) / len(words) < 0.12


def mixed_language_messages(path: Path = VALIDATION_CSV) -> list[MixedMessage]:
    """The messages of ``path`` whose original is not English, in file order."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            MixedMessage(message=row["message"], original=row["original"])
            for row in csv.DictReader(handle)
            if original_is_not_english(row)
        ]


# -- messages with a reference theme -----------------------------------------------------

FINE_CATEGORIES = (
    "medical_help medical_products search_and_rescue security military water food shelter clothing money "
    "missing_people refugees death transport buildings electricity tools hospitals shops aid_centers "
    "floods storm fire earthquake cold"
).split()


@dataclass
class LabelledSet:
    """Texts with one reference label each."""

    texts: list[str]
    labels: np.ndarray


def load_labelled_set(path: Path = VALIDATION_CSV, view: str = "single") -> LabelledSet:
    """The messages of the csv and their reference labels.

    ``single``: messages with exactly one fine-grained category set, labelled
    by it. ``multilabel``: messages with at least one, labelled by the first.
    """
    texts: list[str] = []
    labels: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found = [c for c in FINE_CATEGORIES if row.get(c) == "1"]
            if (view == "single" and len(found) == 1) or (view == "multilabel" and found):
                texts.append(row["message"])
                labels.append(found[0])
    return LabelledSet(texts, np.array(labels))


def cached_embeddings(texts: Sequence[str], cache_dir: Path | None = None) -> np.ndarray:
    """Embeddings of ``texts`` with the project's Embedder, cached in the temp folder by a hash of the texts."""
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]
    path = (cache_dir or Path(tempfile.gettempdir())) / f"lnob-bench-themes-english-{digest}.npy"
    if path.exists():
        return np.load(path)
    from analysis.embeddings import Embedder
    from corpus.settings import BUNDLED_ENGLISH_MODEL

    # the space `lnob analyse` clusters an English corpus on (analysis.analyse.ThemeSpace)
    vectors = Embedder(BUNDLED_ENGLISH_MODEL).encode(list(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors
