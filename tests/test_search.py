"""Hybrid search: lexical + semantic fused by rank, filters, consent and provenance."""

from datetime import datetime, timezone

import pytest

from analysis.search import SearchFilter, Searcher
from corpus.store import TestimonyDraft

TEXTS = [
    ("The well in our village dried up and we walk two hours for water", "NP", "plan", "testimony", "quote", "2026-02-10"),
    ("Build a borehole so girls do not miss school fetching water", "NP", "plan", "proposal", "quote", "2026-03-05"),
    ("The clerk asked for a bribe before he would register my son's birth", "KE", "vso", "testimony", "quote", "2026-04-01"),
    ("Our crops were lost when the river flooded the whole valley", "BD", "ifrc", "testimony", "quote", "2026-05-20"),
    ("No ramp at the clinic so I cannot enter in my wheelchair", "KE", "cbm", "testimony", "quote", "2026-06-11"),
    ("Water from the tap is dirty and the children get diarrhoea", "KE", "vso", "testimony", "aggregate", "2026-06-12"),
    ("L'eau du puits est sale et nous tombons malades", "SN", "plan", "testimony", "quote", "2026-07-01"),
]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    from analysis.evidence import EvidenceBase
    from corpus.db import make_engine, upgrade
    from corpus.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("search") / "data", pseudonym_key="test-key-0123456789abcdef0123456789", _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    for code in ("plan", "vso", "ifrc", "cbm"):
        evidence.store.add_organisation(code)
    for i, (text, country, org, kind, consent, day) in enumerate(TEXTS):
        language = "fr" if country == "SN" else "en"
        contributor = evidence.store.get_or_create_contributor(f"user-{i}", groups=["disability"] if "wheelchair" in text else [])
        evidence.ingest(
            TestimonyDraft(
                text=text, kind=kind, country=country, organisation=org, consent_level=consent, language=language,
                contributor_id=contributor.id, created_at=datetime.fromisoformat(day).replace(tzinfo=timezone.utc),
            )
        )
    return Searcher(evidence)


@pytest.mark.parametrize("mode", ["hybrid", "semantic", "lexical"])
def test_every_mode_finds_the_water_testimonies(searcher, mode):
    results = searcher.search("water well", k=3, mode=mode)
    assert results, mode
    assert "water" in results[0].text.lower() or "well" in results[0].text.lower()


def test_hybrid_ranks_lexical_and_semantic_matches(searcher):
    results = searcher.search("bribe to register a birth", k=2)
    assert results[0].country == "KE" and "bribe" in results[0].text
    assert results[0].semantic_rank == 1 and results[0].lexical_rank == 1


def test_aggregate_consent_is_never_returned(searcher):
    for mode in ("hybrid", "semantic", "lexical"):
        texts = [r.text for r in searcher.search("dirty tap water diarrhoea children", k=10, mode=mode)]
        assert not any("diarrhoea" in t for t in texts)


def test_filters_country_kind_org_dates_group(searcher):
    assert {r.country for r in searcher.search("water", k=10, where=SearchFilter(country="np"))} == {"NP"}
    assert {r.kind for r in searcher.search("water", k=10, where=SearchFilter(kind="proposal"))} == {"proposal"}
    assert {r.organisation for r in searcher.search("help", k=10, where=SearchFilter(organisation="vso"))} == {"vso"}
    since = datetime(2026, 5, 1, tzinfo=timezone.utc)
    assert all(r.date >= "2026-05-01" for r in searcher.search("water", k=10, where=SearchFilter(since=since)))
    grouped = searcher.search("clinic", k=10, where=SearchFilter(group="disability"))
    assert [r.text for r in grouped] == ["No ramp at the clinic so I cannot enter in my wheelchair"]


def test_results_carry_provenance_and_scores(searcher):
    result = searcher.search("flooded river crops", k=1)[0]
    assert result.country == "BD" and result.organisation == "ifrc" and result.kind == "testimony"
    assert result.date == "2026-05-20" and result.score > 0 and len(result.id) == 36


def test_filter_that_matches_nothing_returns_empty(searcher):
    assert searcher.search("water", where=SearchFilter(country="GT")) == []


def test_unknown_mode_is_rejected(searcher):
    with pytest.raises(ValueError, match="search mode"):
        searcher.search("water", mode="magic")


def test_warm_searcher_scores_exactly_and_agrees_with_the_index(searcher):
    from analysis.search import Searcher

    cold = [r.id for r in searcher.search("bribe to register a birth", k=3, mode="semantic")]
    warm = Searcher(searcher.evidence)
    warm.warm()
    assert [r.id for r in warm.search("bribe to register a birth", k=3, mode="semantic")] == cold
    assert {r.country for r in warm.search("water", k=10, where=SearchFilter(country="KE"))} <= {"KE"}
