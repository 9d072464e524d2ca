"""Representative quotes: MMR, near-duplicates, consent, pins, hidden quotes and balance."""

from datetime import datetime, timezone

import numpy as np
import pytest

from analysis.quotes import select_quotes
from corpus.store import TestimonyRecord


def record(i, text, country="NP", consent="quote", groups=()):
    return TestimonyRecord(
        id=f"t{i}", kind="testimony", text=text, language="en", created_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
        country=country, region=None, organisation="plan", consent_level=consent, self_drivers=(),
        contributor_id=i, age_band=None, gender=None, groups=tuple(groups), source="test", index_status="indexed",
        text_hash=str(i),
    )


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def corpus():
    records = [
        record(0, "central voice"),
        record(1, "central voice again", country="KE"),  # near-duplicate of 0
        record(2, "a different angle"),
        record(3, "aggregate only", consent="aggregate"),
        record(4, "far side", country="KE"),
    ]
    vectors = unit([[1, 0, 0], [1, 0.01, 0], [0.8, 0.6, 0], [1, 0, 0.001], [0.6, 0, 0.8]])
    return records, vectors, np.array([1, 0, 0], dtype=np.float32)


def test_central_first_then_diverse_and_no_near_duplicates(corpus):
    records, vectors, centre = corpus
    chosen = [r.id for r, _ in select_quotes(records, vectors, centre, n=3)]
    assert chosen[0] == "t0"
    assert "t1" not in chosen  # near-duplicate of t0
    assert set(chosen) == {"t0", "t2", "t4"}


def test_only_quote_consent(corpus):
    records, vectors, centre = corpus
    chosen = [r.id for r, _ in select_quotes(records, vectors, centre, n=10)]
    assert "t3" not in chosen


def test_pinned_first_and_hidden_never(corpus):
    records, vectors, centre = corpus
    chosen = [r.id for r, _ in select_quotes(records, vectors, centre, n=3, pinned=["t4"], hidden={"t0"})]
    assert chosen[0] == "t4"
    assert "t0" not in chosen


def test_balance_by_country_alternates(corpus):
    records, vectors, centre = corpus
    chosen = [r.country for r, _ in select_quotes(records, vectors, centre, n=2, balance_by="country")]
    assert sorted(chosen) == ["KE", "NP"]


def test_unknown_balance_field_is_a_clear_error(corpus):
    records, vectors, centre = corpus
    with pytest.raises(ValueError, match="cannot balance by"):
        select_quotes(records, vectors, centre, balance_by="shoe_size")
