"""Evidence for the tests: single testimony drafts, and the analysed demo corpus the whole session shares.

The demo corpus is built one way only, by ``build_demo_corpus``: the demo CSV
(``corpus/samples``) with every third row under ``aggregate`` consent (rows
with contact details excepted) plus one testimony holding a phone number,
imported with the demo organisations, then analysed with seed 0.
``tests/conftest.py`` builds it once per session (the ``demo_corpus``
fixture); a test reads it as it is, or works on a copy where it writes
(``copy_data_dir`` says why the copy is made by ``cp`` in a child process)::

    def test_curation(demo_corpus, tmp_path):
        evidence = demo_corpus.copy(tmp_path / "data")

A variant with another consent pattern is derived from a copy
(``aggregate_every``), never embedded and analysed again.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from corpus.settings import Settings
from corpus.store import TestimonyDraft
from corpus.vocabulary import ConsentLevel

if TYPE_CHECKING:
    from analysis.evidence import EvidenceBase

TEST_KEY = "test-key-0123456789abcdef0123456789"

PHONE_TEXT = (
    "The nurse said to call her on +254 712 345 678 when my son is sick, but the clinic is three hours "
    "away on foot and there is no ambulance for our village."
)
PHONE_DIGITS = ("712 345 678", "712345678", "5555 1234")
PHONE_ROW_ID = "test-phone-0001"


def draft(text: str, **fields) -> TestimonyDraft:
    """A testimony draft, quotable and in English unless ``fields`` say otherwise."""
    fields.setdefault("consent_level", ConsentLevel.quote)
    fields.setdefault("language", "en")
    return TestimonyDraft(text=text, **fields)


@dataclass(frozen=True)
class DemoCorpus:
    """Where the shared, analysed demo corpus lies; read it as it is, ``copy`` it to change it."""

    data_dir: Path

    def settings(self, data_dir: Path | None = None) -> Settings:
        return Settings(data_dir=data_dir or self.data_dir, pseudonym_key=TEST_KEY, _env_file=None)

    def evidence(self) -> EvidenceBase:
        """An evidence base on the shared corpus itself (tests may add exports to it, not change testimonies)."""
        from analysis.evidence import EvidenceBase

        return EvidenceBase(self.settings())

    def copy(self, target: Path) -> EvidenceBase:
        """An evidence base on a private copy of the corpus at ``target``, with no exports yet."""
        from sqlmodel import Session, delete

        from analysis.evidence import EvidenceBase
        from corpus.exports import ExportFile

        copy_data_dir(self.data_dir, target)
        shutil.rmtree(target / "exports", ignore_errors=True)
        evidence = EvidenceBase(self.settings(target))
        with Session(evidence.store.engine) as session:  # the shared corpus's exports are not this copy's
            session.exec(delete(ExportFile))
            session.commit()
        return evidence


def copy_data_dir(source: Path, target: Path) -> None:
    """Copy a data dir (SQLite file, Chroma index, exports) that this process may hold open, from a child process.

    Copying it from this process would drop this process's locks on the SQLite
    files (POSIX releases all of a process's locks on a file when it closes any
    descriptor of it); another process could then reset the write-ahead log
    under the open connections ("disk I/O error").
    """
    if target.exists():
        raise FileExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", "--", str(source), str(target)], check=True)


def demo_rows_with_consent() -> list[dict[str, str]]:
    """The demo CSV's rows with a ``consent`` column (every third row aggregate-only), plus the phone testimony."""
    from analysis.ingest import DEMO_FILE

    with DEMO_FILE.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        has_phone = any(c.isdigit() for c in row["text"]) and "@" in row["text"]
        row["consent"] = "aggregate" if i % 3 == 1 and not has_phone else "quote"
    rows.append({**rows[0], "id": PHONE_ROW_ID, "kind": "testimony", "text": PHONE_TEXT, "language": "en",
                 "country": "KE", "region": "Turkana", "organisation": "cbm", "groups": "rural_or_remote",
                 "driver": "geography", "created_at": "2026-04-02T09:00:00Z", "consent": "quote"})
    return rows


def build_demo_corpus(data_dir: Path) -> DemoCorpus:
    """Import ``demo_rows_with_consent()`` with the demo organisations into ``data_dir`` and analyse it (seed 0)."""
    from analysis.analyse import Analysis
    from analysis.evidence import EvidenceBase
    from analysis.ingest import DEMO_ORGANISATIONS, DEMO_SPEC, run_import
    from corpus.db import make_engine, upgrade

    rows = demo_rows_with_consent()
    source = data_dir.parent / "demo_with_consent.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    corpus = DemoCorpus(data_dir=data_dir)
    settings = corpus.settings()
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    for code, name in DEMO_ORGANISATIONS.items():
        evidence.store.add_organisation(code, name)
    report = run_import(evidence, source, dataclasses.replace(DEMO_SPEC, consent_col="consent"), show_progress=False)
    assert report["added"] == len(rows) and not report["bad_rows"], report
    Analysis(evidence, random_state=0).run()
    checkpoint(evidence)
    return corpus


def aggregate_every(evidence: EvidenceBase, n: int) -> None:
    """Consent variant: every ``n``-th testimony's contributor on ``aggregate``, everyone else on ``quote``.

    Consent does not enter the analysis, so a variant keeps the corpus's
    embeddings and themes; the index metadata follows each change.
    """
    records = evidence.store.records()
    wanted = {r.contributor_id: "quote" for r in records}
    wanted.update({r.contributor_id: "aggregate" for r in records[::n]})
    from analysis.erasure import give_consent

    for contributor_id in sorted({r.contributor_id for r in records if r.consent_level != wanted[r.contributor_id]}):
        give_consent(evidence, contributor_id, wanted[contributor_id], "test-v1")
    checkpoint(evidence)


def checkpoint(evidence: EvidenceBase) -> None:
    """Everything in the SQLite main file, so that a copy of the data dir is whole."""
    from sqlalchemy import text

    with evidence.store.engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def phone_record(evidence: EvidenceBase):
    """The demo corpus's testimony that held a phone number."""
    return next(r for r in evidence.store.records() if PHONE_TEXT[:30] in r.text or "[PHONE] when my son" in r.text)


def file_text(path: Path) -> str:
    """The text of a CSV, Markdown or DOCX export."""
    if path.suffix == ".docx":
        import docx

        document = docx.Document(str(path))
        cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    return path.read_text(encoding="utf-8-sig")
