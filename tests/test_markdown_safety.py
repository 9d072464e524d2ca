"""Markdown that stays text: no quote, label or title written to Markdown becomes a link, an image or HTML.

Every Markdown file (quote exports, reports, the zip of a report sent in chat)
is rendered with a real CommonMark renderer (markdown-it-py, with GitHub's
tables and strikethrough) and its elements are inspected.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from sqlalchemy import text as sql

HOSTILE = [
    "[click for aid](javascript:alert(document.cookie))",
    "![p](//evil.example/p.png)",
    "[click for aid]([URL]) and ![p]([URL])",  # what the redactor leaves: still link syntax
    "<img src=x onerror=alert(1)> <script>alert(1)</script> <a href='//evil.example'>aid</a>",
    "<https://evil.example/aid> <aid@evil.example>",
    "[aid][1] and [aid]\n\n[1]: https://evil.example/aid",
    "*em* _em_ **strong** __strong__ ~~gone~~ `code` $x$ a|b snake_case_word",
    "# a heading\n---\n1. a list\n- an item\n+ another\n> a quote\n===",
    "    indented code\n\n    more code",
    "&lt;b&gt; &#106;avascript &amp; \\[escaped\\] \\",
    "```\nfenced\n```\n~~~\nfenced\n~~~",
    "title with closing hashes ##",
]

ELEMENTS_FROM_TEXT = {"link_open", "image", "html_inline", "html_block", "code_inline", "code_block", "fence",
                      "em_open", "strong_open", "s_open", "hr", "ordered_list_open", "table_open"}


def renderer() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def tokens(markdown: str) -> list[Token]:
    """Every token of ``markdown``, inline children included."""
    found: list[Token] = []
    stack = list(reversed(renderer().parse(markdown)))
    while stack:
        token = stack.pop()
        found.append(token)
        stack.extend(reversed(token.children or []))
    return found


def plain_text(markdown: str) -> str:
    """The text a reader sees (escapes resolved), lines joined by newlines."""
    parts = []
    for token in tokens(markdown):
        if token.type in ("text", "text_special"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak", "paragraph_close", "heading_close", "th_close", "td_close"):
            parts.append("\n")
    return "".join(parts)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_block_keeps_hostile_text_as_text(hostile: str) -> None:
    from analysis.reports import Bullets, Heading, Paragraph, QuoteBlock, Table, render_markdown

    one_line = " ".join(hostile.split())
    blocks = [Heading(one_line), QuoteBlock(hostile, one_line), Bullets([one_line]), Paragraph(one_line),
              Paragraph(one_line, note=True), Table(["theme", one_line], [[one_line, "<5"]])]
    markdown, _ = render_markdown(one_line, blocks, "chart")
    found = tokens(markdown)
    assert not {t.type for t in found} & (ELEMENTS_FROM_TEXT - {"em_open", "table_open"})
    assert sum(t.type == "em_open" for t in found) == 1  # the note's own italics, nothing else
    assert sum(t.type == "table_open" for t in found) == 1 and sum(t.type == "td_open" for t in found) == 2
    assert sum(t.type == "heading_open" for t in found) == 2 and sum(t.type == "bullet_list_open" for t in found) == 1
    seen = plain_text(markdown)
    assert seen.count(one_line) >= 8  # title, heading, provenance, bullet, paragraph, note, header, cell
    for line in hostile.splitlines():  # the quote, line by line, exactly as it was written (less indentation)
        assert line.strip() in seen


def test_a_quote_export_written_to_markdown_stays_text(evidence) -> None:
    from corpus.store import TestimonyDraft

    from analysis.reports import export_quotes

    stored = evidence.store.add_testimonies(
        [TestimonyDraft(text=f"We need help at the clinic. {hostile}", consent_level="quote", source="import",
                        source_ref=f"md-{n}", contributor_ref=f"person-{n}", language="en", country="KE")
         for n, hostile in enumerate(HOSTILE)]
    )
    ids = [t.id for t in stored]
    title = "Quotes [aid](javascript:alert(1)) ![p](//evil.example/p.png)"
    path = export_quotes(evidence, ids, "md", title=title, kind="quotes")
    markdown = path.read_text(encoding="utf-8")
    found = tokens(markdown)
    assert not {t.type for t in found} & (ELEMENTS_FROM_TEXT - {"em_open"})
    assert sum(t.type == "em_open" for t in found) == 1  # the export's own note, in italics
    seen = plain_text(markdown)
    assert title in seen
    for record in evidence.store.records(ids):
        assert record.id in seen
        for line in record.text.splitlines():
            assert line.strip() in seen


@pytest.fixture
def hostile_corpus(demo_corpus, tmp_path: Path):
    """A copy of the analysed corpus whose quotable texts and first theme's label carry hostile Markdown."""
    from analysis.explore import list_themes

    evidence = demo_corpus.copy(tmp_path / "data")
    with evidence.store.engine.begin() as connection:
        connection.execute(sql("UPDATE testimony SET redacted_text = redacted_text || :tail"),
                           {"tail": " [click for aid](javascript:alert(1)) ![p](//evil.example/p.png) <b>x</b>"})
    evidence.themes.rename(list_themes(evidence)[0]["id"], "Water [aid](javascript:alert(1)) ![p](//evil.example/p.png)")
    return evidence


def test_a_report_and_its_chat_package_stay_text(hostile_corpus) -> None:
    from analysis.reports import generate_report, report_package

    result = generate_report(hostile_corpus, None, "md")
    assert result.quotes
    name, package = report_package(result)  # what the bot sends in chat
    assert name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        members = set(archive.namelist())
        markdown = archive.read(result.path.name).decode("utf-8")
    found = tokens(markdown)
    assert not {t.type for t in found} & {"html_inline", "html_block"}
    links = [str(t.attrGet("href")) for t in found if t.type == "link_open"]
    assert links and all(href.startswith("#") for href in links)  # only the report's own links to its headings
    images = [t.attrGet("src") for t in found if t.type == "image"]
    assert images and set(images) <= members - {result.path.name}  # only the report's own charts
    seen = plain_text(markdown)
    assert seen.count("[click for aid](javascript:alert(1)) ![p](//evil.example/p.png) <b>x</b>") == result.quotes
    assert "Water [aid](javascript:alert(1)) ![p](//evil.example/p.png)" in seen
