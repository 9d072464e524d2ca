"""Redaction: personal details replaced, analytic details kept, in many languages."""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections import Counter

import pytest
import spacy

from corpus.redaction import (
    PLACEHOLDERS,
    TRAINED_PIPELINES,
    RedactionResult,
    Redactor,
    is_country,
)


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    """The default redactor, as the bot builds it (NER wherever installed)."""
    return Redactor(use_ner=True)


@pytest.fixture(scope="module")
def patterns_only() -> Redactor:
    """A redactor that never uses NER, so expectations do not depend on models."""
    return Redactor(use_ner=False)


def assert_consistent(original: str, result: RedactionResult) -> None:
    """Spans are sorted, disjoint, on the original text, and rebuild the result."""
    rebuilt, position = [], 0
    for start, end, placeholder in result.spans:
        assert position <= start < end <= len(original)
        assert placeholder in PLACEHOLDERS
        rebuilt += [original[position:start], placeholder]
        position = end
    rebuilt.append(original[position:])
    assert "".join(rebuilt) == result.text
    assert result.counts == dict(Counter(p for _, _, p in result.spans))


def redacted_parts(original: str, result: RedactionResult) -> list[tuple[str, str]]:
    """What each span hid, with its placeholder."""
    return [(original[start:end], placeholder) for start, end, placeholder in result.spans]


PHONES = [
    ("en", "Call me on +254 712 345 678 tomorrow.", "+254 712 345 678"),
    ("ne", "मेरो फोन नम्बर +977-98-4123-4567 हो।", "+977-98-4123-4567"),
    ("en", "My brother's number is (+880) 1712-345678.", "(+880) 1712-345678"),
    ("vi", "Số điện thoại của tôi là +84 912 345 678 nhé.", "+84 912 345 678"),
    ("sw", "Nipigie simu 0712 345 678 jioni.", "0712 345 678"),
    ("en", "The office: +1 (555) 123-4567, ask for help.", "+1 (555) 123-4567"),
    ("fr", "Appelez le 00 33 6 12 34 56 78 svp.", "00 33 6 12 34 56 78"),
    ("fr", "Mon portable : 06.12.34.56.78.", "06.12.34.56.78"),
    ("es", "Llámame al +34 612 34 56 78, por favor.", "+34 612 34 56 78"),
    ("en", "US line (555) 123-4567 works.", "(555) 123-4567"),
    ("sw", "Namba yangu ni 0712345678.", "0712345678"),
    ("ne", "मेरो नम्बर ९८४१२३४५६७ हो।", "९८४१२३४५६७"),
    ("ne", "फोन +९७७ ९८४१२३४५६७ मा गर्नुहोस्।", "+९७७ ९८४१२३४५६७"),
    ("en", "Whatsapp:+254712345678", "+254712345678"),
]


@pytest.mark.parametrize(("language", "text", "phone"), PHONES)
def test_phone_numbers_in_international_and_national_forms(
    patterns_only: Redactor, language: str, text: str, phone: str
) -> None:
    result = patterns_only.redact(text, language)
    assert result.text == text.replace(phone, "[PHONE]")
    assert redacted_parts(text, result) == [(phone, "[PHONE]")]
    assert result.counts == {"[PHONE]": 1}


KEPT = [
    ("en", "In 2026 we were 3 children and walked 50 km to school."),
    ("en", "It happened on 12/03/2026 at 10:30, and again on 2026-03-14."),
    ("fr", "Le 12.03.2026 à 14:15, 45 % des familles n'avaient rien."),
    ("sw", "Nililipa shilingi 5,000 na KSh 2500000 kwa mwaka 2025."),
    ("en", "They asked for 5,000 shillings, Rs 10000 and then $1,200,000."),
    ("fr", "Le projet coûte 1 500 000 FCFA pour 12 000 personnes."),
    ("vi", "Gia đình tôi trả 5.000.000 đồng, tức là 30% thu nhập."),
    ("ne", "हामी ५ जना छौं र २०८० सालमा ३० किलोमिटर हिँड्यौं।"),
    ("es", "En 2015 500 familias perdieron su casa; el 12,5% no volvió."),
    ("en", "About 3.5 million people, 1,500,000 of them children, +20 000 more."),
    ("en", "Population growth was 12345678% - a typo, but not an id."),
    ("es", "Tenemos 4 hijos de 2, 5, 7 y 11 años: 0 5 10 15 20 25 pesos."),
    ("en", "Meet at 9:45:30, room 12, floor 3."),
    ("en", "In the 2019-2020 school year, and in 1998 2005 2010, floods came."),
    ("fr", "Plus de +1 500 000 déplacés depuis 2019."),
]


@pytest.mark.parametrize(("language", "text"), KEPT)
def test_non_personal_numbers_are_kept(patterns_only: Redactor, language: str, text: str) -> None:
    result = patterns_only.redact(text, language)
    assert result.text == text
    assert result.spans == []
    assert result.counts == {}


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Write to jane.doe+help@example.org please.", "Write to [EMAIL] please."),
        ("fr", "Écrivez à josé.müller@exemple.fr, merci.", "Écrivez à [EMAIL], merci."),
        ("sw", "Barua pepe: amina_k@mail.co.ke.", "Barua pepe: [EMAIL]."),
    ],
)
def test_email_addresses(patterns_only: Redactor, language: str, text: str, expected: str) -> None:
    assert patterns_only.redact(text, language).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("See https://example.org/report?id=7.", "See [URL]."),
        ("Visit www.ngo-kenya.org, it helps.", "Visit [URL], it helps."),
        ("Bare domain example.org/path/page is fine.", "Bare domain [URL] is fine."),
        ("Ministry site health.gov.np now.", "Ministry site [URL] now."),
        ("(https://en.wikipedia.org/wiki/Foo_(bar)) end", "([URL]) end"),
        ("e.g. this, etc. and a.m. are not links.", "e.g. this, etc. and a.m. are not links."),
        ("The end.It was late.", "The end.It was late."),
    ],
)
def test_urls(patterns_only: Redactor, text: str, expected: str) -> None:
    assert patterns_only.redact(text, "en").text == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "![p](//evil.example/p.png) look", "![p]([URL]) look"),
        ("fr", "Voir //cdn.exemple.net/img?id=joe.", "Voir [URL]."),
        ("en", "a pixel data:image/png;base64,iVBORw0KGgo= here", "a pixel [URL] here"),
        ("es", "enlace data:text/html,<b>hola</b> fin", "enlace [URL] fin"),
        ("en", "[click for aid](javascript:alert(document.cookie))", "[click for aid]([URL])"),
        ("sw", "Niandikie t.me/joe_k au wa.me/254712345678.", "Niandikie [URL] au [URL]."),
        ("en", "Join t.me/joinchat/AbC-12_x, or tg://resolve?domain=joe_k", "Join [URL], or [URL]"),
        ("fr", "Ma page : facebook.com/aicha.diallo et www.x.y", "Ma page : [URL] et [URL]"),
        ("ne", "मेरो पेज instagram.com/ram_b हो।", "मेरो पेज [URL] हो।"),
        ("vi", "Trang của tôi: zalo.me/0912345678 nhé", "Trang của tôi: [URL] nhé"),
        ("en", "A site like mysite.xyz or evil.example/p.png", "A site like [URL] or [URL]"),
    ],
)
def test_links_without_a_scheme_scheme_relative_and_data_uris(
    patterns_only: Redactor, language: str, text: str, expected: str
) -> None:
    result = patterns_only.redact(text, language)
    assert result.text == expected
    assert set(result.counts) == {"[URL]"}
    assert_consistent(text, result)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "My passport AB1234567 was taken.", "My passport [ID] was taken."),
        ("fr", "Passeport n° C1234567, expiré.", "Passeport n° [ID], expiré."),
        ("sw", "Pasipoti yangu ni ak-12345678.", "Pasipoti yangu ni [ID]."),
        ("ne", "राहदानी PA123456 हरायो।", "राहदानी [ID] हरायो।"),
        ("es", "Pasaporte (XB987654321) retenido.", "Pasaporte ([ID]) retenido."),
        ("vi", "Hộ chiếu B1234567 của tôi bị giữ.", "Hộ chiếu [ID] của tôi bị giữ."),
    ],
)
def test_passport_style_ids(patterns_only: Redactor, language: str, text: str, expected: str) -> None:
    result = patterns_only.redact(text, language)
    assert result.text == expected
    assert result.counts == {"[ID]": 1}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "e.g. water, i.e. clean water, etc. and Mr.Smith came at a.m./p.m. shifts."),
        ("en", "The doctor came at 10.30, left at 12.45; pi is 3.14 and 12.5 14.75 20.25 kg were weighed."),
        ("en", "We paid Rs1500000 and Tk500000; COVID19 hit the G20, A4 paper, km/h and and/or."),
        ("fr", "Vers 10.30 le maire, M.Dupont, a dit : « voir p.ex. la page 3 »."),
        ("es", "Pagamos 3.5 y 10.25 pesos, p.ej. a las 10.30, y/o más tarde."),
        ("sw", "Tulifika saa 10.30 asubuhi, k.m. kwa basi; bei ni 2.5 3.5 4.5."),
        ("vi", "Lúc 10.30 sáng, ông Nam (v.v.) nói giá là 2.5 triệu."),
        ("en", "It was a long road // no bus, yes//no, and Data: 5 families."),
    ],
)
def test_ordinary_words_decimals_and_times_are_not_redacted(
    patterns_only: Redactor, language: str, text: str
) -> None:
    result = patterns_only.redact(text, language)
    assert result.text == text
    assert result.spans == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Message @kamau_22 on Telegram.", "Message [HANDLE] on Telegram."),
        ("Follow @NgoNepal, then reply.", "Follow [HANDLE], then reply."),
        ("Tufuate @Amina_Njeri kwenye Twitter.", "Tufuate [HANDLE] kwenye Twitter."),
        ("We meet @5 near the well.", "We meet @5 near the well."),
    ],
)
def test_handles(patterns_only: Redactor, text: str, expected: str) -> None:
    assert patterns_only.redact(text, "en").text == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "My national ID is 12345678.", "My national ID is [ID]."),
        ("en", "Aadhaar 1234 5678 9012 was refused.", "Aadhaar [ID] was refused."),
        ("ne", "नागरिकता नम्बर 27-01-73-12345 हो।", "नागरिकता नम्बर [ID] हो।"),
        ("fr", "Mon numéro de dossier : 4521-8876-12.", "Mon numéro de dossier : [ID]."),
        ("es", "En 2015 5000000 fue mi registro.", "En 2015 [ID] fue mi registro."),
        ("vi", "Số CMND của tôi là 123456789.", "Số CMND của tôi là [ID]."),
    ],
)
def test_long_digit_sequences_are_ids(
    patterns_only: Redactor, language: str, text: str, expected: str
) -> None:
    result = patterns_only.redact(text, language)
    assert result.text == expected
    assert set(result.counts) == {"[ID]"}


def test_url_before_email_before_handle(patterns_only: Redactor) -> None:
    text = "https://example.org/c?to=jane@example.org or jane@example.org, not @jane"
    result = patterns_only.redact(text, "en")
    assert result.text == "[URL] or [EMAIL], not [HANDLE]"
    assert result.counts == {"[URL]": 1, "[EMAIL]": 1, "[HANDLE]": 1}


def test_a_date_does_not_glue_to_the_phone_after_it(patterns_only: Redactor) -> None:
    result = patterns_only.redact("born 12.03.1990 0712345678, 2026-03-12 +254712345678", "en")
    assert result.text == "born 12.03.1990 [PHONE], 2026-03-12 [PHONE]"


MIXED = [
    ("en", "I'm at +254 712 345 678 or jane@example.org; see www.help.org, @amina_k, ID 12345678."),
    ("fr", "Contactez Aïcha au 06 12 34 56 78 ou aicha.diallo@exemple.fr — merci à l'ONG."),
    ("es", "Mi correo es maría.lópez@correo.es y mi teléfono +34 612 345 678; ¡gracias!"),
    ("sw", "Mama yangu anaishi Kibera; simu yake ni 0722 123 456, alilipa shilingi 5,000."),
    ("ne", "हाम्रो गाउँमा पानी छैन। मलाई +977-98-4123-4567 मा फोन गर्नुहोस्, २०२६ मा।"),
    ("vi", "Tôi sống ở Hà Giang, điện thoại 0912 345 678, email tran.thi@vnmail.vn."),
]


@pytest.mark.parametrize(("language", "text"), MIXED)
def test_unicode_is_preserved_around_placeholders(
    patterns_only: Redactor, language: str, text: str
) -> None:
    result = patterns_only.redact(text, language)
    assert result.spans
    assert_consistent(text, result)
    # Everything outside the spans is character for character the original.
    starts = [start for start, _, _ in result.spans] + [len(text)]
    ends = [0] + [end for _, end, _ in result.spans]
    for end, start in zip(ends, starts):
        assert text[end:start] in result.text


@pytest.mark.parametrize(
    ("language", "text"), MIXED + [(lang, text) for lang, text, _ in PHONES] + KEPT
)
def test_redaction_is_idempotent(redactor: Redactor, language: str, text: str) -> None:
    once = redactor.redact(text, language)
    twice = redactor.redact(once.text, language)
    assert twice.text == once.text
    assert twice.spans == []


@pytest.mark.parametrize(("language", "text"), MIXED + [(lang, text) for lang, text, _ in PHONES])
def test_spans_are_on_the_original_text(redactor: Redactor, language: str, text: str) -> None:
    assert_consistent(text, redactor.redact(text, language))


def test_spans_point_at_what_was_hidden(patterns_only: Redactor) -> None:
    text = "Habari! Mimi ni @amina_k, simu 0712 345 678, barua amina@mail.co.ke."
    result = patterns_only.redact(text, "sw")
    assert redacted_parts(text, result) == [
        ("@amina_k", "[HANDLE]"),
        ("0712 345 678", "[PHONE]"),
        ("amina@mail.co.ke", "[EMAIL]"),
    ]
    assert result.spans == sorted(result.spans)
    assert result.text == "Habari! Mimi ni [HANDLE], simu [PHONE], barua [EMAIL]."


def test_empty_and_blank_text(redactor: Redactor) -> None:
    for text in ("", "   ", "\n"):
        result = redactor.redact(text, "en")
        assert result == RedactionResult(text=text, spans=[], counts={})
        assert not result.redacted


def test_text_with_only_personal_details(patterns_only: Redactor) -> None:
    result = patterns_only.redact("+254 712 345 678 jane@example.org @kamau_22", None)
    assert result.text == "[PHONE] [EMAIL] [HANDLE]"
    assert result.counts == {"[EMAIL]": 1, "[HANDLE]": 1, "[PHONE]": 1}
    assert result.redacted


def test_counts_add_up_per_placeholder(patterns_only: Redactor) -> None:
    text = "0712 345 678, 0722 123 456 and +255 754 123 456; ids 12345678 and 87654321."
    result = patterns_only.redact(text, "sw")
    assert result.counts == {"[PHONE]": 3, "[ID]": 2}


def test_placeholders_already_there_are_left_alone(redactor: Redactor) -> None:
    text = "[NAME] from [PLACE] called [PHONE] about [ID], see [URL] or [EMAIL] [HANDLE]."
    assert redactor.redact(text, "en") == RedactionResult(text=text, spans=[], counts={})


def test_any_language_tag_and_none_work(patterns_only: Redactor) -> None:
    text = "Simu: +255 754 123 456"
    expected = "Simu: [PHONE]"
    for language in (None, "sw", "sw-TZ", "SW_tz", "xx-unknown", ""):
        assert patterns_only.redact(text, language).text == expected


def test_without_trained_pipelines_redaction_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        redactor = Redactor(use_ner=True)
        for language in ("sw", "ne", "vi", None):
            redactor.redact("Simu 0712 345 678 ya Amina.", language)
    assert all(record.levelno <= logging.DEBUG for record in caplog.records)


def test_ner_can_be_turned_off() -> None:
    assert not Redactor(use_ner=False).ner_available("en")


def test_ner_is_unavailable_where_no_pipeline_is_installed() -> None:
    if importlib.util.find_spec("xx_ent_wiki_sm") is not None:
        pytest.skip("the multilingual xx_ent_wiki_sm pipeline is installed")
    assert not Redactor(use_ner=True).ner_available("sw")


def test_country_names_are_recognised_in_english_french_and_spanish() -> None:
    for name in ("Kenya", "the United States", "U.S.", "Côte d'Ivoire", "Cote d’Ivoire",
                 "Népal", "Nepal", "Viet Nam", "Royaume-Uni", "États-Unis", "Perú",
                 "España", "Sub-Saharan Africa", "RDC"):
        assert is_country(name), name
    for name in ("Kibera", "Nairobi", "Kathmandu", "Hà Giang", "Dhaka", "Lyon"):
        assert not is_country(name), name


def rule_based_pipeline() -> spacy.language.Language:
    """A real spaCy pipeline whose entities come from rules, not a trained model."""
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": "Amina Njeri"},
            {"label": "GPE", "pattern": "Kibera"},
            {"label": "GPE", "pattern": "Kenya"},
            {"label": "LOC", "pattern": "Rift Valley"},
            {"label": "ORG", "pattern": "Red Cross"},
            {"label": "PERSON", "pattern": "amina@x.ke"},
        ]
    )
    return nlp


def test_names_and_places_below_country_level_with_a_pipeline() -> None:
    redactor = Redactor(use_ner=True, pipelines={"en": rule_based_pipeline()})
    assert redactor.ner_available("en-KE")
    text = "Amina Njeri from Kibera in the Rift Valley of Kenya met the Red Cross (amina@x.ke)"
    result = redactor.redact(text, "en-KE")
    assert result.text == "[NAME] from [PLACE] in the [PLACE] of Kenya met the Red Cross ([EMAIL])"
    assert result.counts == {"[EMAIL]": 1, "[NAME]": 1, "[PLACE]": 2}
    assert_consistent(text, result)
    assert redactor.redact(result.text, "en").text == result.text


@pytest.mark.skipif(
    not any(importlib.util.find_spec(name) for name in TRAINED_PIPELINES["en"]),
    reason="no trained English spaCy pipeline (en_core_web_sm) is installed; NER is optional",
)
def test_trained_english_pipeline_redacts_names_and_keeps_countries() -> None:
    redactor = Redactor(use_ner=True)
    assert redactor.ner_available("en")
    text = "Sarah Johnson moved from Manchester to Kenya last year. Call +254 712 345 678."
    result = redactor.redact(text, "en")
    assert "Sarah" not in result.text and "Johnson" not in result.text
    assert "Manchester" not in result.text
    assert "Kenya" in result.text
    assert result.counts["[NAME]"] >= 1 and result.counts["[PHONE]"] == 1
    assert_consistent(text, result)


@pytest.mark.parametrize(
    "text",
    ["1-" * 20_000, "a." * 20_000, "0" * 50_000 + "x", "@" * 20_000, "(1) " * 10_000, "x@" * 9_000,
     "a." * 20_000 + "ab/", "//a." * 10_000, "AB1" * 20_000, "data:;" * 10_000],
)
def test_hostile_input_is_redacted_consistently(patterns_only: Redactor, text: str) -> None:
    """Inputs that make naive patterns backtrack catastrophically; pytest-timeout stops a hang."""
    result = patterns_only.redact(text, "en")
    assert_consistent(text, result)


def test_redaction_is_deterministic(patterns_only: Redactor) -> None:
    text = MIXED[0][1]
    assert patterns_only.redact(text, "en") == patterns_only.redact(text, "en")
