"""The language of every text: detected offline, the declared language only a hint, stored with its confidence.

Real components: the model shipped inside py3langid, a migrated SQLite file,
a real (blank, rule-based) spaCy pipeline to see which language redaction
gets; the accuracy floor on the labelled disaster-response messages.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from corpus.db import make_engine, upgrade
from corpus.errors import InvalidText
from corpus.language import (
    PARTNERSHIP_LANGUAGES,
    Detection,
    LanguageDetector,
    default_detector,
    detectable_text,
    model_languages,
    script_report,
)
from corpus.models import ConsentLevel, IndexStatus
from corpus.redaction import NAME, Redactor
from corpus.settings import Settings
from corpus.store import CorpusStore, TestimonyDraft
from corpus.validation import clean_text
from tests.support.disaster_response import mixed_language_messages

SENTENCES = {
    "en": "The road to the clinic was washed away, so mothers walk three hours to give birth.",
    "fr": "Depuis l'inondation, les enfants ne vont plus à l'école parce que le pont est tombé.",
    "es": "En nuestra comunidad no hay agua potable y las mujeres caminan horas para buscarla.",
    "pt": "A escola fica muito longe e as meninas deixam de estudar quando chegam aos doze anos.",
    "sw": "Hatuna maji safi kijijini kwetu na watoto wanaugua kila mwezi kwa sababu ya uchafu.",
    "ht": "Depi tranblemanntè a, nou pa gen kay, timoun yo ap dòmi deyò epi nou bezwen manje.",
    "ar": "لا توجد مدرسة قريبة من قريتنا، والبنات يتركن التعليم لأن الطريق غير آمن.",
    "bn": "আমাদের গ্রামে কোনো হাসপাতাল নেই, তাই অসুস্থ মানুষদের অনেক দূরে নিয়ে যেতে হয়।",
    "ne": "हाम्रो गाउँमा स्वास्थ्य चौकी छैन, त्यसैले बिरामीलाई बोकेर धेरै टाढा लैजानुपर्छ।",
    "hi": "हमारे गाँव में कोई स्कूल नहीं है, इसलिए बच्चों को बहुत दूर पैदल जाना पड़ता है।",
}
CREOLE = "Mwen rele Jean, lekòl la fèmen depi inondasyon an e pitit mwen yo pa gen kote pou yo aprann."


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, migrated_settings: Settings, tmp_path: Path) -> CorpusStore:
    """A store on a migrated SQLite file, and on the run's PostgreSQL database."""
    settings = migrated_settings
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        settings = Settings(data_dir=tmp_path / "pg", database_url=url, pseudonym_key="test-key-0123456789abcdef0123456789", _env_file=None)
        upgrade(make_engine(url))
    return CorpusStore(settings, redactor=Redactor(use_ner=False))


def draft(text: str, language: str | None = None) -> TestimonyDraft:
    return TestimonyDraft(text=text, language=language, consent_level=ConsentLevel.quote)


# -- detection -------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_detects_each_required_language(detector: LanguageDetector, code: str):
    detection = detector.detect(SENTENCES[code])
    assert detection == Detection(code=code, confidence=detection.confidence, from_hint=False)
    assert detection.confidence > 0.9


def test_the_default_candidates_cover_the_required_languages_and_the_model_knows_them():
    required = {"en", "fr", "es", "pt", "sw", "ht", "ar", "bn", "ne", "hi"}
    assert required | {"ur", "so", "am", "ps", "fa", "id", "tl", "vi", "zh", "ru"} <= set(PARTNERSHIP_LANGUAGES)
    assert set(PARTNERSHIP_LANGUAGES) <= model_languages()
    with pytest.raises(ValueError, match="does not know: klingon"):
        LanguageDetector(["en", "klingon"])


def test_placeholders_urls_and_digits_do_not_sway_it(detector: LanguageDetector):
    noisy = "[PHONE] [PHONE] [EMAIL] https://example.org/help 2010 12 45 Nou bezwen dlo ak manje pou timoun yo [NAME]"
    assert detectable_text(noisy) == "Nou bezwen dlo ak manje pou timoun yo"
    assert detector.detect(noisy).code == "ht"
    assert detector.detect("PLEASE SEND WATER AND FOOD TO THE CHURCH NEAR THE MARKET").code == "en"


def test_a_french_hint_does_not_override_creole_text(detector: LanguageDetector):
    detection = detector.detect(CREOLE, hint="fr")
    assert (detection.code, detection.from_hint) == ("ht", False)
    assert detection.confidence > 0.9


def test_short_or_doubtful_text_falls_back_to_the_hint(detector: LanguageDetector):
    short = detector.detect("Merci", hint="fr")
    assert (short.code, short.from_hint) == ("fr", True)
    assert 0.0 <= short.confidence < 0.8  # the model's probability for the hint's language
    wrong = detector.detect("Water please", hint="sw")
    assert (wrong.code, wrong.from_hint) == ("sw", True)
    assert wrong.confidence < 0.1  # a hint the text does not bear out shows as a low confidence
    assert detector.detect("Water please").from_hint is False  # without a hint the best guess stands
    assert detector.detect("Asante", hint="sw").code == "sw"


def test_a_short_text_the_model_is_sure_of_overrules_the_hint(detector: LanguageDetector):
    detection = detector.detect("Mwen malad", hint="fr")
    assert (detection.code, detection.from_hint) == ("ht", False)
    assert detection.confidence >= 0.8


def test_an_agreeing_hint_keeps_its_region_and_a_rare_one_becomes_a_candidate(detector: LanguageDetector):
    agreed = detector.detect("Precisamos de água e comida para as crianças da nossa aldeia", hint="pt-BR")
    assert (agreed.code, agreed.from_hint) == ("pt-br", False)
    assert "qu" in model_languages() and "qu" not in PARTNERSHIP_LANGUAGES
    ranked = dict(detector.rank("Ñuqanchikpa llaqtanchikpiqa manam yaku kanchu", hint="qu"))
    assert "qu" in ranked and "qu" not in dict(detector.rank("Ñuqanchikpa llaqtanchikpiqa manam yaku kanchu"))


def test_scripts_written_without_spaces_are_not_too_short(detector: LanguageDetector):
    detection = detector.detect("我们村子里没有干净的水，孩子们经常生病。", hint="en")
    assert (detection.code, detection.from_hint) == ("zh", False)


def test_one_detector_is_shared_safely_between_threads():
    texts = list(SENTENCES.values()) * 20
    expected = [default_detector().detect(t) for t in texts]
    results: dict[int, list[Detection]] = {}

    def work(slot: int) -> None:
        results[slot] = [default_detector().detect(t) for t in texts]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(found == expected for found in results.values())
    assert default_detector() is default_detector()


# -- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["😀🙏🏽🌧️", "12345 678", "!!! ??? ...", "🇭🇹 ❤️ 100%"])
def test_text_without_letters_is_refused(text: str):
    with pytest.raises(InvalidText, match="no letters, only digits, symbols or emoji"):
        clean_text(text, 1000)


@pytest.mark.parametrize(
    ("text", "script"),
    [("ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎤᏍᏗ", "Cherokee"), ("ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵏⴰⵍⵜ", "Tifinagh"), ("ߒߞߏ ߞߊ߲ ߛߓߍߛߎ߲", "Nko")],
)
def test_text_in_an_unsupported_script_is_refused_naming_the_script(text: str, script: str):
    with pytest.raises(InvalidText, match=f"script that cannot be processed yet \\({script}\\)"):
        clean_text(text, 1000)


def test_supported_scripts_symbols_and_styled_letters_pass():
    for text in SENTENCES.values():
        assert clean_text(text, 1000) == text
    assert clean_text("We need water 💧🙏", 1000) == "We need water 💧🙏"
    assert script_report("ｗｅ ｎｅｅｄ ｗａｔｅｒ").readable  # fullwidth letters fold to Latin
    assert script_report("ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ok").readable is False  # mostly an unsupported script
    assert script_report("ᏣᎳᎩ water for the children").readable


def test_the_older_messages_still_come_first():
    with pytest.raises(InvalidText, match="the text is empty"):
        clean_text("   ", 1000)
    with pytest.raises(InvalidText, match="control characters"):
        clean_text("😀\x00", 1000)


def test_the_store_refuses_emoji_only_and_keeps_nothing(store: CorpusStore):
    with pytest.raises(InvalidText, match="no letters"):
        store.add_testimonies([draft(SENTENCES["en"], "en"), draft("🙏🙏", "en")])
    assert store.records() == []


# -- storage ---------------------------------------------------------------------------


def test_the_store_keeps_the_declared_language_and_stores_the_detected_one(store: CorpusStore):
    creole, short, plain = store.add_testimonies(
        [draft(CREOLE, "fr"), draft("Merci", "fr"), draft(SENTENCES["sw"])]
    )
    records = {r.id: r for r in store.records()}

    assert (records[creole.id].language, records[creole.id].declared_language) == ("ht", "fr")
    assert records[creole.id].language_confidence > 0.9
    assert (records[short.id].language, records[short.id].declared_language) == ("fr", "fr")  # too short to tell
    assert records[short.id].language_confidence < 0.5
    assert (records[plain.id].language, records[plain.id].declared_language) == ("sw", None)
    assert store.get_testimony(creole.id).language_confidence == records[creole.id].language_confidence


def test_redaction_gets_the_detected_language(migrated_settings: Settings):
    import spacy

    creole_names = spacy.blank("xx")
    creole_names.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": "Jean"}])
    redactor = Redactor(use_ner=True, pipelines={"ht": creole_names, "fr": spacy.blank("fr")})
    store = CorpusStore(migrated_settings, redactor=redactor)

    testimony = store.add_testimony(draft(CREOLE, "fr"))
    assert NAME in testimony.redacted_text and "Jean" not in testimony.redacted_text


def test_redetect_fills_rows_stored_before_detection(store: CorpusStore):
    creole, english = store.add_testimonies([draft(CREOLE, "fr"), draft(SENTENCES["en"], "en")])
    with store.engine.begin() as connection:  # as rows stored before this change look after the migration
        connection.execute(sa.text("UPDATE testimony SET language = declared_language, language_confidence = NULL"))
    assert {r.id: r.language for r in store.records()} == {creole.id: "fr", english.id: "en"}

    store.mark_index_status([creole.id, english.id], IndexStatus.indexed)

    assert store.redetect_languages(batch=1) == 2
    records = {r.id: r for r in store.records()}
    assert (records[creole.id].language, records[creole.id].declared_language) == ("ht", "fr")
    assert records[creole.id].language_confidence > 0.9 and records[english.id].language_confidence > 0.9
    # the index keeps the language for its filters: only the row whose language changed is indexed again
    assert (records[creole.id].index_status, records[english.id].index_status) == ("pending", "indexed")
    assert store.redetect_languages() == 0  # nothing left to do


def test_the_migration_keeps_the_old_language_as_the_declared_one(settings: Settings):
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine, "0006")
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO testimony (id, kind, text, redacted_text, language, created_at, source, consent_level, "
            "self_drivers, text_hash, index_status) VALUES ('00000000-0000-0000-0000-000000000001', 'testimony', "
            ":text, :text, 'fr', '2026-01-01 00:00:00', 'import', 'quote', '[]', 'h', 'indexed')"
        ), {"text": CREOLE})
    upgrade(engine)

    store = CorpusStore(settings, engine=engine, redactor=Redactor(use_ner=False))
    (record,) = store.records()
    assert (record.language, record.declared_language, record.language_confidence) == ("fr", "fr", None)
    assert store.redetect_languages() == 1
    (record,) = store.records()
    assert (record.language, record.declared_language) == ("ht", "fr") and record.language_confidence > 0.9
    engine.dispose()


# -- accuracy on labelled data ---------------------------------------------------------


@pytest.mark.shared_data
def test_english_messages_and_their_originals_are_told_apart(shared_data: Path, detector):
    messages = mixed_language_messages(shared_data)  # the messages bench/bench_language.py measures too
    assert len(messages) == 953  # the set ../shared/tools/mixed-language-set writes to originals.csv
    english = [detector.detect(m.message).code == "en" for m in messages]
    originals = [detector.detect(m.original).code for m in messages]
    both = sum(e and o != "en" for e, o in zip(english, originals)) / len(messages)
    assert both >= 0.95, f"only {both:.3f} of the messages detected en with their original not en"
    assert sum(english) / len(messages) >= 0.95
    assert originals.count("ht") >= 0.75 * len(messages)  # mostly Haitian Creole, as the data's README says


# -- the model kept uncompressed in the user's cache (one-shot commands load it faster) --------------------------


SAMPLES = ["Mwen bezwen dlo ak manje pou timoun yo", "no clinic nearby", "L'eau du puits est sale", "Hakuna shule hapa"]


def _ranks(identifier) -> list[list[tuple[str, float]]]:
    return [identifier.rank(text)[:3] for text in SAMPLES]


def test_the_model_is_kept_uncompressed_in_the_cache_and_reads_back_the_same(tmp_path, monkeypatch):
    from py3langid.langid import LanguageIdentifier, MODEL_FILE

    from corpus import language

    monkeypatch.setenv("LNOB_CACHE_DIR", str(tmp_path / "cache"))
    shipped = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    first = language._full_model()  # decompresses and keeps the copy
    kept = list((tmp_path / "cache").glob("py3langid-*.npz"))
    assert len(kept) == 1 and kept[0].stat().st_size > 10 * (tmp_path / "cache").stat().st_size
    assert not list((tmp_path / "cache").glob(".partial-*"))
    second = language._full_model()  # read from the copy
    assert _ranks(first) == _ranks(second) == _ranks(shipped)
    assert first.nb_classes == second.nb_classes == shipped.nb_classes


def test_a_damaged_copy_is_made_again_and_an_unwritable_cache_still_loads_the_model(tmp_path, monkeypatch, caplog):
    from py3langid.langid import LanguageIdentifier, MODEL_FILE

    from corpus import language

    shipped = _ranks(LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True))
    monkeypatch.setenv("LNOB_CACHE_DIR", str(tmp_path / "cache"))
    language._full_model()
    (copy,) = (tmp_path / "cache").glob("py3langid-*.npz")
    copy.write_bytes(copy.read_bytes()[: 1000])  # cut short, as by a full disk
    assert _ranks(language._full_model()) == shipped
    assert copy.stat().st_size > 1_000_000  # made again
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LNOB_CACHE_DIR", str(blocker / "cache"))
    assert _ranks(language._full_model()) == shipped
