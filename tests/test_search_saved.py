"""Search's saved lexical data (issue 12): each text's tokens and the BM25 index, kept in step with the corpus
(new, edited and erased texts, a language read anew, consent and hidden quotes), finding exactly what a fresh
build finds; and a one-shot ``lnob search`` that loads neither torch nor Chroma nor unused language pipelines."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session

from analysis.erasure import erase, give_consent
from analysis.search import SearchFilter, Searcher, lexical_fingerprint
from analysis.search import TestimonyTable as Catalogue
from analysis.text import TextProcessor, tokenizer_version
from corpus.db import make_engine, upgrade
from corpus.lexicon import SavedTokens
from corpus import models
from corpus.settings import Settings
from corpus.textkey import text_hash
from tests.support.corpora import TEST_KEY, copy_data_dir, draft

RARE = "zorblat"  # one contributor's own word, in their testimony only

TEXTS = [  # (text, language, country, contributor, consent, groups)
    ("The well in our village dried up and we walk two hours for water", "en", "NP", "a", "quote", ["rural_or_remote"]),
    ("Build a borehole so girls do not miss school fetching water", "en", "NP", "b", "quote", []),
    ("The clerk asked for a bribe before he would register my son's birth", "en", "KE", "c", "quote", []),
    ("Our crops were lost when the river flooded the whole valley", "en", "BD", "d", "quote", ["displaced"]),
    ("No ramp at the clinic so I cannot enter in my wheelchair", "en", "KE", "e", "quote", ["disability"]),
    ("Water from the tap is dirty and the children get diarrhoea", "en", "KE", "f", "aggregate", []),
    ("L'eau du puits est sale et nous tombons malades", "fr", "SN", "g", "quote", []),
    ("La clinique est trop loin et il n'y a pas de route", "fr", "SN", "h", "quote", ["rural_or_remote"]),
    ("La escuela está lejos y los niños caminan dos horas", "es", "GT", "i", "quote", []),
    ("No hay agua limpia en la comunidad desde la inundación", "es", "GT", "j", "quote", ["indigenous"]),
    (f"Our goats drank from the muddy borewell pond near the {RARE} tree and fell sick", "en", "NP", "k", "quote", []),
    ("The school fees doubled and my daughter had to stop", "en", None, "l", "quote", []),
]
QUERIES = ["water well", "the clinic is too far", "l'eau du puits", "bribe for a birth certificate", "escuela lejos",
           "flooded crops", RARE, "school fees"]
FILTERS = [SearchFilter(), SearchFilter(country="KE"), SearchFilter(group="rural_or_remote"), SearchFilter(kind="testimony")]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A small corpus in three languages, embedded and indexed, with no saved lexical data yet."""
    from analysis.evidence import EvidenceBase

    data_dir = tmp_path_factory.mktemp("saved") / "data"
    settings = Settings(data_dir=data_dir, pseudonym_key=TEST_KEY, _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    for i, (text, language, country, person, consent, groups) in enumerate(TEXTS):
        contributor = evidence.store.get_or_create_contributor(f"saved-{person}", groups=groups,
                                                               country=country or "NP")
        evidence.ingest(draft(text, language=language, country=country, consent_level=consent,
                              contributor_id=contributor.id,
                              created_at=datetime(2026, 3, 1 + i % 3, tzinfo=timezone.utc)))  # ties on the day
    evidence.store.engine.dispose()
    return data_dir


def copy_of(base: Path, tmp_path: Path):
    """An evidence base on a private copy of the base corpus."""
    from analysis.evidence import EvidenceBase

    target = tmp_path / "data"
    copy_data_dir(base, target)
    return EvidenceBase(Settings(data_dir=target, pseudonym_key=TEST_KEY, _env_file=None))


def found(searcher: Searcher, modes=("hybrid", "lexical", "semantic")) -> list:
    """Every query's results in every mode under every filter: ids, scores and ranks."""
    return [
        [(r.id, r.score, r.semantic_rank, r.lexical_rank) for r in searcher.search(q, 5, where, mode=mode)]
        for q in QUERIES for where in FILTERS for mode in modes
    ]


def fresh(evidence) -> list:
    """What a one-shot search finds with no saved lexical data: every text tokenised now."""
    evidence.stores.lexicon.clear()
    return found(Searcher.one_shot(evidence))


def record_with(evidence, word: str):
    return next(r for r in evidence.store.records() if word in r.text)


# -- the saved data is what a fresh build makes ----------------------------------------------------


def test_saved_tokens_are_the_tokenizers_and_the_saved_index_finds_what_a_fresh_build_finds(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    expected = fresh(evidence)  # builds, and saves the tokens and the index
    saved = evidence.stores.lexicon.all()
    records = evidence.store.records()
    assert set(saved) == {r.id for r in records}
    processor = TextProcessor()
    for record in records:
        row = saved[record.id]
        assert row.matches(record.text_hash, record.language, tokenizer_version())
        assert list(row.tokens) == processor.tokens(record.text, record.language)

    catalogue = Catalogue(evidence, with_records=False)
    assert evidence.stores.lexicon.index(lexical_fingerprint(catalogue)) is not None
    assert found(Searcher.one_shot(evidence)) == expected  # the saved index, loaded
    assert found(Searcher(evidence), modes=("lexical",)) == [  # the bot's searcher: records kept, same words
        rows for rows, mode in zip(expected, ["hybrid", "lexical", "semantic"] * (len(expected) // 3))
        if mode == "lexical"
    ]


def test_the_catalogue_read_as_columns_is_the_one_read_from_records(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    full, lean = Catalogue(evidence), Catalogue(evidence, with_records=False)
    assert full.ids == lean.ids and len(full) == len(TEXTS)
    for column in ("country", "organisation", "kind", "language", "date", "consented", "quotable", "theme"):
        assert (getattr(full, column) == getattr(lean, column)).all(), column
    assert full.drivers == lean.drivers and full.groups == lean.groups and full.text_hash == lean.text_hash
    assert full.contributor_id == lean.contributor_id == [full.records[i].contributor_id for i in full.ids]
    assert lean.records == {} and lean.records_of(full.ids[:3]) == {i: full.records[i] for i in full.ids[:3]}


# -- kept in step with the corpus ------------------------------------------------------------------


def test_a_new_testimony_is_found_and_the_saved_index_is_replaced(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    before = found(Searcher.one_shot(evidence))
    old_fingerprint = lexical_fingerprint(Catalogue(evidence, with_records=False))
    person = evidence.store.get_or_create_contributor("saved-new")
    added = evidence.ingest(draft("The landslide buried the kraalgate road to the market", contributor_id=person.id))

    searcher = Searcher.one_shot(evidence)
    assert [r.id for r in searcher.search("kraalgate", 3, mode="lexical")] == [added.id]
    lexicon = evidence.stores.lexicon
    assert "kraalgate" in lexicon.all()[added.id].tokens
    assert lexicon.index(old_fingerprint) is None  # replaced by the index of the corpus as it is now
    assert lexicon.index(lexical_fingerprint(searcher.catalogue)) is not None
    assert found(Searcher.one_shot(evidence)) == fresh(evidence) != before


def test_an_edited_text_a_language_read_anew_and_a_stale_row_are_made_again(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    fresh(evidence)
    edited, relabelled, spoiled = (record_with(evidence, w) for w in ("borehole", "lejos", "crops"))
    new_text = "Build a cistern so girls do not miss school fetching water"  # re-redacted, say
    with Session(evidence.store.engine) as session:
        session.exec(update(models.Testimony).where(models.Testimony.id == edited.id)
                     .values(redacted_text=new_text, text_hash=text_hash(new_text)))
        session.exec(update(models.Testimony).where(models.Testimony.id == relabelled.id).values(language="pt"))
        session.commit()
    lexicon = evidence.stores.lexicon
    lexicon.save([SavedTokens(spoiled.id, spoiled.text_hash, spoiled.language, "an older tokenizer", ("bogus",))])

    searcher = Searcher.one_shot(evidence)
    assert searcher.search("borehole", 3, mode="lexical") == []
    assert [r.id for r in searcher.search("cistern", 3, mode="lexical")] == [edited.id]
    saved = lexicon.all()
    assert saved[edited.id].tokens == tuple(TextProcessor().tokens(new_text, "en"))
    assert saved[relabelled.id].language == "pt"
    assert saved[relabelled.id].tokens == tuple(TextProcessor().tokens(relabelled.text, "pt"))
    assert saved[spoiled.id].tokens == tuple(TextProcessor().tokens(spoiled.text, "en"))
    assert found(Searcher.one_shot(evidence)) == fresh(evidence)


def test_consent_and_hidden_quotes_apply_to_the_saved_index_at_once(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    fresh(evidence)
    fingerprint = lexical_fingerprint(Catalogue(evidence, with_records=False))
    withdrawn, hidden = record_with(evidence, "bribe"), record_with(evidence, "ramp")
    give_consent(evidence, withdrawn.contributor_id, "aggregate", "v2")
    evidence.stores.curation.hide(hidden.id, "identifying detail")

    searcher = Searcher.one_shot(evidence)
    assert evidence.stores.lexicon.index(fingerprint) is not None  # the words are the same: the index stands
    shown = {r.id for q in ("bribe birth register", "ramp clinic wheelchair") for mode in ("hybrid", "lexical")
             for r in searcher.search(q, 20, mode=mode)}
    assert shown and withdrawn.id not in shown and hidden.id not in shown
    give_consent(evidence, withdrawn.contributor_id, "quote", "v3")
    assert withdrawn.id in {r.id for r in Searcher.one_shot(evidence).search("bribe birth register", 3)}


def test_an_erased_contributors_words_leave_the_saved_tokens_and_index(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    fresh(evidence)
    mine = record_with(evidence, RARE)
    lexicon = evidence.stores.lexicon
    saved_index = lexicon.index(lexical_fingerprint(Catalogue(evidence, with_records=False)))
    assert RARE in lexicon.all()[mine.id].tokens and RARE.encode() in saved_index

    erase(evidence, contributor_id=mine.contributor_id)
    assert mine.id not in lexicon.all()
    assert lexicon.index(lexical_fingerprint(Catalogue(evidence, with_records=False))) is None
    evidence.store.engine.dispose()
    files = b"".join(p.read_bytes() for p in evidence.settings.resolved_data_dir.glob("lnob.sqlite3*") if p.is_file())
    assert RARE.encode() not in files.lower()
    assert Searcher.one_shot(evidence).search(RARE, 3, mode="lexical") == []


def test_nothing_is_saved_for_testimonies_erased_while_it_was_made(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    lexicon = evidence.stores.lexicon
    alive = evidence.store.records()[0]
    rows = [SavedTokens("erased-meanwhile", "0" * 64, "en", tokenizer_version(), ("water",)),
            SavedTokens(alive.id, alive.text_hash, alive.language, tokenizer_version(), ("water", "well"))]
    assert lexicon.save(rows) == 1 and set(lexicon.all()) == {alive.id}
    assert lexicon.save([rows[1]._replace(tokens=("two words",))]) == 0  # would not read back as saved
    assert not lexicon.save_index("f" * 64, b"index", testimonies=len(TEXTS) + 1)  # one was erased meanwhile
    assert lexicon.index("f" * 64) is None
    assert lexicon.save_index("f" * 64, b"index", testimonies=len(TEXTS)) and lexicon.index("f" * 64) == b"index"


def test_on_postgresql_the_catalogue_tokens_index_and_erasure_work_alike(postgres_url, tmp_path, monkeypatch):
    """The one-shot catalogue reads PostgreSQL's own types (aware times in its order, JSON lists), and the
    saved tokens and index follow an erasure there too (the cascade, the index deleted with the rows)."""
    from analysis.evidence import EvidenceBase

    monkeypatch.setenv("PGTZ", "Asia/Kathmandu")  # sessions in UTC+05:45: 23:30 UTC is the next day there
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, pseudonym_key=TEST_KEY, _env_file=None)
    upgrade(make_engine(postgres_url))
    evidence = EvidenceBase(settings)
    for i, (text, language, country, person, consent, groups) in enumerate(TEXTS):
        contributor = evidence.store.get_or_create_contributor(f"pg-{person}", groups=groups, country=country or "NP")
        evidence.ingest(draft(text, language=language, country=country, consent_level=consent,
                              contributor_id=contributor.id,
                              created_at=datetime(2026, 3, 1 + i % 3, 23, 30, tzinfo=timezone.utc)), index_now=False)
    full, lean = Catalogue(evidence), Catalogue(evidence, with_records=False)
    assert full.ids == lean.ids and (full.date == lean.date).all() and full.groups == lean.groups
    assert set(full.date.tolist()) == {20260301, 20260302, 20260303}  # the UTC day, whatever the session's zone

    searcher = Searcher.one_shot(evidence)
    mine = record_with(evidence, RARE)
    assert [r.id for r in searcher.search(RARE, 3, mode="lexical")] == [mine.id]
    lexicon = evidence.stores.lexicon
    assert RARE in lexicon.all()[mine.id].tokens and lexicon.index(lexical_fingerprint(lean)) is not None
    erase(evidence, contributor_id=mine.contributor_id)
    assert mine.id not in lexicon.all() and lexicon.index(lexical_fingerprint(lean)) is None
    assert Searcher.one_shot(evidence).search(RARE, 3, mode="lexical") == []
    evidence.store.engine.dispose()


# -- `lnob search` loads only what it needs ---------------------------------------------------------------


MODULES_AT_EXIT = """
import atexit, json, sys
def report():
    from analysis import text
    print(json.dumps({"torch": "torch" in sys.modules, "chromadb": "chromadb" in sys.modules,
                      "sentence_transformers": "sentence_transformers" in sys.modules,
                      "themes": "analysis.themes" in sys.modules, "pipelines": sorted(text._tools)}), file=sys.stderr)
atexit.register(report)
from cli.main import main
sys.argv = ["lnob", *sys.argv[1:]]
main()
"""


def test_lnob_search_loads_neither_torch_nor_chroma_nor_other_languages_pipelines(base, tmp_path):
    evidence = copy_of(base, tmp_path)
    data_dir = str(evidence.settings.resolved_data_dir)
    env = {"PATH": "/usr/bin:/bin", "LNOB_PSEUDONYM_KEY": TEST_KEY, "HOME": str(tmp_path)}
    runs = []
    for _ in range(2):  # the first search builds and saves the index, the second loads it
        result = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, "--data-dir", data_dir, "search",
                                 "the clinic is too far", "--json"], env=env, capture_output=True, text=True,
                                timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        runs.append((json.loads(result.stdout), json.loads(result.stderr.strip().splitlines()[-1])))
    (first, loaded_first), (second, loaded) = runs
    assert first["results"] and first == second
    assert "clinique" in " ".join(r["text"] for r in first["results"]).lower()  # found across languages
    for modules in (loaded_first, loaded):
        assert modules["torch"] is False and modules["chromadb"] is False
        assert modules["sentence_transformers"] is False and modules["themes"] is False
    assert loaded_first["pipelines"] == ["en", "es", "fr"]  # the first run tokenised the corpus
    assert loaded["pipelines"] == ["en"]  # the query's language only
