"""Reports in the partnership's languages, on an organisation's own Word template, and for a country with no data.

On the session's analysed demo corpus (``demo_corpus`` in tests/conftest.py).
"""

from __future__ import annotations

import json
import re

import pytest

from analysis.texts import TextCatalogue

CATALOGUE = TextCatalogue.load()
LANGUAGES = ("fr", "es", "sw")
WITH_DATA = "BD (Bangladesh), GT (Guatemala), KE (Kenya), NP (Nepal), SN (Senegal), VN (Vietnam)"


@pytest.fixture(scope="module")
def corpus(demo_corpus):
    return demo_corpus.evidence()


@pytest.fixture(scope="module")
def kenya(corpus) -> dict:
    """The Kenya report in French, Spanish and Swahili (Markdown), written once for the module."""
    from analysis.reports import generate_report

    return {language: generate_report(corpus, "KE", "md", language=language) for language in LANGUAGES}


def words(language: str, key: str, **values) -> str:
    return CATALOGUE.plain(language, f"report_{key}", **values)


@pytest.mark.parametrize("language", LANGUAGES)
def test_headings_and_fixed_texts_come_from_the_catalogue_in_the_report_language(corpus, kenya, language):
    result = kenya[language]
    content = result.path.read_text()
    drivers = [corpus.codebook.get(key).name(language) for key in corpus.codebook.keys]
    assert result.sections == [words(language, key) for key in ("h_findings", "h_proposals", "h_summary", "h_charts")] \
        + drivers + [words(language, "h_gaps"), words(language, "h_annex")]
    assert result.language == language and result.to_dict()["language"] == language
    for english in ("Key findings", "What communities propose", "Who spoke", "contributions from", "Representative",
                    "Annex: method", "Contents", "Testimony in "):
        assert english not in content
    assert f"**{words(language, 'contents')}**" in content
    kenyan = [r for r in corpus.store.records() if r.country == "KE"]
    proposals = sum(1 for r in kenyan if r.kind == "proposal")
    assert words(language, "proposals_intro", proposals=proposals, contributions=len(kenyan)) in content


def test_country_and_language_names_are_those_of_the_report_language(kenya):
    spanish = kenya["es"].path.read_text()
    assert spanish.startswith("# No dejar a nadie atrás: informe de evidencia – Kenia\n")
    assert "Testimonio en suajili · Kenia · a través de " in spanish or "Propuesta en suajili · Kenia · " in spanish
    french = kenya["fr"].path.read_text()
    months = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
    assert "en swahili · Kenya · via " in french and re.search(rf"\d{{1,2}} ({months}) 2026", french)
    swahili = kenya["sw"].path.read_text()
    assert "kwa Kiswahili · Kenya · kupitia " in swahili
    # the bot's own labels of the profile answers, in the report's language
    assert CATALOGUE.plain("sw", "group_rural_or_remote") in swahili
    assert CATALOGUE.plain("fr", "age_25_39") in french


def test_a_report_is_rebuilt_in_its_language_after_an_erasure(demo_corpus, tmp_path):
    from analysis.erasure import erase_contributor
    from analysis.reports import generate_report, registry_of

    evidence = demo_corpus.copy(tmp_path / "data")
    report = generate_report(evidence, "KE", "html", language="sw")
    quoted = evidence.store.records(report.testimony_ids)[0]
    erase_contributor(evidence, quoted.contributor_id)
    registry = registry_of(evidence)
    new = registry.get(registry.get(report.export_id).replaced_by)
    assert new.params == {"country": "KE", "format": "html", "n_quotes": 3, "language": "sw"}
    page = registry.absolute(new).read_text()
    assert '<html lang="sw">' in page and f"<h2 id=\"key-findings\">{words('sw', 'h_findings')}</h2>" in page
    assert quoted.id[:8] not in page


def test_a_docx_report_takes_an_organisations_template(corpus, tmp_path):
    import docx
    from docx.shared import Mm, Pt

    from analysis.reports import generate_report

    template = docx.Document()
    section = template.sections[0]
    section.page_width, section.page_height = Mm(215.9), Mm(279.4)  # US Letter: the template's choice wins
    section.header.paragraphs[0].text = "ACME Relief · confidential draft"
    template.styles["Normal"].font.name = "Arial"
    template.styles["Normal"].font.size = Pt(10.5)
    template.add_paragraph("Template body text that must not survive")
    path = tmp_path / "acme.docx"
    template.save(str(path))

    result = generate_report(corpus, "GT", "docx", template=path)
    document = docx.Document(str(result.path))
    assert document.sections[0].header.paragraphs[0].text == "ACME Relief · confidential draft"
    assert (round(document.sections[0].page_width.mm), round(document.sections[0].page_height.mm)) == (216, 279)
    assert document.styles["Normal"].font.name == "Arial" and document.styles["Normal"].font.size == Pt(10.5)
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Template body text" not in text
    assert document.paragraphs[0].text == "Leave No One Behind: evidence report for Guatemala"
    assert [p.text for p in document.paragraphs if p.style.name == "Heading 1"] == result.sections
    footer = document.sections[0].footer
    assert "PAGE" in footer._element.xml  # the template had no footer: the page numbers are added
    assert result.to_dict()["format"] == "docx"


def test_a_country_without_contributions_is_an_error_naming_the_countries_with_data(corpus):
    from analysis.reports import NoContributions, generate_report, registry_of

    before = len(registry_of(corpus).list())
    with pytest.raises(NoContributions) as raised:
        generate_report(corpus, "FR", "docx")
    assert raised.value.countries == ["BD", "GT", "KE", "NP", "SN", "VN"]
    assert str(raised.value).startswith("there are no contributions from FR (France) in the evidence base")
    assert str(raised.value).endswith(f"countries with data: {WITH_DATA}") and "\n" not in str(raised.value)
    with pytest.raises(NoContributions) as raised:  # not a country: said as search says it
        generate_report(corpus, "ZZ", "docx")
    assert str(raised.value) == "country 'ZZ' is not a two-letter ISO 3166 code such as NP or KE"
    assert len(registry_of(corpus).list()) == before  # nothing written


# -- command line ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def lnob(demo_corpus):
    """Run ``lnob`` in-process against the shared corpus; returns (exit code, output)."""
    from click.testing import CliRunner

    from cli.main import cli

    settings = demo_corpus.settings()
    base = ["--data-dir", str(settings.data_dir), "--database-url", settings.resolved_database_url]

    def run(*args: str) -> tuple[int, str]:
        env = {"LNOB_PSEUDONYM_KEY": "test-key-0123456789abcdef0123456789"}
        result = CliRunner().invoke(cli, [*base, *args], env=env, catch_exceptions=False)
        return result.exit_code, result.output

    return run


def test_cli_report_language_template_and_no_data(lnob, tmp_path):
    code, out = lnob("report", "--country", "SN", "--language", "fr", "--json")
    assert code == 0, out
    payload = json.loads(out)
    assert payload["language"] == "fr" and payload["sections"][0] == "Principales conclusions"
    code, out = lnob("report", "--country", "FR")
    assert code == 1
    assert out.strip() == ("error: there are no contributions from FR (France) in the evidence base: no report "
                           f"written; countries with data: {WITH_DATA}")
    code, out = lnob("report", "--country", "ZZ")
    assert code == 1 and out.strip() == "error: country 'ZZ' is not a two-letter ISO 3166 code such as NP or KE"
    code, out = lnob("report", "--global", "--language", "pt")
    assert code == 2 and "'pt' is not one of" in out
    template = tmp_path / "brand.docx"
    import docx

    docx.Document().save(str(template))
    code, out = lnob("report", "--global", "--format", "md", "--template", str(template))
    assert code == 1 and "--template is for DOCX reports" in out
