"""Calibrate a model's similarity thresholds against the reference model's (for ``analysis/models.yaml``).

Each threshold of the reference model (all-MiniLM-L6-v2, where they were
tuned) lets a certain share of something through: texts near enough to their
label's centre, pairs of texts, and so on. The same share, read off the new
model's distribution on the labelled single-label validation messages, gives
the new model's threshold. The driver temperature scales with the spread of
pairwise cosines. Prints a YAML entry to paste into ``analysis/models.yaml``.

    .venv/bin/python bench/calibrate_model.py MODEL_NAME_OR_PATH
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.calibration import ModelCalibration  # noqa: E402
from analysis.embeddings import Embedder  # noqa: E402
from tests.support.disaster_response import VALIDATION_CSV, load_labelled_set  # noqa: E402

REFERENCE = "bundled:all-MiniLM-L6-v2"


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def to_centre(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each text's cosine to its label's centre."""
    out = []
    for label in np.unique(labels):
        members = x[labels == label]
        out.append(members @ unit(members.mean(axis=0, keepdims=True))[0])
    return np.concatenate(out)


def pairs(x: np.ndarray) -> np.ndarray:
    s = x @ x.T
    return s[~np.eye(len(s), dtype=bool)]


def matched(reference: np.ndarray, other: np.ndarray, threshold: float) -> float:
    """The value of ``other`` that lets through the share of ``reference`` at or above ``threshold``."""
    share = float((reference >= threshold).mean())
    return round(float(np.quantile(other, 1 - share)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", type=Path, default=VALIDATION_CSV)
    args = parser.parse_args()
    data = load_labelled_set(args.data)
    texts, labels = list(data.texts), data.labels
    ref = ModelCalibration.for_model(REFERENCE)
    a, b = Embedder(REFERENCE).encode(texts), Embedder(args.model).encode(texts)
    ca, cb = unit(a - a.mean(axis=0)), unit(b - b.mean(axis=0))
    entry = {
        "provisional_threshold": matched(to_centre(a, labels), to_centre(b, labels), ref.provisional_threshold),
        "join_threshold": matched(to_centre(ca, labels), to_centre(cb, labels), ref.join_threshold),
        "merge_threshold": ref.merge_threshold,  # centred spaces share a scale (pairwise spread alike)
        "driver_temperature": round(ref.driver_temperature * pairs(b).std() / pairs(a).std(), 4),
        "term_match_threshold": matched(pairs(a), pairs(b), ref.term_match_threshold),
    }
    print(f'  "{args.model}":\n    languages: any  # or [en] for an English-only model')
    for key, value in entry.items():
        print(f"    {key}: {value}")


if __name__ == "__main__":
    main()
