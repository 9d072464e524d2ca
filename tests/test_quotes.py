"""Representative quotes: MMR, near-duplicates, consent, pins, hidden quotes, balance, languages."""

import dataclasses
from datetime import datetime, timezone

import numpy as np
import pytest

from analysis.quotes import default_balance, quote_of, select_quotes
from corpus.store import TestimonyRecord


def record(i, text, country="NP", consent="quote", groups=(), language="en"):
    return TestimonyRecord(
        id=f"t{i}", kind="testimony", text=text, language=language, created_at=datetime(2026, 3, 1, tzinfo=timezone.utc),
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


# -- languages ------------------------------------------------------------------------


DIM = 256


def spread(n: int, centrality: float) -> np.ndarray:
    """``n`` unit vectors at cosine ``centrality`` to the centre (axis 0), each off in a random direction.

    In this many dimensions random directions are nearly orthogonal, so no two
    are near-duplicates (their cosine is about ``centrality ** 2``).
    """
    rng = np.random.default_rng(n)
    off = rng.normal(size=(n, DIM - 1))
    off /= np.linalg.norm(off, axis=1, keepdims=True)
    return np.hstack([np.full((n, 1), centrality), off * np.sqrt(1 - centrality**2)]).astype(np.float32)


def centre() -> np.ndarray:
    return np.eye(DIM, dtype=np.float32)[0]


def two_languages(french: int):
    """Eight central English texts and ``french`` French ones further from the centre."""
    records = [record(i, f"english {i}") for i in range(8)]
    records += [record(100 + i, f"français {i}", language="fr") for i in range(french)]
    return records, np.vstack([spread(8, 0.8), spread(french, 0.5)]), centre()


def test_a_theme_that_spans_languages_is_balanced_by_language_by_default():
    records, vectors, centre = two_languages(french=2)  # French: 2 of 10, at least 10% of the theme
    assert default_balance(records) == "language"
    chosen = [r.language for r, _ in select_quotes(records, vectors, centre, n=4, diversity=0.0)]
    assert sorted(chosen) == ["en", "en", "fr", "fr"]
    unbalanced = [r.language for r, _ in select_quotes(records, vectors, centre, n=4, diversity=0.0, balance_by="none")]
    assert unbalanced == ["en", "en", "en", "en"]  # the English texts are the more central


def test_a_language_under_10_percent_of_the_theme_does_not_trigger_balancing():
    records, vectors, centre = two_languages(french=0)
    records += [record(200, "un texte", language="fr")]  # 1 of 9 is 11%: balanced
    vectors = np.vstack([vectors, spread(1, 0.5)])
    assert default_balance(records) == "language"
    records += [record(300 + i, f"english more {i}") for i in range(3)]  # 1 of 12 is 8%: not balanced
    vectors = np.vstack([vectors, spread(3, 0.79)])
    assert default_balance(records) is None
    chosen = [r.language for r, _ in select_quotes(records, vectors, centre, n=3, diversity=0.0)]
    assert chosen == ["en", "en", "en"]


def test_only_quotable_records_count_for_the_default_balance():
    records, vectors, centre = two_languages(french=0)
    records += [record(400 + i, f"agrégé {i}", language="fr", consent="aggregate") for i in range(4)]
    vectors = np.vstack([vectors, spread(4, 0.9)])  # more central, but aggregate consent
    assert default_balance([r for r in records if r.quotable]) is None
    assert {r.language for r, _ in select_quotes(records, vectors, centre, n=6)} == {"en"}


def test_an_explicit_balance_wins_over_the_language_default():
    records, vectors, centre = two_languages(french=2)
    records = [dataclasses.replace(r, country="KE" if i % 2 else "NP") for i, r in enumerate(records)]
    chosen = select_quotes(records, vectors, centre, n=2, diversity=0.0, balance_by="country")
    assert sorted(r.country for r, _ in chosen) == ["KE", "NP"]


def test_every_quote_carries_its_language():
    quote = quote_of(record(1, "Hakuna kliniki karibu.", language="sw"), 0.87, ["geography"], theme_id=3)
    assert quote.language == "sw" and quote.to_dict()["language"] == "sw"


def test_the_cli_offers_every_balance_field():
    from analysis.quotes import BALANCE_FIELDS, NO_BALANCE
    from cli.themes import BALANCE_CHOICES

    assert BALANCE_CHOICES == (*BALANCE_FIELDS, NO_BALANCE)
