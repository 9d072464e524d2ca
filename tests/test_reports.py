"""Country and global reports: sections, charts, small cells, consent, redaction, registry, erasure, CLI.

On the session's analysed demo corpus (``demo_corpus`` in tests/conftest.py, built once per session).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import pytest
from matplotlib.image import imread

from tests.support.corpora import PHONE_DIGITS, file_text, phone_record

SECTIONS = ["Method", "Summary", "Charts", "Discrimination", "Geography", "Governance", "Socio-economic status",
            "Shocks and fragility", "Gaps"]


@pytest.fixture(scope="module")
def corpus(demo_corpus):
    return demo_corpus.evidence()


@pytest.fixture(scope="module")
def reports(corpus) -> dict:
    """One report of each kind and format, written once for the module."""
    from analysis.reports import generate_report

    return {(country, fmt): generate_report(corpus, country, fmt) for country in (None, "NP") for fmt in ("md", "html", "docx")}


def test_markdown_report_has_its_sections_and_charts(reports):
    result = reports[(None, "md")]
    assert result.sections == SECTIONS
    content = result.path.read_text()
    assert content.startswith("# Leave No One Behind: global evidence report\n")
    for title in SECTIONS:
        assert f"\n## {title}\n" in content
    for subsection in ("By country and driver", "By group and driver", "Thin evidence", "Overlaps between partners",
                       "Where only one partner speaks"):
        assert f"\n### {subsection}\n" in content
    assert len(result.files) == 3
    for chart in result.files:
        assert chart.parent == result.path.parent and f"]({chart.name})" in content
        pixels = imread(io.BytesIO(chart.read_bytes()), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400


def test_method_note(corpus, reports):
    content = reports[(None, "md")].path.read_text()
    method = content.split("\n## Method\n")[1].split("\n## ")[0]
    assert corpus.settings.embedding_model in method
    run = corpus.themes.last_run()
    assert f"analysis run {run.id}" in method
    assert "'quote' consent" in method and "'aggregate' consent" in method
    assert 'shown as "<5"' in method and "redacted" in method
    total = corpus.store.count_testimonies()
    assert f"Counts: {total} contributions" in method


def test_every_theme_is_in_a_driver_section_with_quotes(corpus, reports):
    from analysis.explore import list_themes

    content = reports[(None, "md")].path.read_text()
    for row in list_themes(corpus):
        if row["size"]:
            assert f"\n### #{row['id']} {row['label']}\n" in content
    assert reports[(None, "md")].quotes >= len(list_themes(corpus))


def test_reports_quote_only_consented_redacted_text(corpus, reports):
    aggregate = [r for r in corpus.store.records() if not r.quotable]
    phone = phone_record(corpus)
    for result in reports.values():
        content = file_text(result.path)
        for record in aggregate:
            assert record.text not in content and record.id not in content
        assert not any(digits in content for digits in PHONE_DIGITS)
        quoted = corpus.store.records(result.testimony_ids)
        assert quoted and all(r.quotable for r in quoted)
        for record in quoted:
            assert record.id in content
    assert "[PHONE]" in phone.text


def test_reports_are_registered_with_every_quoted_id(corpus, reports):
    from analysis.reports import registry_of

    registry = registry_of(corpus)
    for (country, fmt), result in reports.items():
        export = registry.get(result.export_id)
        assert registry.absolute(export) == result.path
        assert export.kind == "report" and export.format == fmt and export.status == "present"
        assert export.params == {"country": country, "format": fmt, "n_quotes": 3}
        assert sorted(export.testimony_ids) == sorted(result.testimony_ids)
        ids_in_file = set(re.findall(r"testimony ([0-9a-f-]{36})", file_text(result.path)))
        assert ids_in_file == set(export.testimony_ids)
        assert [registry.data_dir / f for f in export.files] == result.files


def test_country_report_is_restricted_to_the_country(corpus, reports):
    result = reports[("NP", "md")]
    content = result.path.read_text()
    assert content.startswith("# Leave No One Behind: evidence report for NP\n")
    assert {r.country for r in corpus.store.records(result.testimony_ids)} == {"NP"}
    np_count = sum(1 for r in corpus.store.records() if r.country == "NP")
    assert f"Counts: {np_count} contributions" in content
    assert "\n### By region and driver\n" in content


def test_global_report_quotes_from_several_countries(corpus, reports):
    countries = {r.country for r in corpus.store.records(reports[(None, "md")].testimony_ids)}
    assert len(countries) >= 4


def test_small_cells_are_shown_as_lt5(corpus, reports):
    from collections import Counter

    content = reports[("NP", "md")].path.read_text()
    gender_line = next(line for line in content.splitlines() if line.startswith("| gender |"))
    counts = Counter(r.gender or "not given" for r in corpus.store.records() if r.country == "NP")
    assert any(n < 5 for n in counts.values()), "the NP corpus should have a small gender cell"
    for gender, n in counts.items():
        if n < 5:
            assert f"{gender} <5" in gender_line
            assert f"{gender} {n}," not in gender_line and not gender_line.endswith(f"{gender} {n} |")
        else:  # shown, or hidden so that the small cells cannot be worked out from the total (once always shown)
            assert f"{gender} {n}" in gender_line or f"{gender} ≥5" in gender_line
    assert "≥5" in gender_line or sum(1 for n in counts.values() if n < 5) >= 2, "a lone small cell needs a complement"
    # no breakdown anywhere shows a count from one to four
    for line in content.splitlines():
        if line.startswith("| by ") or line.startswith("| gender") or line.startswith("| group"):
            assert not re.search(r"[a-z_)] [1-4](,| \||$)", line), line


def test_gaps_name_thin_groups_and_single_partner_themes(reports):
    content = reports[("NP", "md")].path.read_text()
    gaps = content.split("\n## Gaps\n")[1]
    assert "Groups with fewer than 5 contributors:" in gaps
    assert "Regions with fewer than 5 contributors:" in gaps
    assert "Themes that several partner organisations' evidence speaks to:" in gaps or "only " in gaps


def test_html_report(reports):
    result = reports[(None, "html")]
    content = result.path.read_text()
    assert content.startswith("<!DOCTYPE html>")
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in content
    assert result.files == []  # standalone: the charts are inside the page
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', content)
    assert len(images) == 3
    for image in images:
        pixels = imread(io.BytesIO(base64.b64decode(image)), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert "<blockquote>" in content and "&lt;5" in content


def test_a_report_package_is_one_file_with_its_charts(reports):
    import zipfile

    from analysis.reports import report_package

    markdown = reports[(None, "md")]
    name, content = report_package(markdown)
    assert name == markdown.path.with_suffix(".zip").name
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == sorted(p.name for p in (markdown.path, *markdown.files))
        assert archive.read(markdown.path.name) == markdown.path.read_bytes()
    for fmt in ("html", "docx"):
        result = reports[(None, fmt)]
        assert report_package(result) == (result.path.name, result.path.read_bytes())


def test_docx_report_opens_with_its_sections_and_inline_charts(reports):
    import docx

    result = reports[("NP", "docx")]
    assert result.files == []
    document = docx.Document(str(result.path))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings == SECTIONS
    assert document.paragraphs[0].text == "Leave No One Behind: evidence report for NP"
    assert len(document.inline_shapes) == 3
    assert len([p for p in document.paragraphs if p.style.name == "Quote"]) == result.quotes
    assert document.tables


def test_global_docx_report_builds_on_the_demo_corpus(corpus):
    from analysis.reports import generate_report

    result = generate_report(corpus, None, "docx")
    assert result.path.exists() and result.quotes > 0


def test_erasure_removes_the_report_and_rebuilds_it_without_the_quote(demo_corpus, tmp_path):
    from analysis.erasure import erase_contributor
    from analysis.reports import erase_exports_for, generate_report, registry_of

    evidence = demo_corpus.copy(tmp_path / "data")
    older = generate_report(evidence, "NP", "md")
    report = generate_report(evidence, "NP", "md")
    quoted = evidence.store.records(report.testimony_ids)[0]
    assert quoted.id in older.testimony_ids
    untouched = generate_report(evidence, "GT", "docx")

    removed_ids = erase_contributor(evidence, quoted.contributor_id)  # calls erase_exports_for itself
    assert quoted.id in removed_ids
    assert erase_exports_for(evidence, removed_ids) == []  # nothing is left to remove

    assert not report.path.exists() and not any(f.exists() for f in report.files) and not older.path.exists()
    registry = registry_of(evidence)
    old = registry.get(report.export_id)
    assert old.status == "removed" and quoted.id not in old.testimony_ids
    new = registry.get(old.replaced_by)
    assert new.status == "present" and new.params == old.params and new.kind == "report"
    rebuilt = registry.absolute(new).read_text()
    assert quoted.id not in rebuilt and quoted.text not in rebuilt
    assert rebuilt.startswith("# Leave No One Behind: evidence report for NP\n")
    assert all((registry.data_dir / f).exists() for f in new.files)
    assert registry.get(untouched.export_id).status == "present" and untouched.path.exists()
    # two copies with the same parameters are rebuilt once
    assert registry.get(older.export_id).replaced_by == new.id
    assert [e.id for e in registry.list(kind="report") if e.params["country"] == "NP"] == [new.id]


def test_a_withdrawn_quote_consent_rebuilds_the_report_still_counting_the_contribution(demo_corpus, tmp_path):
    from analysis.erasure import give_consent
    from analysis.reports import generate_report, registry_of

    evidence = demo_corpus.copy(tmp_path / "data")
    report = generate_report(evidence, "NP", "md")
    quoted = evidence.store.records(report.testimony_ids)[0]
    before = report.path.read_text()

    give_consent(evidence, quoted.contributor_id, "aggregate", "v2")  # counted, never quoted from now on

    registry = registry_of(evidence)
    new = registry.get(registry.get(report.export_id).replaced_by)
    rebuilt = registry.absolute(new).read_text()
    assert quoted.id not in new.testimony_ids and quoted.text not in rebuilt and quoted.id[:8] not in rebuilt
    old_rows, new_rows = summary_counts(before), summary_counts(rebuilt)
    assert new_rows["contributions"] == old_rows["contributions"] and new_rows["contributors"] == old_rows["contributors"]
    if old_rows["quotable (quote consent)"] != "<5":
        assert int(new_rows["quotable (quote consent)"]) < int(old_rows["quotable (quote consent)"])


def summary_counts(markdown: str) -> dict[str, str]:
    """The rows of a Markdown report's Summary table: name -> count as written."""
    summary = markdown.split("\n## Summary\n")[1].split("\n## ")[0]
    cells = [line.split("|") for line in summary.splitlines() if line.startswith("| ") and line.count("|") == 3]
    return {c[1].strip(): c[2].strip() for c in cells}


def test_erasure_excludes_ids_even_before_the_store_forgets_them(demo_corpus, tmp_path):
    from analysis.reports import erase_exports_for, generate_report, registry_of

    evidence = demo_corpus.copy(tmp_path / "data")
    report = generate_report(evidence, None, "md")
    target = report.testimony_ids[0]
    erase_exports_for(evidence, [target])  # called first, erasure of the rows afterwards
    registry = registry_of(evidence)
    new = registry.get(registry.get(report.export_id).replaced_by)
    assert target not in new.testimony_ids and target not in registry.absolute(new).read_text()


# -- command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def lnob(demo_corpus):
    """Run ``lnob`` in-process against the shared corpus; returns (exit code, stdout)."""
    from click.testing import CliRunner

    from cli.main import cli

    settings = demo_corpus.settings()
    base = ["--data-dir", str(settings.data_dir), "--database-url", settings.resolved_database_url]
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli, [*base, *args], env={"LNOB_PSEUDONYM_KEY": "test-key-0123456789abcdef0123456789"}, catch_exceptions=False)
        return result.exit_code, result.output

    return run


def test_cli_report(lnob):
    code, out = lnob("report", "--country", "NP", "--format", "md", "--json")
    assert code == 0, out
    payload = json.loads(out)
    assert payload["sections"] == SECTIONS and payload["quotes"] > 0 and Path(payload["path"]).exists()
    code, out = lnob("report", "--global", "--format", "html")
    assert code == 0 and out.strip().endswith(".html") and Path(out.strip()).exists()
    code, out = lnob("report", "--format", "md")
    assert code != 0 and "--country CODE or --global" in out
    code, out = lnob("report", "--country", "Nepal")
    assert code != 0 and "two-letter ISO 3166 code" in out


def test_cli_exports(lnob, corpus):
    from analysis.explore import list_themes

    theme_id = list_themes(corpus)[0]["id"]
    code, out = lnob("export", "theme", str(theme_id), "--format", "docx", "--json")
    assert code == 0, out
    theme_export = json.loads(out)
    assert theme_export["path"].endswith(".docx") and theme_export["quotes"] > 0
    code, out = lnob("export", "search", "bribe for a birth certificate", "--country", "KE", "--format", "csv")
    assert code == 0 and out.strip().endswith(".csv")
    code, out = lnob("exports", "list", "--json")
    assert code == 0
    listed = {e["id"]: e for e in json.loads(out)["exports"]}
    assert listed[theme_export["export_id"]]["kind"] == "theme-quotes" and listed[theme_export["export_id"]]["on_disk"]
    assert any(e["kind"] == "search" and e["params"]["country"] == "KE" for e in listed.values())
    code, out = lnob("exports", "list")
    assert code == 0 and "theme-quotes" in out and "search" in out


def test_charts_from_the_evidence(corpus):
    from analysis.explore import list_themes
    from analysis.reports import drivers_chart, theme_month_chart, themes_chart

    theme_id = list_themes(corpus)[0]["id"]
    for png in (themes_chart(corpus), themes_chart(corpus, "NP"), drivers_chart(corpus), drivers_chart(corpus, "KE"),
                theme_month_chart(corpus, theme_id), theme_month_chart(corpus, theme_id, "NP")):
        pixels = imread(io.BytesIO(png), format="png")
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and pixels.shape[0] > 200


def test_docx_survives_a_staff_label_with_a_control_character(demo_corpus, tmp_path):
    import docx

    from analysis.explore import list_themes
    from analysis.reports import generate_report

    evidence = demo_corpus.copy(tmp_path / "data")
    theme_id = list_themes(evidence)[0]["id"]
    evidence.themes.rename(theme_id, "Water\x01 and wells")
    result = generate_report(evidence, None, "docx")
    headings = [p.text for p in docx.Document(str(result.path)).paragraphs if p.style.name == "Heading 2"]
    assert f"#{theme_id} Water and wells" in headings


# -- languages --------------------------------------------------------------------------


def test_each_theme_section_shows_its_languages_and_the_single_language_flag(corpus, reports):
    from analysis.explore import theme_languages

    languages = theme_languages(corpus)
    content = reports[(None, "md")].path.read_text()
    sections = content.split("\n### #")[1:]
    assert sections
    for section in sections:
        theme_id = int(section.split(" ", 1)[0])
        expected = languages.of(theme_id)
        assert f"| by language | {expected.mix.shown(5, names=True, limit=12)} |" in section
        flag = expected.flag
        assert ("_Essentially one language: " in section) == (flag is not None)
        if flag is not None:
            assert flag.reason in section
    country = reports[("NP", "md")].path.read_text()
    if "Essentially one language" in country:
        assert "Essentially one language: Across all countries, " in country
    for fmt in ("html", "docx"):
        assert "by language" in file_text(reports[(None, fmt)].path)


def test_the_method_note_names_the_languages_of_the_evidence_with_counts(corpus, reports):
    from collections import Counter

    from analysis.languages import language_label

    method = reports[(None, "md")].path.read_text().split("\n## Method\n")[1].split("\n## ")[0]
    counts = Counter(r.language for r in corpus.store.records())
    assert len(counts) >= 4
    listed = ", ".join(f"{language_label(code)} {n if n >= 5 else '<5'}" for code, n in counts.most_common())
    assert f"Languages: the evidence came from texts in {listed} " in method
    assert "flagged as essentially one language when at least 90% of its texts are in one language" in method
    country = reports[("NP", "md")].path.read_text()
    np_counts = Counter(r.language for r in corpus.store.records() if r.country == "NP")
    assert f"Languages: the evidence came from texts in {language_label(np_counts.most_common(1)[0][0])} " in country


def test_every_quote_shows_its_language(corpus, reports):
    from analysis.languages import language_label

    for (country, fmt), result in reports.items():
        content = file_text(result.path)
        lines = [line for line in content.splitlines() if re.search(r"testimony [0-9a-f-]{36} · ", line)]
        assert len(lines) == result.quotes
        languages = {r.id: r.language for r in corpus.store.records(result.testimony_ids)}
        for line in lines:
            testimony_id = re.search(r"testimony ([0-9a-f-]{36})", line).group(1)
            assert f" · {language_label(languages[testimony_id])}" in line, line


def test_quote_exports_show_each_quote_in_its_language(corpus):
    from analysis.explore import list_themes, theme_quotes
    from analysis.languages import language_label
    from analysis.reports import export_quotes

    quotes = theme_quotes(corpus, list_themes(corpus)[0]["id"], n=5)
    markdown = export_quotes(corpus, quotes, "md", title="Languages").read_text()
    for quote in quotes:
        assert f"{quote.kind} · {language_label(quote.language)}" in markdown
    with export_quotes(corpus, quotes, "csv", title="Languages").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["testimony_id"]: row["language"] for row in rows} == {q.id: q.language or "" for q in quotes}
