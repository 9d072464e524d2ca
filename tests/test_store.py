"""The evidence base: ingestion, pseudonyms, consent, bad input, failures, erasure, the embedding cache.

Real components throughout: a SQLite file, the bundled embedding model, an
embedded Chroma index; the core path once more on PostgreSQL and once on a
Chroma server.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from analysis.embeddings import Embedder
from analysis.erasure import erase_contributor, erase_testimonies, give_consent
from analysis.evidence import EvidenceBase
from analysis.index import VectorIndex, chroma_where, matches
from analysis.search import SearchFilter, semantic_search
from corpus.db import make_engine, upgrade
from corpus.errors import InvalidText
from corpus.models import Consent, ConsentLevel, Contributor, Embedding, IndexStatus
from corpus.settings import Settings
from corpus.store import CorpusStore, TestimonyFilter
from corpus.textkey import text_hash
from tests.support.corpora import draft
from tests.support.loopback import free_port

PHONE_TEXT = "The clinic is 40 km away and nobody answers. Call me on +254 712 345 678 or mail amina@example.org."
CLINIC = "The nearest clinic is three hours away by boat, so sick children wait until morning."
BRIBE = "The clerk asked for a bribe before he would register my daughter's birth."
FLOOD = "The flood took our crops and the house; we sleep in the school with our goats."


def file_bytes(folder: Path) -> bytes:
    """Every byte of every file under ``folder`` (the SQLite file, its WAL, the Chroma index)."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def table_dump(engine: sa.Engine) -> str:
    """Every row of every table, as text."""
    rows = []
    with engine.connect() as connection:
        for name in sa.inspect(engine).get_table_names():
            rows += [repr(tuple(r)) for r in connection.exec_driver_sql(f'SELECT * FROM "{name}"')]
    return "\n".join(rows)


def snapshot(store: CorpusStore) -> list[tuple]:
    """What is stored, to compare before and after a refused operation."""
    return sorted((r.id, r.text, r.index_status, r.consent_level) for r in store.records())


# -- ingestion -------------------------------------------------------------------------


def test_ingest_validates_redacts_commits_and_indexes(evidence: EvidenceBase):
    testimony = evidence.ingest(draft(PHONE_TEXT, country="ke", kind="testimony"))

    stored = evidence.store.get_testimony(testimony.id)
    assert stored.text == PHONE_TEXT  # the original is kept for re-redaction
    assert "[PHONE]" in stored.redacted_text and "[EMAIL]" in stored.redacted_text
    assert "712 345 678" not in stored.redacted_text and "amina@" not in stored.redacted_text
    assert stored.country == "KE"
    assert stored.index_status == IndexStatus.indexed and stored.indexed_at is not None
    assert stored.text_hash == text_hash(stored.redacted_text)

    record = evidence.store.records([testimony.id])[0]
    assert record.text == stored.redacted_text  # every read view is the redacted text

    assert evidence.index.ids() == {testimony.id}
    vector = evidence.index.vectors([testimony.id])[testimony.id]
    expected = evidence.embedder.encode([stored.redacted_text])[0]  # the redacted text is what is embedded
    assert float(vector @ expected) == pytest.approx(1.0, abs=1e-4)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)

    results = semantic_search(evidence, "how far is the health clinic", 5)
    assert [r.id for r in results] == [testimony.id]
    assert "[PHONE]" in results[0].text and "712" not in results[0].text


def test_ingest_without_indexing_leaves_it_pending_until_the_backlog_runs(evidence: EvidenceBase):
    first = evidence.ingest(draft(CLINIC), index_now=False)
    second = evidence.ingest(draft(BRIBE), index_now=False)
    assert evidence.store.status_counts()["pending"] == 2
    assert evidence.index.count() == 0

    report = evidence.index_pending()
    assert (report.indexed, report.failed) == (2, 0)
    assert evidence.index.ids() == {first.id, second.id}
    assert evidence.store.status_counts() == {"pending": 0, "indexed": 2, "failed": 0}
    assert evidence.doctor()["ok"]


def test_add_testimonies_is_all_or_nothing(evidence: EvidenceBase):
    evidence.ingest(draft(CLINIC))
    before = snapshot(evidence.store)
    with pytest.raises(InvalidText):
        evidence.store.add_testimonies([draft(BRIBE), draft("   "), draft(FLOOD)])
    assert snapshot(evidence.store) == before


# -- pseudonyms ------------------------------------------------------------------------


def test_external_ids_are_never_stored(evidence: EvidenceBase, migrated_settings: Settings):
    store = evidence.store
    telegram_id = 918273645501
    contributor = store.get_or_create_contributor(telegram_id, "telegram", language="sw", country="ke", age_band="25_39")
    store.give_consent(contributor.id, "quote", "v1")
    evidence.ingest(draft(CLINIC, contributor_id=contributor.id))
    evidence.ingest(draft(BRIBE, contributor_ref="row-ref-5550123987", source="import:x.csv", source_ref="r1"))

    assert store.find_contributor(telegram_id).id == contributor.id
    assert store.get_or_create_contributor(telegram_id).id == contributor.id  # stable: same person, same row
    assert contributor.pseudonym == store.pseudonym_for(telegram_id) != str(telegram_id)

    dump = table_dump(store.engine)
    assert contributor.pseudonym in dump
    for secret in ("918273645501", "row-ref-5550123987"):
        assert secret not in dump
    store.engine.dispose()  # close connections so the WAL is checkpointed into the file as well
    everything = file_bytes(migrated_settings.resolved_data_dir)
    for secret in (b"918273645501", b"row-ref-5550123987"):
        assert secret not in everything


def test_pseudonym_is_a_keyed_hmac(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("LNOB_PSEUDONYM_KEY", raising=False)
    a = CorpusStore(Settings(data_dir=tmp_path / "a", pseudonym_key="key-one-0123456789abcdef0123456789", _env_file=None))
    b = CorpusStore(Settings(data_dir=tmp_path / "b", pseudonym_key="key-two-0123456789abcdef0123456789", _env_file=None))
    assert a.pseudonym_for(42) == a.pseudonym_for("42")
    assert a.pseudonym_for(42) != b.pseudonym_for(42)  # depends on the key
    assert a.pseudonym_for(42, "telegram") != a.pseudonym_for(42, "import")  # and on the namespace
    assert len(a.pseudonym_for(42)) == 64

    # No key configured: one is generated, kept in the data dir (owner-only) and reused.
    first = Settings(data_dir=tmp_path / "c", _env_file=None)
    alias = CorpusStore(first).pseudonym_for(42)
    key_file = first.resolved_data_dir / "pseudonym.key"
    assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0
    assert CorpusStore(Settings(data_dir=tmp_path / "c", _env_file=None)).pseudonym_for(42) == alias
    assert CorpusStore(Settings(data_dir=tmp_path / "d", _env_file=None)).pseudonym_for(42) != alias


# -- consent ---------------------------------------------------------------------------


def test_consent_levels_decide_what_can_be_quoted(evidence: EvidenceBase):
    store = evidence.store
    quoted = store.get_or_create_contributor(1001)
    counted = store.get_or_create_contributor(1002)
    give_consent(evidence, quoted.id, "quote", "v1")
    give_consent(evidence, counted.id, "aggregate", "v1")
    a = evidence.ingest(draft(CLINIC, contributor_id=quoted.id, consent_level="quote"))
    b = evidence.ingest(draft(CLINIC + " Twice this year.", contributor_id=counted.id, consent_level="aggregate"))

    assert store.current_consent(quoted.id).level == ConsentLevel.quote
    assert store.current_consent(counted.id).level == ConsentLevel.aggregate
    assert [r.id for r in semantic_search(evidence, "clinic far away", 5)] == [a.id]  # aggregate: never quoted
    assert store.count_testimonies(TestimonyFilter(consent_level="aggregate")) == 1  # but counted

    # The quoting contributor narrows consent: the earlier consent is withdrawn, kept, and applied.
    give_consent(evidence, quoted.id, "aggregate", "v2")
    with store.session() as session:
        history = session.exec(sa.select(Consent).where(Consent.contributor_id == quoted.id)).scalars().all()
    assert len(history) == 2
    assert [c.withdrawn_at is None for c in sorted(history, key=lambda c: c.id)] == [False, True]
    assert store.current_consent(quoted.id).text_version == "v2"
    assert not store.records([a.id])[0].quotable
    assert semantic_search(evidence, "clinic far away", 5) == []
    assert {h.metadata["consent"] for h in evidence.index.query(evidence.query_vector("clinic"), 5)} == {"aggregate"}

    # ... and widens it again.
    give_consent(evidence, counted.id, "quote", "v2")
    assert [r.id for r in semantic_search(evidence, "clinic far away", 5)] == [b.id]


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("word " * 1000, "limit is 4000"),
        ("hello\x00world", "control characters (U+0000)"),
        ("bell \x07 and escape \x1b[31m", "U+0007, U+001B"),
        ("caf\ufffd au lait", "not valid UTF-8"),
    ],
)
def test_bad_text_is_refused_with_a_clear_message_and_nothing_changes(evidence: EvidenceBase, text: str, message: str):
    kept = evidence.ingest(draft(CLINIC))
    before = snapshot(evidence.store)
    vectors = evidence.index.count()
    with pytest.raises(InvalidText) as error:
        evidence.ingest(draft(text))
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert snapshot(evidence.store) == before
    assert evidence.index.count() == vectors
    assert evidence.store.get_testimony(kept.id).text == CLINIC


def test_text_limits_are_the_settings(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, pseudonym_key="test-key-0123456789abcdef0123456789", max_text_chars=50, _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    store = CorpusStore(settings)
    with pytest.raises(InvalidText, match="limit is 50"):
        store.add_testimony(draft("x" * 51))
    store.add_testimony(draft("x" * 60), max_chars=settings.max_import_chars)  # imports may be longer
    stored = store.add_testimony(draft("  Tabs\tand\nnewlines are fine  "))
    assert stored.text == "Tabs\tand\nnewlines are fine"


def test_bad_fields_are_refused(evidence: EvidenceBase):
    with pytest.raises(InvalidText, match="two-letter ISO 3166"):
        evidence.ingest(draft(CLINIC, country="Kenya"))
    with pytest.raises(InvalidText, match="not one of: testimony, proposal"):
        evidence.ingest(draft(CLINIC, kind="story"))
    with pytest.raises(InvalidText, match="language code"):
        evidence.ingest(draft(CLINIC, language="English!"))
    assert evidence.store.count_testimonies() == 0


# -- failures after the commit ---------------------------------------------------------


class BrokenEmbedder(Embedder):
    """The real embedder, except that the model run fails (as on out-of-memory or a bad model file)."""

    def _cached(self, texts, cache_key, encode):
        raise RuntimeError("model run failed")


def test_a_failing_embedder_keeps_the_testimony_and_the_backlog_picks_it_up(migrated_settings: Settings):
    broken = EvidenceBase(migrated_settings)
    broken._embedder = BrokenEmbedder(store=broken.store)
    testimony = broken.ingest(draft(CLINIC))  # accepted: no exception reaches the caller

    stored = broken.store.get_testimony(testimony.id)
    assert stored.text == CLINIC and stored.index_status == IndexStatus.failed
    assert broken.store.cached_embeddings({stored.text_hash}, migrated_settings.embedding_model) == {}
    assert broken.index.count() == 0
    doctor = broken.doctor()
    assert (doctor["failed"], doctor["missing_from_index"], doctor["ok"]) == (1, 1, False)

    again = broken.index_pending()  # still broken: still kept
    assert (again.indexed, again.failed) == (0, 1) and "model run failed" in again.errors[0]
    assert broken.store.count_testimonies() == 1

    healthy = EvidenceBase(migrated_settings)
    report = healthy.index_pending()
    assert (report.indexed, report.failed) == (1, 0)
    assert healthy.index.ids() == {testimony.id}
    assert healthy.doctor()["ok"]


def test_an_unreachable_index_keeps_the_testimony_and_reindex_picks_it_up(migrated_settings: Settings):
    down = migrated_settings.model_copy(update={"chroma_url": f"http://127.0.0.1:{free_port()}"})
    offline = EvidenceBase(down)
    first = offline.ingest(draft(CLINIC))
    second = offline.ingest(draft(BRIBE))
    assert offline.store.status_counts() == {"pending": 0, "indexed": 0, "failed": 2}

    healthy = EvidenceBase(migrated_settings)
    report = healthy.reindex()
    assert (report.indexed, report.failed) == (2, 0)
    assert healthy.index.ids() == {first.id, second.id}
    assert healthy.store.status_counts()["indexed"] == 2
    # the vectors were cached by the first (failed) attempt: reindexing encoded nothing
    assert healthy.embedder.encoded_count == 0


def test_a_running_process_goes_on_after_another_rebuilt_the_index(evidence: EvidenceBase, migrated_settings: Settings):
    """``lnob reindex`` while the bot runs: the bot's index reopens the new collection instead of failing."""
    first = evidence.ingest(draft(CLINIC))
    other = EvidenceBase(migrated_settings)  # as a second process would
    other.reindex()
    second = evidence.ingest(draft(BRIBE))  # written through the old handle
    assert evidence.store.status_counts()["indexed"] == 2
    assert evidence.index.ids() == other.index.ids() == {first.id, second.id}
    assert semantic_search(evidence, "a bribe for a certificate", 1)[0].id == second.id


# -- erasure ---------------------------------------------------------------------------


def test_erase_contributor_removes_every_copy(evidence: EvidenceBase, migrated_settings: Settings):
    store = evidence.store
    leaving = store.get_or_create_contributor(5001, country="np")
    staying = store.get_or_create_contributor(5002, country="np")
    give_consent(evidence, leaving.id, "quote", "v1")
    give_consent(evidence, staying.id, "quote", "v1")
    secret = "Ramkumari's goat shed in Dhadhing ward nine flooded again"
    story = evidence.ingest(draft(secret, contributor_id=leaving.id))
    proposal = evidence.ingest(draft("Build the embankment before the monsoon.", kind="proposal",
                                     contributor_id=leaving.id, parent_id=story.id))
    shared = evidence.ingest(draft(FLOOD, contributor_id=leaving.id))
    other = evidence.ingest(draft(FLOOD, contributor_id=staying.id))  # the same words from someone else
    hashes = {t.text_hash for t in (story, proposal, shared)}
    model = migrated_settings.embedding_model
    assert set(store.cached_embeddings(hashes, model)) == hashes
    story_vector = store.cached_embeddings({story.text_hash}, model)[story.text_hash].tobytes()
    assert evidence.index.residue() == 0

    removed = erase_contributor(evidence, leaving.id)

    assert set(removed) == {story.id, proposal.id, shared.id}
    assert store.all_ids() == {other.id}
    assert evidence.index.ids() == {other.id}
    assert store.find_contributor(5001) is None
    assert store.current_consent(leaving.id) is None
    with store.session() as session:
        assert session.get(Contributor, leaving.id) is None
        assert session.exec(sa.select(sa.func.count()).select_from(Consent).where(
            Consent.contributor_id == leaving.id)).scalar() == 0
    # the cached vectors went too, except the one the other contributor's identical text still uses
    assert set(store.cached_embeddings(hashes, model)) == {shared.text_hash}
    with store.session() as session:
        assert session.exec(sa.select(sa.func.count()).select_from(Embedding)).scalar() == 1
    # Chroma's files may still hold the erased vectors: doctor is not ok (exit 1) until `lnob reindex`
    assert not evidence.doctor()["ok"]
    assert semantic_search(evidence, "goat shed flooded", 10)[0].id == other.id

    # not even in the file's free pages or the write-ahead log
    store.engine.dispose()
    everything = file_bytes(migrated_settings.resolved_data_dir)
    assert b"Ramkumari" not in everything and b"embankment" not in everything
    database = b"".join(p.read_bytes() for p in migrated_settings.resolved_data_dir.glob("lnob.sqlite3*"))
    assert story_vector[:256] not in database
    # Chroma's own files may keep the deleted vectors (never a text): counted, and gone after a rebuild
    assert evidence.index.residue() == 3 and evidence.doctor()["erased_vectors_in_index_files"] == 3
    evidence.reindex()
    assert evidence.index.residue() == 0 and evidence.index.ids() == {other.id}
    assert evidence.doctor()["ok"]
    assert story_vector[:256] not in file_bytes(migrated_settings.resolved_data_dir)


def test_erase_testimonies_takes_linked_proposals(evidence: EvidenceBase):
    story = evidence.ingest(draft(CLINIC))
    proposal = evidence.ingest(draft("Send a boat ambulance at night.", kind="proposal", parent_id=story.id))
    keep = evidence.ingest(draft(BRIBE))
    assert set(erase_testimonies(evidence, [story.id])) == {story.id, proposal.id}
    assert evidence.store.all_ids() == evidence.index.ids() == {keep.id}


# -- the embedding cache ---------------------------------------------------------------


def test_the_embedder_never_re_embeds_a_cached_text(evidence: EvidenceBase, migrated_settings: Settings):
    embedder = evidence.embedder
    start = embedder.encoded_count
    evidence.store.add_testimonies([draft(CLINIC), draft(BRIBE), draft(FLOOD), draft("  " + CLINIC.upper() + " ")])
    evidence.index_pending()
    assert embedder.encoded_count - start == 4

    evidence.ingest(draft(CLINIC, source_ref="again"))  # the same text again
    evidence.ingest(draft(f"  {BRIBE}\n"))  # the same after normalising whitespace
    assert embedder.encoded_count - start == 4

    assert evidence.reindex().indexed == 6
    assert embedder.encoded_count - start == 4  # reindex reuses every cached vector

    texts = [CLINIC, BRIBE, CLINIC, "A brand new sentence about the missing school bus.", "A brand new sentence about the missing school bus."]
    vectors = embedder.encode(texts)
    assert embedder.encoded_count - start == 5  # duplicates within one call are encoded once
    assert vectors.shape == (5, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2])

    # another process (a new embedder on the same database) finds the cache as well
    fresh = Embedder(migrated_settings.embedding_model, store=evidence.store)
    np.testing.assert_allclose(fresh.encode(texts), vectors, atol=1e-6)
    assert fresh.encoded_count == 0


def test_embedder_without_a_store_matches_the_model(evidence: EvidenceBase):
    plain = Embedder()
    vectors = plain.encode([CLINIC, BRIBE])
    raw = plain.backend.passages([CLINIC, BRIBE], 64)
    np.testing.assert_allclose(vectors, raw, atol=1e-5)
    assert plain.encode([]).shape == (0, 384)
    assert plain.dimension == 384


# -- the vector index ------------------------------------------------------------------


def test_filtered_queries_return_exactly_the_nearest_matches(migrated_settings: Settings):
    """Over-fetching plus Python filtering gives the same answer as a brute-force scan, at any selectivity."""
    rng = np.random.default_rng(7)
    n = 1200
    query = rng.normal(size=384).astype(np.float32)
    query /= np.linalg.norm(query)
    noise = rng.normal(size=(n, 384)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    # each vector leans towards the query by its own amount, so the true ranking is well defined
    vectors = rng.permutation(np.linspace(0.0, 3.0, n, dtype=np.float32))[:, None] * query + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    countries = np.where(np.arange(n) % 2 == 0, "NP", np.where(np.arange(n) % 100 == 1, "SN", "KE"))
    metadata = [
        {"country": str(c), "kind": "proposal" if i % 3 == 0 else "testimony", "consent": "quote", "date": 20260101 + i % 28}
        for i, c in enumerate(countries)
    ]
    ids = [f"t{i:05d}" for i in range(n)]
    calls = []

    def candidates(where: dict) -> list[str]:  # what the database answers for a rare filter
        calls.append(where)
        return [ids[i] for i in range(n) if matches(metadata[i], where)]

    index = VectorIndex(migrated_settings, candidates=candidates)
    index.collection.add(ids=ids, embeddings=vectors, metadatas=metadata)

    similarities = vectors @ query
    for where in ({"country": "NP"}, {"country": "SN"}, {"country": "SN", "kind": "proposal"},
                  {"country": "KE", "date_from": 20260110, "date_to": 20260112}, {"country": "XX"}):
        allowed = [i for i in range(n) if matches(metadata[i], where)]
        expected = [ids[i] for i in sorted(allowed, key=lambda i: -similarities[i])[:10]]
        hits = index.query(query, 10, where)
        assert [h.id for h in hits] == expected, where
        assert all(matches(h.metadata, where) for h in hits)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {"country": "SN"} in calls and {"country": "NP"} not in calls  # only rare filters ask for candidates
    assert chroma_where({"country": "NP"}) == {"country": {"$eq": "NP"}}
    assert [h.id for h in index.query(query, 3)] == [ids[i] for i in np.argsort(-similarities)[:3]]

    # stale candidates (an id the index lacks, one whose metadata no longer matches) are harmless
    index.candidates = lambda where: candidates(where) + ["t00000", "no-such-id"]
    expected = [h.id for h in index.query(query, 10, {"country": "SN"})]
    assert len(expected) == 10 and "t00000" not in expected
    # many candidates go to HNSW with an allow-list; none known (None) to Chroma's where: both still filter
    for fallback in (dict(max_exact=5), dict(candidates=None)):
        other = VectorIndex(migrated_settings, **fallback)
        hits = other.query(query, 10, {"country": "SN"})
        assert len(hits) == 10 and all(h.metadata["country"] == "SN" for h in hits)
        assert len(set(h.id for h in hits) & set(expected)) >= 5  # approximate, but close


def test_rare_filters_take_candidates_from_the_database(evidence: EvidenceBase):
    from datetime import datetime, timezone

    store = evidence.store
    store.add_organisation("cbm")
    local = store.get_or_create_contributor(9001, country="SN")
    day = lambda d: datetime(2026, 3, d, 15, tzinfo=timezone.utc)  # noqa: E731
    common = [draft(f"{text} ({i})", country="KE", created_at=day(1 + i % 9))
              for i, text in enumerate([CLINIC, BRIBE, FLOOD] * 10)]
    store.add_testimonies(common)
    rare_a = evidence.ingest(draft("No wheelchair ramp at the polling station.", contributor_id=local.id,
                                   organisation="cbm", created_at=day(20)))  # country from the contributor
    rare_b = evidence.ingest(draft("The deaf school has no interpreter.", country="SN", organisation="cbm",
                                   kind="proposal", created_at=day(21)))
    hidden = evidence.ingest(draft("The blind are turned away at the bank.", country="SN", organisation="cbm",
                                   consent_level="aggregate", created_at=day(21)))
    evidence.index_pending()

    match = evidence.ids_matching
    assert set(match({"country": "SN"})) == {rare_a.id, rare_b.id, hidden.id}
    assert set(match({"country": "SN", "consent": "quote"})) == {rare_a.id, rare_b.id}
    assert set(match({"organisation": "cbm", "kind": "proposal"})) == {rare_b.id}
    assert set(match({"date_from": 20260320, "date_to": 20260320})) == {rare_a.id}
    assert set(match({"date_from": 20260321})) == {rare_b.id, hidden.id}
    assert len(match({"date_to": 20260302})) == 8
    assert match({"theme": 3}) is None  # not a database field: the index answers it itself

    evidence.index.max_fetch = 1  # force the exact path even in a small corpus
    found = semantic_search(evidence, "disability access", 5, SearchFilter(country="SN"))
    assert {r.id for r in found} == {rare_a.id, rare_b.id}
    assert [r.id for r in semantic_search(evidence, "x", 5, SearchFilter(country="SN", kind="proposal"))] == [rare_b.id]


# -- the same path on PostgreSQL and on a Chroma server --------------------------------


def ingest_and_search(evidence: EvidenceBase) -> None:
    """The core path: organisation, contributors, ingest, filtered search, consent, erasure, reindex, stats."""
    store = evidence.store
    store.add_organisation("plan-np", "Plan Nepal")
    person = store.get_or_create_contributor(77001, organisation="plan-np", country="NP", groups=["dalit", "woman"])
    give_consent(evidence, person.id, "quote", "v1")
    clinic = evidence.ingest(draft(CLINIC, contributor_id=person.id, country="NP", self_drivers=["geography"]))
    bribe = evidence.ingest(draft(BRIBE, contributor_id=person.id, country="NP", kind="proposal"))
    flood = evidence.ingest(draft(FLOOD, country="KE", organisation="plan-np"))
    assert store.status_counts()["indexed"] == 3

    found = semantic_search(evidence, "health centre too far", 3)
    assert found[0].id == clinic.id and found[0].organisation == "plan-np" and found[0].drivers == ["geography"]
    assert {r.id for r in semantic_search(evidence, "health centre too far", 5, SearchFilter(country="KE"))} == {flood.id}
    assert [r.id for r in semantic_search(evidence, "corruption", 5, SearchFilter(kind="proposal"))] == [bribe.id]
    assert {r.id for r in semantic_search(evidence, "x", 5, SearchFilter(organisation="plan-np"))} == {clinic.id, bribe.id, flood.id}
    record = store.records([clinic.id])[0]
    assert record.groups == ("dalit", "woman") and record.created_at.tzinfo is not None

    stats = store.stats()
    assert stats["testimonies"] == 3 and stats["by_country"] == {"NP": 2, "KE": 1}
    assert stats["by_organisation"] == {"plan-np": 3}

    assert evidence.reindex().indexed == 3
    assert evidence.doctor()["ok"]
    assert set(erase_contributor(evidence, person.id)) == {clinic.id, bribe.id}
    assert store.all_ids() == evidence.index.ids() == {flood.id}


@pytest.mark.postgres
def test_core_path_on_postgresql(postgres_url: str, tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, pseudonym_key="test-key-0123456789abcdef0123456789", _env_file=None)
    upgrade(make_engine(postgres_url))
    evidence = EvidenceBase(settings)
    assert evidence.store.engine.dialect.name == "postgresql"
    ingest_and_search(evidence)
    assert not (tmp_path / "data" / "lnob.sqlite3").exists()
    with pytest.raises(InvalidText):
        evidence.ingest(draft("\x00"))
    assert evidence.store.count_testimonies() == 1
    evidence.store.engine.dispose()


@pytest.mark.chroma_server
def test_core_path_on_a_chroma_server(chroma_server: str, migrated_settings: Settings):
    settings = migrated_settings.model_copy(
        update={"chroma_url": chroma_server, "chroma_collection": f"test-{uuid.uuid4().hex[:8]}"}
    )
    evidence = EvidenceBase(settings)
    assert type(evidence.index.client).__name__ != "PersistentClient" and evidence.index.count() == 0
    ingest_and_search(evidence)
    assert not settings.chroma_path.exists()  # nothing embedded: the server holds the index
    assert evidence.doctor()["index"] == chroma_server
