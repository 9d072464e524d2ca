"""The languages of each theme and the single-language flag in ``lnob analyse``, ``themes``, ``theme`` and ``quotes``.

Runs the CLI in-process on the session's analysed demo corpus (``demo_corpus`` in tests/conftest.py;
English, French, Spanish and Swahili; built once per session).
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner


@pytest.fixture(scope="module")
def corpus(demo_corpus):
    return demo_corpus.evidence()


@pytest.fixture(scope="module")
def languages(corpus):
    from analysis.explore import theme_languages

    return theme_languages(corpus)


def invoke(settings, *args: str) -> str:
    """Run ``lnob`` in-process against ``settings``' data; returns its stdout."""
    from cli.main import cli

    base = ["--data-dir", str(settings.data_dir), "--database-url", settings.resolved_database_url]
    result = CliRunner().invoke(cli, [*base, *args], env={"LNOB_PSEUDONYM_KEY": "test-key-0123456789abcdef0123456789"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_no_small_count(shown: dict[str, str]) -> None:
    """Every count is "<5", hidden with one ("≥5") or at least 5 (the demo corpus's small-cell threshold)."""
    for key, value in shown.items():
        assert key == "(withheld)" or value in ("<5", "≥5") or int(value) >= 5, shown


def test_the_demo_corpus_has_several_languages(languages):
    assert set(languages.corpus.languages) == {"en", "es", "fr", "sw"}
    assert languages.themes


def test_themes_json_gives_each_theme_its_languages_and_flag(corpus, languages):
    rows = json.loads(invoke(corpus.settings, "themes", "--json"))["themes"]
    assert rows
    for row in rows:
        expected = languages.of(row["id"])
        assert row["languages"] == expected.mix.protected(5).labels()
        assert_no_small_count(row["languages"])
        assert row["language_count"] == len(expected.mix.languages)
        if expected.flag is None:
            assert row["single_language"] is None
        else:
            assert row["single_language"]["language"] == expected.flag.language
            assert row["single_language"]["reason"] == expected.flag.reason


def test_themes_table_shows_languages_and_each_flag_with_its_reason(corpus, languages):
    output = invoke(corpus.settings, "themes")
    header = output.splitlines()[0].split()
    assert "languages" in header and "one" in header
    reasons = [line for line in output.splitlines() if " is essentially one language: " in line]
    assert len(reasons) == len(languages.flagged)
    for entry in languages.flagged:
        assert f"theme {entry.theme_id} (" in output and entry.flag.reason in output
        assert f"yes ({entry.flag.language})" in output
    for entry in languages.themes.values():
        assert entry.mix.shown(5, limit=4) in output


def test_one_theme_shows_its_languages_the_flag_and_each_quote_in_its_language(corpus, languages):
    from analysis.languages import language_label

    theme_id = next(iter(languages.themes))
    expected = languages.of(theme_id)
    output = invoke(corpus.settings, "theme", str(theme_id))
    assert re.search(rf"^languages\s+{re.escape(expected.mix.shown(5))}$", output, re.M)
    assert ("essentially one language: " in output) == (expected.flag is not None)
    detail = json.loads(invoke(corpus.settings, "theme", str(theme_id), "--json"))
    assert detail["languages"] == expected.mix.protected(5).labels()
    assert (detail["single_language"] is None) == (expected.flag is None)
    assert detail["quotes"]
    for quote in detail["quotes"]:
        assert quote["language"]
        assert f"{language_label(quote['language'])}, {quote['kind']}" in output

    quotes = invoke(corpus.settings, "quotes", str(theme_id))
    listed = json.loads(invoke(corpus.settings, "quotes", str(theme_id), "--json"))["quotes"]
    for quote in listed:
        assert language_label(quote["language"]) in quotes


def test_analyse_reports_the_languages_of_each_theme(demo_corpus, tmp_path):
    evidence = demo_corpus.copy(tmp_path / "data")
    payload = json.loads(invoke(evidence.settings, "analyse", "--json").splitlines()[-1])
    assert payload["themes"] > 0
    languages = payload["languages"]
    assert set(languages["corpus"]["languages"]) == {"en", "es", "fr", "sw"}
    assert len(languages["themes"]) == payload["themes"]
    for entry in languages["themes"].values():
        assert_no_small_count(entry["languages"])
        assert entry["single_language"] is None or entry["single_language"]["reason"].endswith(
            "it may gather a language rather than a subject")

    output = invoke(evidence.settings, "analyse")
    assert re.search(r"^languages: en \d+, (es|fr|sw) (\d+|≥5|<5)", output, re.M)
    flagged = [k for k, v in languages["themes"].items() if v["single_language"]]
    assert len([line for line in output.splitlines() if " is essentially one language: " in line]) == len(flagged)


def test_the_demo_themes_are_about_something_not_about_a_language(corpus, languages):
    """Issue 9: with the multilingual default, no demo theme is one language, and themes do not follow language."""
    from sklearn.metrics import normalized_mutual_info_score

    assert all(languages.of(theme_id).flag is None for theme_id in languages.themes), "a demo theme is one language"
    assignments = corpus.themes.assignments()
    records = [r for r in corpus.store.records() if assignments.get(r.id) and assignments[r.id].theme_id is not None]
    themes = [assignments[r.id].theme_id for r in records]
    assert normalized_mutual_info_score([r.language for r in records], themes) < 0.15
    multilingual = [t for t in languages.themes if len(languages.of(t).mix.languages) >= 3]
    assert len(multilingual) >= len(languages.themes) // 2
