"""The language mix of a theme, the single-language flag and its reason, under the small-cell rule."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from analysis.languages import (
    LanguageMix,
    SingleLanguageRule,
    language_label,
    languages_of,
    percent,
)
from corpus.store import TestimonyRecord

_ids = iter(range(1_000_000))


def record(language: str | None, contributor: int | None = None) -> TestimonyRecord:
    """A testimony in ``language``; each one from its own contributor unless ``contributor`` is given."""
    i = next(_ids)
    return TestimonyRecord(
        id=f"t{i}", kind="testimony", text=f"text {i}", language=language,
        created_at=datetime(2026, 3, 1, tzinfo=timezone.utc), country="KE", region=None, organisation="plan",
        consent_level="quote", self_drivers=(), contributor_id=i if contributor is None else contributor,
        age_band=None, gender=None, groups=(), source="test", index_status="indexed", text_hash=str(i),
    )


def records(**per_language: int) -> list[TestimonyRecord]:
    """``records(sw=49, en=3)``: that many texts per language (``none`` for texts without one)."""
    return [record(None if language == "none" else language) for language, n in per_language.items() for _ in range(n)]


# -- the mix ----------------------------------------------------------------------------


def test_a_mix_counts_texts_per_language_largest_first():
    mix = LanguageMix.of(records(en=12, ht=9, fr=3, none=2))
    assert list(mix.counts) == ["en", "ht", "fr", "unknown"]
    assert mix.total == 26
    assert mix.languages == ["en", "ht", "fr"]  # "unknown" is not a language
    assert mix.largest == "en" and mix.largest_share == pytest.approx(12 / 26)
    assert mix.share("fr") == pytest.approx(3 / 26) and mix.share("sw") == 0.0


def test_a_mix_shows_small_cells_as_lt5_and_hides_a_complement():
    # "en 12, ht 9, fr <5" once gave fr = 3 from the total (24): ht is hidden with it now
    mix = LanguageMix.of(records(en=12, ht=9, fr=3))
    assert mix.shown(5) == "en 12, fr <5, ht ≥5"
    assert mix.shown(5, names=True) == "English (en) 12, French (fr) <5, Haitian Creole (ht) ≥5"
    assert mix.shown(5, limit=2) == "en 12, fr <5, and 1 more"
    assert mix.shown(3) == "en 12, ht 9, fr 3"  # the threshold is the setting's
    assert LanguageMix().shown(5) == "-"


def test_a_cell_is_small_by_its_contributors_not_its_texts():
    one_person = [record("fr", contributor=7) for _ in range(8)]
    mix = LanguageMix.of(records(en=6) + one_person)
    assert mix.shown(5) == "en ≥5, fr <5"  # "fr <5, en 6" gave fr = 8 from the total


def test_the_json_of_a_mix_hides_small_cells_and_the_share_of_a_hidden_largest_cell():
    # {"en": "12", "fr": "<5"} with a share of 0.8 once gave fr = 3
    assert LanguageMix.of(records(en=12, fr=3, sw=9)).to_dict(5) == {
        "languages": {"en": "12", "fr": "<5", "sw": "≥5"},
        "language_count": 3,
        "largest_language": "en",
        "largest_language_share": 0.5,
    }
    assert LanguageMix.of(records(en=12, fr=3)).to_dict(5)["largest_language_share"] is None
    small = LanguageMix.of(records(en=3, fr=1)).to_dict(5)
    assert small["languages"] == {"en": "<5", "fr": "<5"} and small["largest_language_share"] is None


def test_language_labels_and_percentages():
    assert language_label("sw") == "Swahili (sw)"
    assert language_label("pt-br") == "Portuguese (pt-br)"
    assert language_label("qqx") == "qqx"  # a code no language has
    assert language_label(None) == language_label("unknown") == "language unknown"
    assert [percent(s) for s in (0.0, 0.004, 0.3, 0.9423, 0.996, 1.0)] == ["0%", "<1%", "30%", "94%", ">99%", "100%"]


# -- the single-language flag -----------------------------------------------------------


def test_a_theme_nearly_all_in_an_over_represented_language_is_flagged_with_its_reason():
    theme = records(sw=90, en=3, fr=6)
    corpus = theme + records(sw=60, en=341)  # sw: 150 of 500
    flag = SingleLanguageRule().check(LanguageMix.of(theme), LanguageMix.of(corpus))
    assert flag is not None and flag.language == "sw" and flag.theme_texts == 99
    assert flag.reason == ("91% of its 99 texts are Swahili (sw), against 30% of the corpus: "
                           "it may gather a language rather than a subject")
    assert flag.to_dict() == {"language": "sw", "theme_share": 0.91, "corpus_share": 0.3, "reason": flag.reason}


def test_no_flag_gives_a_hidden_count_away():
    # "94% of its 52 texts are Swahili" beside "sw ≥5, en <5" gave en = 3: the dominant cell is hidden, no flag
    theme = records(sw=49, en=3)
    corpus = LanguageMix.of(theme + records(sw=101, en=347))
    assert LanguageMix.of(theme).shown(5) == "en <5, sw ≥5"
    assert SingleLanguageRule().check(LanguageMix.of(theme), corpus) is None
    # the corpus's count of the language hidden (a complement): its share is not given either
    theme = records(sw=40)
    corpus = LanguageMix.of(theme + records(en=400, fr=3, sw=5))  # sw 45 is fr's complement
    flag = SingleLanguageRule(min_corpus_share=0.001).check(LanguageMix.of(theme), corpus)
    assert flag is not None and flag.corpus_share is None and "against a smaller share of the corpus" in flag.reason


@pytest.mark.parametrize(
    "theme, rest, why",
    [
        (dict(en=40), dict(en=400), "the corpus has one language"),
        (dict(en=40), dict(en=400, fr=3), "the other language is a small cell under 10% of the corpus"),
        (dict(en=35, fr=5), dict(en=300, fr=100), "only 88% of the theme is in one language"),
        (dict(en=40), dict(en=300, fr=60), "English is 85% of the corpus: under the 20-point margin"),
        (dict(fr=4), dict(en=300, fr=100), "the theme's French texts are a small cell"),
    ],
)
def test_no_flag(theme, rest, why):
    members = records(**theme)
    corpus = members + records(**rest)
    assert SingleLanguageRule().check(LanguageMix.of(members), LanguageMix.of(corpus)) is None, why


def test_a_language_counts_in_the_corpus_when_it_is_not_a_small_cell_even_under_10_percent():
    theme = records(fr=10)
    corpus = LanguageMix.of(theme + records(en=990))  # French is 1% of the corpus, from 10 people
    rule = SingleLanguageRule()
    assert rule.corpus_languages(corpus) == ["en", "fr"]
    assert rule.check(LanguageMix.of(theme), corpus).reason.startswith("100% of its 10 texts are French (fr), against 1%")


def test_the_thresholds_are_parameters():
    theme = records(sw=90, en=3, fr=6)
    corpus = LanguageMix.of(theme + records(sw=60, en=341))
    assert SingleLanguageRule().check(LanguageMix.of(theme), corpus) is not None
    assert SingleLanguageRule(dominance=0.95).check(LanguageMix.of(theme), corpus) is None
    assert SingleLanguageRule(margin=0.7).check(LanguageMix.of(theme), corpus) is None
    assert SingleLanguageRule(small_cell=100).check(LanguageMix.of(theme), corpus) is None  # 90 sw texts: a small cell
    description = SingleLanguageRule().describe()
    assert "at least 90% of its texts" in description and "20 points" in description and "10%" in description


def test_languages_of_a_corpus_and_its_themes():
    sw, en, unthemed, not_analysed = records(sw=20), records(en=30), records(en=10), records(fr=50)
    theme_of = {r.id: 1 for r in sw} | {r.id: 2 for r in en} | {r.id: None for r in unthemed}
    languages = languages_of(sw + en + unthemed + not_analysed, theme_of, SingleLanguageRule())
    assert languages.corpus.shown() == "en 40, sw 20"  # unthemed texts count, texts never analysed do not
    assert languages.of(1).mix.shown() == "sw 20" and languages.of(2).mix.shown() == "en 30"
    assert [t.theme_id for t in languages.flagged] == [1, 2]  # 100% vs 33% and 100% vs 67%
    assert languages.of(99).mix.total == 0 and languages.of(99).flag is None
    payload = languages.to_dict()
    assert payload["corpus"]["languages"] == {"en": "40", "sw": "20"}
    assert payload["themes"]["1"]["single_language"]["language"] == "sw"


def test_a_mix_of_bare_language_values_counts_each_text_as_its_own_contributor():
    mix = LanguageMix.of_languages(["sw", "en", "sw", None, "sw"])
    assert mix.shown(1) == "sw 3, en 1, unknown 1" and mix.shown(2) == "sw 3, en <2, unknown <2"
