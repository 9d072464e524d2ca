"""Country and global reports: sections, contents and anchors, key findings, proposals, names, charts, small
cells, consent, redaction, DOCX pages, registry, erasure, CLI.

On the session's analysed demo corpus (``demo_corpus`` in tests/conftest.py, built once per session).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest
from matplotlib.image import imread

from tests.support.corpora import PHONE_DIGITS, file_text, phone_record

SECTIONS = ["Key findings", "What communities propose", "Who spoke", "Charts", "Discrimination", "Geography",
            "Governance", "Socio-economic status", "Shocks and fragility", "Gaps", "Annex: method and data protection"]
ANNEX = "\n## Annex: method and data protection\n"
REF = re.compile(r"ref\. ([0-9a-f]{8})")  # a quote's short reference in an English report


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
    for subsection in ("By country and driver", "By group and driver", "The largest gaps", "Overlaps between partners",
                       "Where only one partner speaks"):
        assert f"\n### {subsection}\n" in content
    # themes, drivers, months, and the two heatmaps of the gaps
    assert [f.name.rsplit("-", 1)[-1] for f in result.files] == ["themes.png", "drivers.png", "months.png",
                                                                 "countries.png", "groups.png"]
    for chart in result.files:
        assert chart.parent == result.path.parent and f"]({chart.name})" in content
        pixels = imread(io.BytesIO(chart.read_bytes()), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400


def heading_slugs(markdown: str) -> list[str]:
    """The anchors a GitHub-style renderer gives the headings of a Markdown file, in order (read with markdown-it:
    the text of each heading, lower case, without punctuation and symbols, spaces as hyphens, repeats numbered)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(markdown)
    seen: dict[str, int] = {}
    slugs = []
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        text = "".join(child.content for child in tokens[i + 1].children if child.type in ("text", "code_inline"))
        slug = "".join(c for c in text.lower() if c in " -_" or c.isalnum() or unicodedata.category(c)[0] == "M")
        slug = slug.replace(" ", "-")
        if slug in seen:
            seen[slug] += 1
            slug = f"{slug}-{seen[slug]}"
        else:
            seen[slug] = 0
        slugs.append(slug)
    return slugs


def test_markdown_contents_and_links_go_to_headings(reports):
    content = reports[(None, "md")].path.read_text()
    slugs = heading_slugs(content)
    contents = content.split("\n**Contents**\n")[1].split("\n## ")[0]
    targets = re.findall(r"\]\(#([^)]+)\)", content)
    assert targets and set(targets) <= set(slugs)  # every link in the file goes to a heading of the file
    sections = re.findall(r"^- \[([^\]]+)\]\(#([^)]+)\)$", contents, re.M)
    assert [title for title, _ in sections] == SECTIONS
    assert [slug for _, slug in sections][:4] == ["key-findings", "what-communities-propose", "who-spoke", "charts"]
    assert [slug for _, slug in sections][-2:] == ["gaps", "annex-method-and-data-protection"]
    # a driver's name heads its proposals first, then its own section: GitHub numbers the second "-1"
    assert "  - [Discrimination](#discrimination)" in contents and "- [Discrimination](#discrimination-1)" in contents
    theme = next(line for line in contents.splitlines() if "[#1 " in line)
    assert re.search(r"\(#1-[a-z0-9-]+\)$", theme)  # "#1 work · pay" -> "1-work--pay" (GitHub drops # and ·)


def test_html_contents_and_links_go_to_headings(reports):
    content = reports[("NP", "html")].path.read_text()
    ids = re.findall(r'<h[2-6] id="([^"]+)"', content)
    assert len(ids) == len(set(ids)) and "key-findings" in ids and "annex" in ids
    assert set(re.findall(r'href="#([^"]+)"', content)) <= set(ids)
    nav = content.split('<nav class="toc">')[1].split("</nav>")[0]
    assert re.findall(r'href="#([^"]+)"', nav)[:2] == ["key-findings", "proposals"]
    assert content.index('<nav class="toc">') < content.index('<h2 id="key-findings">')
    assert '<h2 id="annex" class="new-page">' in content  # the annex starts a page when printed


def test_key_findings_name_the_largest_themes_drivers_and_who_is_least_heard(corpus, reports):
    from collections import Counter

    from analysis.explore import list_themes
    from analysis.texts import TextCatalogue

    content = reports[(None, "md")].path.read_text()
    findings = content.split("\n## Key findings\n")[1].split("\n## ")[0]
    records = corpus.store.records()
    proposals = sum(1 for r in records if r.kind == "proposal")
    scope_line = f"- {len(records)} contributions ({len(records) - proposals} testimonies, {proposals} proposals) from "
    assert scope_line in findings
    sizes = sorted(((row["size"], row["id"]) for row in list_themes(corpus)), key=lambda t: (-t[0], t[1]))
    line = findings.split("The largest themes:")[1].split("\n")[0]
    largest = re.findall(r"\[#(\d+) [^\]]+\]\(#[^)]+\) \((\d+)\)", line)
    assert [(int(n), int(i)) for i, n in largest] == sizes[:3]
    names = {corpus.codebook.get(key).name("en"): key for key in corpus.codebook.keys}
    line = findings.split("Contributions by primary driver:")[1].split("\n")[0]
    shown = {names[name]: int(n) for name, n in re.findall(r"\[([^\]]+)\]\(#[^)]+\) (\d+)", line)}
    assignments = corpus.themes.assignments()
    assert shown == Counter(a.primary_driver for a in assignments.values() if a.primary_driver)
    assert list(shown.values()) == sorted(shown.values(), reverse=True)  # largest first
    assert "[What communities propose](#what-communities-propose)" in findings
    nepal = reports[("NP", "md")].path.read_text().split("\n## Key findings\n")[1].split("\n## ")[0]
    people: dict[str, set] = {}
    for record in records:
        for group in record.groups:
            people.setdefault(group, set())
            if record.country == "NP":
                people[group].add(record.contributor_id)
    thin = [code for code, who in sorted(people.items()) if 0 < len(who) < 5]
    labels = ", ".join(TextCatalogue.load().plain("en", f"group_{code}") for code in thin)
    assert thin and f"- Least heard: {labels}, each with fewer than 5 contributors." in nepal
    for line in findings.splitlines():  # no number from one to four, only "<5"
        assert not re.search(r"(?<![\d#.-])[1-4](?![\d])(?! [a-z]+ 20\d\d)(?=\)|,| contrib)", line), line


def test_growth_compares_the_latest_three_months_with_the_three_before(corpus, reports):
    from datetime import timedelta

    from analysis.reports.findings import GROWTH_DAYS

    findings = reports[(None, "md")].path.read_text().split("\n## Key findings\n")[1].split("\n## ")[0]
    line = next(line for line in findings.splitlines() if "Growing fastest" in line or "to tell which themes" in line)
    records = corpus.store.records()
    end = max(r.created_at for r in records)
    middle, start = end - timedelta(days=GROWTH_DAYS), end - timedelta(days=2 * GROWTH_DAYS)
    assignments = corpus.themes.assignments()
    grown = re.findall(r"\[#(\d+) [^\]]+\]\(#[^)]+\) \((\d+) contributions, against (\d+)\)", line)
    assert grown, line  # the demo corpus has themes that grew by more than a small cell
    for theme_id, latest, before in grown:
        members = [r for r in records if assignments.get(r.id) and assignments[r.id].theme_id == int(theme_id)]
        assert int(latest) == sum(1 for r in members if r.created_at > middle) >= 5
        assert int(before) == sum(1 for r in members if start < r.created_at <= middle) >= 5
        assert int(latest) > int(before)
    country = reports[("NP", "md")].path.read_text()
    assert "Too few contributions per theme in the latest 91 days" in country  # 50 contributions: too few to tell


@pytest.fixture(scope="module")
def kenya(corpus):
    from analysis.reports import generate_report

    return generate_report(corpus, "KE", "md")


def test_the_proposals_section_gathers_what_people_propose_by_driver_and_theme(corpus, kenya):
    content = kenya.path.read_text()
    section = content.split("\n## What communities propose\n")[1].split("\n## Who spoke\n")[0]
    kenyan = [r for r in corpus.store.records() if r.country == "KE"]
    proposals = [r for r in kenyan if r.kind == "proposal"]
    assert f"{len(proposals)} of the {len(kenyan)} contributions are proposals" in section  # 32 of 100 in the demo
    drivers = re.findall(r"^### (.+)$", section, re.M)
    assert drivers and set(drivers) <= set(SECTIONS)
    assignments = corpus.themes.assignments()
    quoted = {r.id[:8]: r for r in corpus.store.records(kenya.testimony_ids)}
    for theme in section.split("\n#### #")[1:]:
        theme_id = int(theme.split(" ", 1)[0])
        # the count, or "withheld" when the small-cell rule cannot show the counts of this breakdown safely
        assert re.search(r"Proposals in this theme: (\d+|<5|≥5|withheld [^.]*)\. \[See the theme\.\]\(#", theme)
        for ref in REF.findall(theme):
            record = quoted[ref]
            assert record.kind == "proposal" and record.quotable and record.country == "KE"
            assert assignments[record.id].theme_id == theme_id
    assert REF.findall(section)
    # the testimonies are quoted under the drivers, the proposals here: each quote once
    drivers_part = content.split("\n## Charts\n")[1]
    assert all(quoted[ref].kind == "testimony" for ref in REF.findall(drivers_part))


def test_names_not_codes(corpus, kenya):
    content = kenya.path.read_text()
    assert content.startswith("# Leave No One Behind: evidence report for Kenya\n")
    who = content.split("\n## Who spoke\n")[1].split("\n## ")[0]
    organisations = {o.code: o.name for o in corpus.store.organisations()}
    line = next(line for line in who.splitlines() if line.startswith("| organisation |"))
    assert any(name in line for name in organisations.values() if name != organisations.get("plan"))
    for code in organisations:
        assert not re.search(rf"\| {code} \d|, {code} \d", line)
    group_line = next(line for line in who.splitlines() if line.startswith("| group |"))
    assert "Rural or remote area" in group_line and "rural_or_remote" not in group_line
    assert "| language | Swahili " in who or ", Swahili " in who
    assert "25_39" not in content and "25 to 39" in content


def test_docx_is_a4_with_contents_page_numbers_and_header(reports):
    import docx
    from docx.oxml.ns import qn

    result = reports[("NP", "docx")]
    document = docx.Document(str(result.path))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    instructions = [i.text.strip() for i in document.element.body.iter(qn("w:instrText"))]
    assert 'TOC \\o "1-3" \\h \\z \\u' in instructions
    footer = [i.text.strip() for i in section.footer._element.iter(qn("w:instrText"))]
    assert footer == ["PAGE", "NUMPAGES"]
    assert "Page " in section.footer.paragraphs[0].text and " of " in section.footer.paragraphs[0].text
    assert section.header.paragraphs[0].text == "Leave No One Behind: evidence report for Nepal"
    update = document.settings.element.find(qn("w:updateFields"))
    assert update is not None and update.get(qn("w:val")) == "true"
    bookmarks = {b.get(qn("w:name")) for b in document.element.body.iter(qn("w:bookmarkStart"))}
    links = {h.get(qn("w:anchor")) for h in document.element.body.iter(qn("w:hyperlink"))}
    assert links and links <= bookmarks  # links inside the document go to its headings
    annex = next(p for p in document.paragraphs if p.text == "Annex: method and data protection")
    assert annex.paragraph_format.page_break_before


def test_method_note(corpus, reports):
    content = reports[(None, "md")].path.read_text()
    method = content.split(ANNEX)[1]
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
            assert f"ref. {record.id[:8]}" in content
        for record in aggregate:
            assert f"ref. {record.id[:8]}" not in content
    assert "[PHONE]" in phone.text


def test_reports_are_registered_with_every_quoted_id(corpus, reports):
    from analysis.reports import registry_of

    registry = registry_of(corpus)
    for (country, fmt), result in reports.items():
        export = registry.get(result.export_id)
        assert registry.absolute(export) == result.path
        assert export.kind == "report" and export.format == fmt and export.status == "present"
        assert export.params == {"country": country, "format": fmt, "n_quotes": 3, "language": "en"}
        assert sorted(export.testimony_ids) == sorted(result.testimony_ids)
        refs_in_file = REF.findall(file_text(result.path))
        assert sorted(refs_in_file) == sorted(i[:8] for i in export.testimony_ids)  # each quoted once
        assert [registry.data_dir / f for f in export.files] == result.files


def test_country_report_is_restricted_to_the_country(corpus, reports):
    result = reports[("NP", "md")]
    content = result.path.read_text()
    assert content.startswith("# Leave No One Behind: evidence report for Nepal\n")
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
    labels = {"woman": "Woman", "man": "Man", "non_binary": "Non-binary", "other": "Another gender"}  # as the bot asks
    counts = Counter(labels.get(r.gender, "not given") for r in corpus.store.records() if r.country == "NP")
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
    gaps = content.split("\n## Gaps\n")[1].split(ANNEX)[0]
    largest = gaps.split("\n### The largest gaps\n")[1].split("\n### ")[0]
    assert "Least heard: " in largest and "(fewer than 5 contributors each)" in largest
    assert "Themes that several partner organisations' evidence speaks to:" in gaps or "only " in gaps


def test_the_largest_gaps_say_which_groups_and_drivers_nobody_speaks_for(corpus, reports):
    from analysis.texts import TextCatalogue

    catalogue = TextCatalogue.load()
    group_of = {catalogue.plain("en", f"group_{code}"): code for code in
                {g for r in corpus.store.records() for g in r.groups}}
    driver_of = {corpus.codebook.get(key).name("en"): key for key in corpus.codebook.keys}
    content = reports[(None, "md")].path.read_text()
    largest = content.split("\n### The largest gaps\n")[1].split("\n### ")[0]
    records, assignments = corpus.store.records(), corpus.themes.assignments()
    silent = re.findall(r"^- (.+): no contribution is mainly about (.+)\.$", largest, re.M)
    assert silent, largest
    for group, drivers in silent:
        members = [r for r in records if group_of[group] in r.groups]
        assert len({r.contributor_id for r in members}) >= 5  # a group that is heard, yet never about these
        for driver in drivers.split(", "):
            assert not any(assignments[r.id].primary_driver == driver_of[driver]
                           for r in members if r.id in assignments)
    absent = re.search(r"^- Groups not heard at all in some countries: (.+)\.$", largest, re.M)
    names = {"BD": "Bangladesh", "GT": "Guatemala", "KE": "Kenya", "NP": "Nepal", "SN": "Senegal", "VN": "Vietnam"}
    expected = []
    for label, code in sorted(group_of.items(), key=lambda kv: kv[1]):  # groups by code, countries by code
        missing = [names[c] for c in sorted(names) if not any(code in r.groups for r in records if r.country == c)]
        if missing:
            expected.append(f"{label} ({', '.join(missing)})")
    assert absent and absent.group(1) == ", ".join(expected)


def test_html_report(reports):
    result = reports[(None, "html")]
    content = result.path.read_text()
    assert content.startswith("<!DOCTYPE html>") and '<html lang="en">' in content
    assert re.findall(r'<h2 id="[a-z0-9_-]+"(?: class="new-page")?>([^<]+)</h2>', content) == SECTIONS
    assert result.files == []  # standalone: the charts are inside the page
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', content)
    assert len(images) == len(reports[(None, "md")].files)
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
    assert document.paragraphs[0].text == "Leave No One Behind: evidence report for Nepal"
    assert len(document.inline_shapes) == len(reports[("NP", "md")].files)
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
    assert rebuilt.startswith("# Leave No One Behind: evidence report for Nepal\n")
    assert f"ref. {quoted.id[:8]}" not in rebuilt
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
    summary = markdown.split("\n## Who spoke\n")[1].split("\n## ")[0]
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
    from analysis.languages import language_name, percent

    languages = theme_languages(corpus)
    content = reports[(None, "md")].path.read_text()
    sections = content.split("\n### #")[1:]
    assert sections
    for section in sections:
        theme_id = int(section.split(" ", 1)[0])
        expected = languages.of(theme_id)
        mix = expected.mix.protected(5)
        assert f"| by language | {mix.text({k: language_name(k) for k in mix.cells}, limit=12)} |" in section
        flag = expected.flag
        assert ("_Essentially one language: " in section) == (flag is not None)
        if flag is not None:
            assert (f"{percent(flag.theme_share)} of its {flag.theme_texts} texts are in "
                    f"{language_name(flag.language)}") in section
    country = reports[("NP", "md")].path.read_text()
    if "Essentially one language" in country:
        assert "Essentially one language (across all countries): " in country
    for fmt in ("html", "docx"):
        assert "by language" in file_text(reports[(None, fmt)].path)


def test_the_method_note_names_the_languages_of_the_evidence_with_counts(corpus, reports):
    from collections import Counter

    from analysis.languages import language_name

    method = reports[(None, "md")].path.read_text().split(ANNEX)[1]
    counts = Counter(r.language for r in corpus.store.records())
    assert len(counts) >= 4
    listed = ", ".join(f"{language_name(code)} {n if n >= 5 else '<5'}" for code, n in counts.most_common())
    assert f"Languages: the evidence came from texts in {listed} " in method
    assert "flagged as essentially one language when at least 90% of its texts are in one language" in method
    country = reports[("NP", "md")].path.read_text()
    np_counts = Counter(r.language for r in corpus.store.records() if r.country == "NP")
    assert f"Languages: the evidence came from texts in {language_name(np_counts.most_common(1)[0][0])} " in country


def test_every_quote_shows_its_kind_language_country_and_short_reference(corpus, reports):
    from analysis.languages import language_name

    names = {"NP": "Nepal", "KE": "Kenya", "BD": "Bangladesh", "GT": "Guatemala", "SN": "Senegal", "VN": "Vietnam"}
    for (country, fmt), result in reports.items():
        content = file_text(result.path)
        if fmt == "html":
            lines = [html.unescape(p) for p in re.findall(r'<p class="provenance">([^<]*)</p>', content)]
        else:
            lines = [line.lstrip("> —") for line in content.splitlines() if REF.search(line)]
        assert len(lines) == result.quotes and all(line.startswith(("Testimony in ", "Proposal in ")) for line in lines)
        records = {r.id[:8]: r for r in corpus.store.records(result.testimony_ids)}
        for line in lines:
            record = records[REF.search(line).group(1)]
            kind = "Testimony" if record.kind == "testimony" else "Proposal"
            assert f"{kind} in {language_name(record.language)} · {names[record.country]} · through " in line, line
            assert record.id not in line  # the short reference only: the full id is in the registry


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
