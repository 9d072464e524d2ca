"""Quote exports and the export registry: consent re-checked, redacted text only, provenance, erasure.

On the session's analysed demo corpus (``demo_corpus`` in tests/conftest.py:
every third row under ``aggregate`` consent and a testimony holding a phone
number). Tests that change the corpus work on a copy (``corpus_copy``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.support.corpora import PHONE_DIGITS, file_text, phone_record


@pytest.fixture(scope="module")
def corpus(demo_corpus):
    """The shared analysed demo corpus (read-only for tests: they may add exports, not change testimonies)."""
    return demo_corpus.evidence()


@pytest.fixture
def corpus_copy(demo_corpus, tmp_path: Path):
    """A private copy of the corpus for tests that erase or curate."""
    return demo_corpus.copy(tmp_path / "data")


def aggregate_texts(evidence) -> list[str]:
    return [r.text for r in evidence.store.records() if not r.quotable]


def biggest_theme(evidence) -> int:
    from analysis.explore import list_themes

    return list_themes(evidence)[0]["id"]


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# -- the registry ---------------------------------------------------------------------


def test_registry_records_finds_and_removes(migrated_settings):
    from corpus.db import make_engine
    from corpus.exports import ExportRegistry

    registry = ExportRegistry(make_engine(migrated_settings.resolved_database_url), migrated_settings.exports_dir)
    first = migrated_settings.exports_dir / "a.csv"
    second = migrated_settings.exports_dir / "b.md"
    chart = migrated_settings.exports_dir / "b-chart.png"
    for path in (first, second, chart):
        path.write_text("x")
    a = registry.record(first, kind="theme-quotes", format="csv", testimony_ids=["t1", "t2"], params={"theme_id": 3})
    b = registry.record(second, kind="report", format="md", testimony_ids=["t2", "t3"], files=[chart], created_by="staff-abc")
    assert a.path == "exports/a.csv" and b.files == ["exports/b-chart.png"] and b.created_by == "staff-abc"
    assert [e.id for e in registry.list()] == [b.id, a.id]
    assert [e.id for e in registry.containing(["t1"])] == [a.id]
    assert {e.id for e in registry.containing(["t2", "zz"])} == {a.id, b.id}
    assert registry.containing([]) == []

    removed = registry.remove_containing(["t3"])
    assert set(removed) == {second.resolve(), chart.resolve()}
    assert not second.exists() and not chart.exists() and first.exists()
    gone = registry.get(b.id)
    assert gone.status == "removed" and gone.removed_at is not None
    assert gone.testimony_ids == ["t2"]  # the erased id leaves no trace
    assert [e.id for e in registry.list()] == [a.id]
    assert {e.id for e in registry.list(status=None)} == {a.id, b.id}
    assert registry.remove_containing(["t3"]) == []

    with pytest.raises(ValueError, match="not under the exports dir"):
        registry.record(migrated_settings.resolved_data_dir / "elsewhere.csv", kind="x", format="csv", testimony_ids=[])


# -- quote exports --------------------------------------------------------------------


def test_theme_export_csv_has_provenance_and_only_consented_redacted_text(corpus):
    from analysis.explore import theme_members, theme_quotes
    from analysis.reports import QUOTE_COLUMNS, export_quotes, registry_of

    theme_id = biggest_theme(corpus)
    members = theme_members(corpus, theme_id)
    assert any(not r.quotable for r in members), "the test corpus should have aggregate members in this theme"
    quotes = theme_quotes(corpus, theme_id, n=500)
    path = export_quotes(corpus, quotes, "csv", title=f"Theme {theme_id}", kind="theme-quotes", params={"theme_id": theme_id})

    assert path.parent == corpus.settings.exports_dir and path.suffix == ".csv"
    rows = read_csv(path)
    assert tuple(rows[0]) == QUOTE_COLUMNS
    by_id = {r.id: r for r in corpus.store.records([row["testimony_id"] for row in rows])}
    assert len(by_id) == len(rows) == len(quotes)
    for row in rows:
        record = by_id[row["testimony_id"]]
        assert record.quotable
        assert row["text"] == record.text  # the redacted text
        assert row["date"] == record.created_at.date().isoformat()
        assert (row["country"], row["organisation"], row["kind"], row["language"]) == (
            record.country, record.organisation, record.kind, record.language)
        assert row["theme"].startswith(f"{theme_id}: ")
        assert row["drivers"] and set(row["drivers"].split(";")) <= {
            "discrimination", "geography", "governance", "socio_economic", "shocks"}
    export = next(e for e in registry_of(corpus).list() if registry_of(corpus).absolute(e) == path)
    assert export.kind == "theme-quotes" and export.format == "csv" and export.created_by == "cli"
    assert export.params == {"theme_id": theme_id, "format": "csv"}
    assert sorted(export.testimony_ids) == sorted(by_id)


def test_consent_is_rechecked_whatever_the_caller_passes(corpus):
    from analysis.reports import export_quotes, write_quotes

    aggregate = [r for r in corpus.store.records() if not r.quotable][:5]
    quotable = [r for r in corpus.store.records() if r.quotable][:2]
    ids = [r.id for r in aggregate + quotable]
    for fmt in ("csv", "md", "docx"):
        path, export = write_quotes(corpus, ids, fmt, title="A list a caller made up", kind="quotes")
        assert sorted(export.testimony_ids) == sorted(r.id for r in quotable)
        content = file_text(path)
        for record in aggregate:
            assert record.text not in content and record.id not in content
        for record in quotable:
            assert record.id in content
    path = export_quotes(corpus, [r.id for r in aggregate], "md", title="Nothing quotable")
    assert "No quotable testimonies" in path.read_text()


def test_exports_hold_the_redacted_text_never_the_phone_number(corpus):
    from analysis.reports import export_quotes

    record = phone_record(corpus)
    assert record.quotable and "[PHONE]" in record.text
    mateo = next(r for r in corpus.store.records() if "Mateo" in r.text or "[EMAIL]" in r.text)
    for fmt in ("csv", "md", "docx"):
        content = file_text(export_quotes(corpus, [record.id, mateo.id], fmt, title="Phones", kind="quotes"))
        if fmt == "md":  # Markdown escapes the brackets so that they stay text: \[PHONE\] reads [PHONE]
            content = content.replace("\\[", "[").replace("\\]", "]")
        assert "[PHONE]" in content and "[EMAIL]" in content
        assert not any(digits in content for digits in PHONE_DIGITS)
        assert "mateo.lopez@example.org" not in content


def test_docx_export_opens_and_holds_quotes_with_provenance(corpus):
    import docx

    from analysis.explore import theme_quotes
    from analysis.reports import export_quotes

    theme_id = biggest_theme(corpus)
    quotes = theme_quotes(corpus, theme_id, n=5)
    path = export_quotes(corpus, quotes, "docx", title=f"Theme {theme_id} quotes", kind="theme-quotes")
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == f"Theme {theme_id} quotes"
    quoted = [p.text for p in document.paragraphs if p.style.name == "Quote"]
    assert quoted == [q.text for q in quotes]
    for quote in quotes:
        line = next(p for p in paragraphs if p.startswith(f"testimony {quote.id}"))
        assert quote.date in line and quote.country in line and quote.kind in line


def test_markdown_export(corpus):
    from analysis.explore import theme_quotes
    from analysis.reports import export_quotes

    theme_id = biggest_theme(corpus)
    quotes = theme_quotes(corpus, theme_id, n=4)
    content = export_quotes(corpus, quotes, "md", title="Theme quotes", kind="theme-quotes").read_text()
    assert content.startswith("# Theme quotes\n")
    for quote in quotes:
        assert f"> — testimony {quote.id} · {quote.date} · {quote.country}" in content


def test_search_export(corpus):
    from analysis.reports import registry_of, write_quotes
    from analysis.search import SearchFilter, Searcher

    results = Searcher(corpus).search("the clinic is too far away", 20, SearchFilter(country="KE"))
    assert results
    path, export = write_quotes(corpus, results, "csv", title="Search: clinic far", kind="search",
                                params={"query": "the clinic is too far away", "country": "KE"})
    rows = read_csv(path)
    assert [r["testimony_id"] for r in rows] == [r.id for r in results]
    assert {r["country"] for r in rows} == {"KE"}
    assert export.kind == "search" and export.params["query"] == "the clinic is too far away"
    assert not set(aggregate_texts(corpus)) & {r["text"] for r in rows}
    assert registry_of(corpus).get(export.id).testimony_ids == [r.id for r in results]


def test_hidden_quotes_are_never_exported(corpus_copy):
    from corpus.curation import CurationStore

    from analysis.explore import theme_quotes
    from analysis.reports import write_quotes

    theme_id = biggest_theme(corpus_copy)
    quotes = theme_quotes(corpus_copy, theme_id, n=5)
    CurationStore(corpus_copy.store.engine).hide(quotes[0].id, "identifiable detail", staff="staff-1")
    _, export = write_quotes(corpus_copy, quotes, "csv", title="t", kind="theme-quotes")
    assert quotes[0].id not in export.testimony_ids and len(export.testimony_ids) == len(quotes) - 1


def test_erasing_a_contributor_removes_and_rewrites_the_exports_that_quoted_them(corpus_copy):
    from analysis.erasure import erase_contributor
    from analysis.explore import theme_quotes
    from analysis.reports import erase_exports_for, registry_of, write_quotes

    theme_id = biggest_theme(corpus_copy)
    quotes = theme_quotes(corpus_copy, theme_id, n=4)
    erased = corpus_copy.store.records([quotes[0].id])[0]
    path, export = write_quotes(corpus_copy, quotes, "csv", title="t", kind="theme-quotes", params={"theme_id": theme_id})
    other_path, other = write_quotes(corpus_copy, quotes[1:], "md", title="others", kind="theme-quotes")

    removed_ids = erase_contributor(corpus_copy, erased.contributor_id)  # calls erase_exports_for itself

    assert not path.exists() and other_path.exists()
    registry = registry_of(corpus_copy)
    old = registry.get(export.id)
    assert old.status == "removed" and erased.id not in old.testimony_ids and old.replaced_by
    new = registry.get(old.replaced_by)
    content = registry.absolute(new).read_text(encoding="utf-8-sig")
    assert erased.id not in content and erased.text not in content
    assert new.testimony_ids == [q.id for q in quotes[1:]] and new.params == old.params
    assert registry.get(other.id).status == "present"
    assert erase_exports_for(corpus_copy, removed_ids) == []


def test_csv_cells_never_run_as_formulas():
    from analysis.reports.quotefiles import _csv_safe

    assert _csv_safe("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert _csv_safe("-2 degrees") == "'-2 degrees"
    assert _csv_safe("We walk two hours") == "We walk two hours"
