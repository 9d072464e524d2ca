"""Erasure reaches every word (issue 10): theme labels and keywords, export titles, file names and contents,
rebuilt reports, the bot's state, the SQLite files while someone reads them, and old index folders."""

from __future__ import annotations

import sqlite3
import threading
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from analysis.erasure import erase, give_consent
from corpus.chatstate import ChatStateStore
from corpus.settings import Settings
from corpus.store import TestimonyRecord
from tests.support.corpora import draft, file_text

RARE = "ramkumari"  # one contributor's own word, in their every testimony


def database_bytes(settings: Settings) -> bytes:
    """The SQLite file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in settings.resolved_data_dir.glob("lnob.sqlite3*") if p.is_file())


def shown_text(path: Path) -> str:
    """Everything a file shows, DOCX included (its XML, so nothing python-docx skips is missed)."""
    if path.suffix == ".docx":
        with zipfile.ZipFile(path) as archive:
            return file_text(path) + "".join(archive.read(n).decode("utf-8", "ignore") for n in archive.namelist())
    if path.suffix == ".png":
        return ""
    return file_text(path)


# -- theme labels and keywords, exports, reports -----------------------------------------------


def test_an_erased_contributors_word_leaves_every_label_keyword_export_title_file_and_report(demo_corpus, tmp_path):
    """A contributor's rare word that labelled a theme (an older analysis made such labels), a theme that is
    gone since, and a staff label; exports of the theme over other people's quotes, a report, and an older
    export already removed. After the erasure the word is nowhere: not in a label, a keyword, a title, a file
    name, a file, or the database's bytes; the staff label stays."""
    from analysis.explore import theme_quotes
    from analysis.reports import generate_report, registry_of, write_quotes

    evidence = demo_corpus.copy(tmp_path / "data")
    themes = evidence.themes
    labelled, staff_named, retired = themes.themes()[:3]
    person = evidence.store.get_or_create_contributor("partner-17", "import", organisation="cbm")
    give_consent(evidence, person.id, "quote", "v1")
    texts = [f"{RARE.title()} and her goats lost the field when the river flooded the village",
             f"Since the flood {RARE.title()} sleeps at the school with the other families",
             f"{RARE.title()} asks who will rebuild the bridge the water took"]
    mine = [evidence.ingest(draft(t, contributor_id=person.id, country="NP"), index_now=False) for t in texts]
    no_drivers = {"primary": None, "intersecting": [], "scores": {}}
    themes.assign_provisional([(t.id, labelled.id, 0.99, no_drivers) for t in mine[:2]]
                              + [(mine[2].id, staff_named.id, 0.99, no_drivers)])
    themes.reassign(retired.id, labelled.id)
    poisoned = f"{RARE} · {labelled.label.split(' · ')[0]}"
    themes.update_keywords([
        (labelled.id, poisoned, [[RARE, 0.9], *labelled.keywords], {"en": [[RARE, 0.9]]}),
        (staff_named.id, staff_named.label, [[RARE, 0.7], *staff_named.keywords], staff_named.keywords_by_language),
        (retired.id, f"{RARE} shed · water", [[RARE, 0.5], ["water", 0.4]], {"en": [[RARE, 0.5]]}),
    ])
    themes.rename(staff_named.id, "Floods and the fields they take")
    themes.retire(retired.id, None)

    others = [q for q in theme_quotes(evidence, labelled.id, n=6) if q.id not in {t.id for t in mine}]
    title = f"Theme {labelled.id}: {poisoned}"
    params = {"theme_id": labelled.id}
    exports = [write_quotes(evidence, others, fmt, title=title, kind="theme-quotes", params=params)[1]
               for fmt in ("csv", "md", "docx")]
    _, earlier = write_quotes(evidence, others, "csv", title=title, kind="theme-quotes", params=params)
    registry = registry_of(evidence)
    registry.remove(earlier.id)
    report = generate_report(evidence, None, "md")
    assert RARE in registry.absolute(registry.get(report.export_id)).read_text().lower()
    assert all(RARE in e.path for e in exports)

    erased = erase(evidence, contributor_id=person.id)

    assert set(erased.testimonies) == {t.id for t in mine}
    assert {labelled.id, retired.id, staff_named.id} <= set(erased.themes_relabelled)
    for theme in themes.themes(include_inactive=True):
        words = [w for w, _ in theme.keywords] + [w for pairs in theme.keywords_by_language.values() for w, _ in pairs]
        assert RARE not in theme.label.lower() and RARE not in words, (theme.id, theme.status, theme.label)
    assert themes.theme(staff_named.id).label == "Floods and the fields they take"
    assert themes.theme(retired.id).status == "gone"
    for export in registry.list(status=None):
        assert RARE not in export.title.lower() and RARE not in export.path.lower(), export
        assert not any(RARE in f.lower() for f in export.files or [])
    for export in registry.list():
        for path in registry.all_paths(export):
            assert RARE not in shown_text(path).lower(), path
    for old in exports:  # rebuilt over the other people's quotes, under the theme's new label
        new = registry.get(registry.get(old.id).replaced_by)
        assert new.status == "present" and new.title == f"Theme {labelled.id}: {themes.theme(labelled.id).label}"
        assert new.testimony_ids == [q.id for q in others if q.id in new.testimony_ids] and new.testimony_ids
    assert registry.get(report.export_id).replaced_by  # the report was rebuilt without the word
    assert erased.journal.complete
    evidence.store.engine.dispose()
    assert RARE.encode() not in database_bytes(evidence.settings).lower()


def test_analysis_keywords_and_labels_rest_on_small_cell_contributors(demo_corpus, tmp_path):
    """Every keyword and label word of an analysis is used by at least LNOB_SMALL_CELL contributors of its theme."""
    from analysis.drivers import Codebook
    from analysis.text import TextProcessor

    evidence = demo_corpus.copy(tmp_path / "data")
    codebook = Codebook.load(evidence.settings.codebook_path)
    small = evidence.settings.small_cell
    records = {r.id: r for r in evidence.store.records()}
    processor = TextProcessor()
    checked = 0
    for theme in evidence.themes.themes():
        members = [records[m.testimony_id] for m in evidence.themes.members(theme.id) if m.testimony_id in records]
        tokens, bigrams = processor.tokens_and_bigrams_many([r.text for r in members], [r.language for r in members])
        people: dict[str, set] = {}
        for record, words, pairs in zip(members, tokens, bigrams):
            for word in set(words) | set(pairs):
                people.setdefault(word, set()).add(record.contributor_id or record.id)
        # a theme no shared word can label is named from the codebook (driver · sub-driver): no one's words
        from_codebook = theme.label == codebook.theme_name(theme.primary_driver, theme.subdriver)
        shown = [w for w, _ in theme.keywords] + ([] if from_codebook else [p.strip() for p in theme.label.split("·")])
        for word in shown:
            assert len(people.get(word, ())) >= small, (theme.id, word, len(people.get(word, ())))
            checked += 1
    assert checked


# -- the Python entry point clears the bot's state -------------------------------------------


def test_erase_contributor_clears_the_persons_bot_state(evidence, migrated_settings):
    check_bot_state_is_cleared(evidence, migrated_settings)


def test_erase_contributor_clears_the_persons_bot_state_on_postgresql(postgres_url, tmp_path):
    from analysis.evidence import EvidenceBase
    from corpus.db import make_engine, upgrade

    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url,
                        pseudonym_key="test-key-0123456789abcdef0123456789", _env_file=None)
    upgrade(make_engine(postgres_url))
    evidence = EvidenceBase(settings)
    check_bot_state_is_cleared(evidence, settings)
    assert erase(evidence, testimony_ids=[]).journal.complete  # nothing to wipe: PostgreSQL's files are not ours
    evidence.store.engine.dispose()


def check_bot_state_is_cleared(evidence, migrated_settings):
    store = evidence.store
    person = store.get_or_create_contributor(777001)  # a Telegram contributor
    give_consent(evidence, person.id, "quote", "v1")
    evidence.ingest(draft("The water point has been broken since March.", contributor_id=person.id), index_now=False)
    states = ChatStateStore(store.engine, migrated_settings.resolved_pseudonym_key)
    states.apply([
        ("user_data", "777001", {"consented": True, "draft": {"text": "half-told story about the landlord"}}),
        ("conversation:contribute", "[777001, 777001]", 3),
        ("user_data", "777002", {"consented": True}),
        ("conversation:contribute", "[777002, 777002]", 2),
        ("staff_menu", "a" * 64, {"chat": 5, "role": "admin"}),
    ])

    report = erase(evidence, contributor_id=person.id)

    assert report.bot_state_rows == 2 and report.contributor
    assert states.load("user_data") == {"777002": {"consented": True}}
    assert states.load("conversation:contribute") == {"[777002, 777002]": 2}
    assert states.count("staff_menu") == 1


# -- the bytes leave the SQLite files even while someone reads -----------------------------------


def hold_a_reader(settings: Settings) -> sqlite3.Connection:
    """A second connection in the middle of a read transaction (as the bot or another command may be)."""
    reader = sqlite3.connect(settings.resolved_data_dir / "lnob.sqlite3", check_same_thread=False, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM testimony").fetchone()
    return reader


def stored_secret(evidence, text: str):
    person = evidence.store.get_or_create_contributor(881001)
    give_consent(evidence, person.id, "quote", "v1")
    evidence.ingest(draft(text, contributor_id=person.id), index_now=False)
    with evidence.store.engine.connect() as connection:  # the text in the main file, as after any checkpoint
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert b"Zerubabel" in database_bytes(evidence.settings)
    return person


def test_erasure_waits_for_a_reader_then_the_bytes_are_gone(evidence, migrated_settings):
    person = stored_secret(evidence, "Zerubabel the landlord took our deposit and the village chief laughed.")
    reader = hold_a_reader(migrated_settings)

    def leave():
        reader.execute("COMMIT")
        reader.close()

    timer = threading.Timer(1.0, leave)
    timer.start()
    report = erase(evidence, contributor_id=person.id)
    timer.join()

    assert report.journal.complete and report.journal.retried and report.to_dict()["wipe_attempts"] > 1
    evidence.store.engine.dispose()
    assert b"Zerubabel" not in database_bytes(migrated_settings)


def test_an_erasure_a_reader_outlasts_says_so_and_the_next_wipe_finishes_it(tmp_path):
    from analysis.evidence import EvidenceBase
    from corpus.db import make_engine, upgrade

    settings = Settings(data_dir=tmp_path / "data", pseudonym_key="test-key-0123456789abcdef0123456789",
                        erase_wait_seconds=0.5, _env_file=None)
    upgrade(make_engine(settings.resolved_database_url))
    evidence = EvidenceBase(settings)
    person = stored_secret(evidence, "Zerubabel the landlord took our deposit and the village chief laughed.")
    reader = hold_a_reader(settings)

    report = erase(evidence, contributor_id=person.id)

    assert not report.journal.complete and report.journal.attempts > 1
    assert report.to_dict()["database_wiped"] is False
    assert b"Zerubabel" in database_bytes(settings)  # said, not hidden: the reader still sees the old page
    reader.execute("COMMIT")
    reader.close()
    assert evidence.store.wipe_journal().complete
    evidence.store.engine.dispose()
    assert b"Zerubabel" not in database_bytes(settings)


# -- index folders no collection uses --------------------------------------------------------------


def holds_vector(folder: Path, vector: np.ndarray) -> list[Path]:
    """The files under ``folder`` that hold ``vector`` as written, or unit-normalised as HNSW keeps it (to
    within float rounding), at any 4-byte alignment."""
    found = []
    for target in (vector, vector / np.linalg.norm(vector)):
        target = target.astype(np.float32)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            for offset in range(4):
                values = np.frombuffer(data[offset: offset + (len(data) - offset) // 4 * 4], dtype=np.float32)
                with np.errstate(invalid="ignore", over="ignore"):  # any bytes read as floats: NaNs, infinities
                    starts = np.flatnonzero(np.abs(values[: max(0, len(values) - len(target) + 1)] - target[0]) < 1e-6)
                    if any(np.allclose(values[i: i + len(target)], target, atol=1e-6) for i in starts):
                        found.append(path)
                        break
    return found


def records(n: int) -> list[TestimonyRecord]:
    now = datetime.now(timezone.utc)
    fields = dict(kind="testimony", text="", language="en", created_at=now, country="NP", region=None,
                  organisation=None, consent_level="quote", self_drivers=(), contributor_id=None, age_band=None,
                  gender=None, groups=(), source="test", index_status="indexed", text_hash="")
    return [TestimonyRecord(id=str(uuid.uuid4()), **fields) for _ in range(n)]


def test_reindex_removes_the_folders_of_dropped_collections_and_doctor_counts_every_stale_file(migrated_settings):
    """Chroma keeps a dropped collection's vector folder; with it, the vectors of erased contributions."""
    from analysis.evidence import EvidenceBase
    from analysis.index import VectorIndex, _Reopening

    index = VectorIndex(migrated_settings)
    evidence = EvidenceBase(migrated_settings, index=index)
    rows = records(1500)  # past Chroma's sync threshold, so the vectors are written to the segment's files
    vectors = np.random.default_rng(0).random((len(rows), 8)).astype(np.float32)
    index.upsert(rows, vectors)
    erased, chroma = vectors[7], migrated_settings.chroma_path
    assert holds_vector(chroma, erased)
    assert evidence.doctor()["stale_index_files"] == 0
    index.delete([rows[7].id])
    kept = [r for i, r in enumerate(rows) if i != 7]
    kept_vectors = np.delete(vectors, 7, axis=0)

    # a rebuild as it was done before: drop, recreate, fill; the old folder stays behind
    index.client.delete_collection(migrated_settings.chroma_collection)
    index.collection = _Reopening(index._open)
    index.upsert(kept, kept_vectors)
    assert holds_vector(chroma, erased)
    report = evidence.doctor()
    assert report["stale_index_files"] >= 1 and not report["ok"]

    index.reset()  # what `lnob reindex` does
    index.upsert(kept, kept_vectors)
    assert holds_vector(chroma, erased) == []
    assert evidence.doctor()["stale_index_files"] == 0
    assert len(index.ids()) == len(kept)
    assert index.query(kept_vectors[0], 1)[0].id == kept[0].id


# -- `lnob erase`: requests partners relay for imported contributors --------------------------------

KEY = "erase-test-key-0123456789abcdef0123456789"
FIRST = [("r1", "17", "NP", "The landlord Ghanashyam threw our things in the street."),
         ("r2", "17", "NP", "After that my daughter stopped going to school."),
         ("r3", "18", "NP", "The health post has no nurse since the election.")]
SECOND = [("x1", "17", "KE", "The county office asked for a bribe to register my shop.")]  # another person numbered 17


def run_lnob(data_dir: Path, *args: str, input: str | None = None):
    from click.testing import CliRunner

    from cli.main import cli

    env = {"LNOB_PSEUDONYM_KEY": KEY, "LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None}
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=env, input=input)


def partner_file(path: Path, rows) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "person", "country", "text"])
        writer.writerows(rows)
    return path


def test_lnob_erase_a_partners_contributor_or_one_testimony_with_confirmation_audit_and_json(tmp_path):
    import json

    from analysis.evidence import EvidenceBase
    from corpus.staff import StaffStore

    data_dir = tmp_path / "data"
    assert run_lnob(data_dir, "db", "upgrade").exit_code == 0
    assert run_lnob(data_dir, "org", "add", "Plan", "--code", "plan").exit_code == 0
    common = ["--id-col", "id", "--contributor-col", "person", "--country-col", "country", "--language", "en",
              "--consent", "quote", "--org", "plan", "--json"]
    for name, rows, extra in (("data.csv", FIRST, []), ("other.csv", SECOND, ["--source", "plan-ke"])):
        result = run_lnob(data_dir, "import", str(partner_file(tmp_path / name, rows)), *common, *extra)
        assert result.exit_code == 0, result.output
    evidence = EvidenceBase(Settings(data_dir=data_dir, pseudonym_key=KEY, _env_file=None))
    by_text = {r.text[:12]: r.id for r in evidence.store.records()}
    assert len(by_text) == 4

    ambiguous = run_lnob(data_dir, "erase", "--contributor", "17", "--org", "plan", "--yes")
    assert ambiguous.exit_code == 1 and "--source" in ambiguous.output and "plan/data.csv" in ambiguous.output
    assert "17" not in ambiguous.output.replace("plan/data.csv", "")  # the partner's id is not echoed
    assert run_lnob(data_dir, "erase", "--contributor", "17").exit_code == 1  # --org is needed
    kept = run_lnob(data_dir, "erase", "--contributor", "17", "--org", "plan", "--source", "plan/data.csv", input="n\n")
    assert kept.exit_code == 1 and "2 contributions" in kept.output and "Aborted" in kept.output
    assert len(evidence.store.all_ids()) == 4

    erased = run_lnob(data_dir, "erase", "--contributor", "17", "--org", "plan", "--source", "plan/data.csv", "--json",
                      input="y\n")
    assert erased.exit_code == 0, erased.output
    payload = json.loads(erased.output.strip().splitlines()[-1])
    mine = {by_text[FIRST[0][3][:12]], by_text[FIRST[1][3][:12]]}
    assert payload["erased"] == "contributor" and set(payload["testimonies"]) == mine and payload["contributor"]
    assert payload["vectors"] == 2 and payload["database_wiped"] is True
    assert evidence.store.all_ids() == set(by_text.values()) - mine  # the other 17 (plan-ke) is still there

    one = by_text[FIRST[2][3][:12]]
    printed = run_lnob(data_dir, "erase", "--testimony", one[:8], "--yes")
    assert printed.exit_code == 0, printed.output
    assert f"erased 1 contribution: {one}" in printed.output
    assert "old bytes in the database files: wiped" in printed.output
    assert one not in evidence.store.all_ids()

    entries = StaffStore(evidence.store.engine, KEY.encode()).audit_entries(limit=10)
    audited = [e for e in entries if e.action.startswith("erase.")]
    assert [e.action for e in audited] == ["erase.testimony", "erase.contributor"]
    assert [e.result_size for e in audited] == [1, 2] and audited[1].params["org"] == "plan"
    logged = json.dumps([e.params for e in audited])
    assert "17" not in logged and not any(t[3][:12] in logged or t[0] in logged for t in FIRST) and one not in logged
