"""The record of spaCy pipelines that loaded here: a later process names them without loading them, and
anything that changed, or never loaded, is loaded (or refused) again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import pipeline_record
from corpus.pipeline_record import RECORD_NAME, fingerprint, loaded_before, remember_loaded

ROOT = Path(__file__).resolve().parents[1]

ANSWER = """
import json, sys
from corpus.redaction import ner_languages
print(json.dumps({"answer": ner_languages(["en", "fr", "sw"]), "spacy_imported": "spacy" in sys.modules}))
"""


def answer_in_a_new_process(cache: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", ANSWER], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "LNOB_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"},
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # two processes, the first loading the English and French pipelines
def test_a_later_process_names_the_pipelines_without_loading_them(tmp_path):
    first = answer_in_a_new_process(tmp_path / "cache")
    assert first["spacy_imported"]  # nothing recorded yet: the pipelines were loaded to find out
    assert first["answer"]["sw"] is None and first["answer"]["en"] and first["answer"]["fr"]
    recorded = json.loads((tmp_path / "cache" / RECORD_NAME).read_text(encoding="utf-8"))
    assert set(recorded) == {first["answer"]["en"], first["answer"]["fr"]}  # package names and digests only

    second = answer_in_a_new_process(tmp_path / "cache")
    assert second == {"answer": first["answer"], "spacy_imported": False}


@pytest.fixture
def fake_pipeline(tmp_path, monkeypatch) -> Path:
    """An installed-looking package ``lnob_fake_pipeline`` (never loaded by spaCy) and an empty model cache."""
    root = tmp_path / "site" / "lnob_fake_pipeline"
    (root / "ner").mkdir(parents=True)
    (root / "__init__.py").write_text("", encoding="utf-8")
    (root / "ner" / "model").write_bytes(b"weights")
    monkeypatch.syspath_prepend(str(root.parent))
    monkeypatch.setenv("LNOB_CACHE_DIR", str(tmp_path / "cache"))
    return root


def test_only_the_same_files_and_libraries_count_as_loaded_before(fake_pipeline, monkeypatch):
    name = fake_pipeline.name
    assert fingerprint(name) is not None and not loaded_before(name)  # installed, never loaded: not promised
    remember_loaded(name)
    assert loaded_before(name)

    (fake_pipeline / "ner" / "model").write_bytes(b"other weights")  # a changed file: load it again
    assert not loaded_before(name)
    remember_loaded(name)
    assert loaded_before(name)

    real_version = pipeline_record.version
    monkeypatch.setattr(pipeline_record, "version", lambda library: "0.0" if library == "thinc" else real_version(library))
    assert not loaded_before(name)  # another thinc: load it again


def test_no_package_no_record_or_an_unreadable_one_promises_nothing(fake_pipeline, tmp_path):
    assert fingerprint("lnob_no_such_pipeline") is None and not loaded_before("lnob_no_such_pipeline")
    remember_loaded("lnob_no_such_pipeline")
    assert not (tmp_path / "cache" / RECORD_NAME).exists()
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / RECORD_NAME).write_text("{not json", encoding="utf-8")
    assert not loaded_before(fake_pipeline.name)
    remember_loaded(fake_pipeline.name)  # a damaged record is replaced whole
    assert loaded_before(fake_pipeline.name)


def test_a_cache_that_cannot_be_written_only_means_loading_each_time(fake_pipeline, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("LNOB_CACHE_DIR", str(blocker / "cache"))  # under a file: no folder can be made
    remember_loaded(fake_pipeline.name)
    assert not loaded_before(fake_pipeline.name)
