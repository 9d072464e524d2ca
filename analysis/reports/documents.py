"""Documents as blocks (headings, paragraphs, bullets, tables, quotes, charts, a table of contents), rendered to
Markdown or HTML here and to DOCX by ``analysis.reports.wordfile``.

A document is built once as a list of blocks and rendered from the same
blocks to each format, so the three always hold the same content. Every text
written to Markdown is escaped (``_md``), so a testimony's words can never
become a live link, an image or a tag; the only links are the document's own,
to its headings (``Link``), written by the renderer.

Navigation: each heading has a stable ``anchor`` (``key-findings``,
``theme-12``). HTML uses it as the heading's ``id``; Markdown links to the
anchors GitHub-style renderers give headings (``github_slug``); DOCX makes it
a bookmark. A ``Contents`` block is the table of contents, drawn from the
headings that follow.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

TOC_LEVELS = 2  # headings listed in the contents of Markdown and HTML (DOCX: its TOC field, levels 1 to 3)


@dataclass
class Link:
    """A link to a heading of the same document, by its anchor."""

    text: str
    anchor: str


Span = str | Link
Rich = str | Sequence[Span]  # a text, or a text with links in it


@dataclass
class Heading:
    text: str
    level: int = 1
    anchor: str = ""  # stable id (``theme-12``); derived from the text when empty
    new_page: bool = False  # starts a new page when printed (an annex)


@dataclass
class Paragraph:
    text: Rich
    note: bool = False


@dataclass
class Bullets:
    items: list[Rich]


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass
class QuoteBlock:
    text: str
    provenance: str


@dataclass
class Chart:
    name: str
    png: bytes
    caption: str


@dataclass
class Contents:
    """The table of contents: the headings after it (Markdown and HTML), a TOC field Word fills (DOCX)."""

    title: str
    update_hint: str = ""  # what DOCX shows until Word has filled the field in


Block = Heading | Paragraph | Bullets | Table | QuoteBlock | Chart | Contents


@dataclass
class Anchors:
    """Where each heading can be linked to: its HTML id and its GitHub-style Markdown slug, by anchor."""

    ids: dict[int, str] = field(default_factory=dict)  # block index -> anchor
    slugs: dict[str, str] = field(default_factory=dict)  # anchor -> Markdown slug

    @classmethod
    def of(cls, blocks: Sequence[Block], title: str = "") -> Anchors:
        anchors = cls()
        seen: dict[str, int] = {}
        used: set[str] = set()
        if title:
            _unique_slug(github_slug(title), seen)
        for index, block in enumerate(blocks):
            if not isinstance(block, Heading):
                continue
            anchor = block.anchor or "h-" + (_ascii_slug(block.text) or str(index))
            while anchor in used:
                anchor += "-x"
            used.add(anchor)
            anchors.ids[index] = anchor
            anchors.slugs[anchor] = _unique_slug(github_slug(block.text), seen)
        return anchors


def github_slug(text: str) -> str:
    """The anchor GitHub (and renderers that follow it) gives a heading: lower case, punctuation and symbols
    dropped, each space a hyphen (``"#7 Water · wells"`` -> ``"7-water--wells"``)."""
    kept = "".join(c for c in str(text).lower() if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def _unique_slug(slug: str, seen: dict[str, int]) -> str:
    """GitHub's rule for repeated headings: the second ``a`` is ``a-1``, the third ``a-2``."""
    if slug not in seen:
        seen[slug] = 0
        return slug
    while True:
        seen[slug] += 1
        candidate = f"{slug}-{seen[slug]}"
        if candidate not in seen:
            seen[candidate] = 0
            return candidate


def _ascii_slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40]


def plain(text: Rich) -> str:
    """A rich text's words, without its links."""
    return text if isinstance(text, str) else "".join(s.text if isinstance(s, Link) else s for s in text)


def spans(text: Rich) -> list[Span]:
    return [text] if isinstance(text, str) else list(text)


def contents_entries(blocks: Sequence[Block], anchors: Anchors, start: int,
                     levels: int = TOC_LEVELS) -> list[tuple[int, str, str]]:
    """``(level, text, anchor)`` of the headings after block ``start`` that a contents lists."""
    return [(b.level, b.text, anchors.ids[i]) for i, b in enumerate(blocks)
            if i > start and isinstance(b, Heading) and b.level <= levels]


# -- Markdown -------------------------------------------------------------------------


def render_markdown(title: str, blocks: Sequence[Block], chart_stem: str) -> tuple[str, dict[str, bytes]]:
    """Markdown text and the chart files (name -> PNG) it links to, to be written next to it."""
    lines = [f"# {_md(title)}", ""]
    files: dict[str, bytes] = {}
    anchors = Anchors.of(blocks, title)
    md = lambda text: _md_rich(text, anchors)  # noqa: E731
    for index, block in enumerate(blocks):
        if isinstance(block, Heading):
            lines += ["#" * (block.level + 1) + " " + _md(block.text), ""]
        elif isinstance(block, Paragraph):
            lines += [f"_{md(block.text)}_" if block.note else md(block.text), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {md(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "|".join(" --- " for _ in block.headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, QuoteBlock):
            lines += ["> " + line for line in _md(block.text).splitlines() or [""]]
            lines += [">", f"> — {_md(block.provenance)}", ""]
        elif isinstance(block, Chart):
            name = f"{chart_stem}-{block.name}.png"
            files[name] = block.png
            lines += [f"![{_md(block.caption)}]({name})", "", f"_{_md(block.caption)}_", ""]
        elif isinstance(block, Contents):
            lines += [f"**{_md(block.title)}**", ""]
            lines += ["  " * (level - 1) + f"- [{_md(text)}](#{anchors.slugs[anchor]})"
                      for level, text, anchor in contents_entries(blocks, anchors, index)] + [""]
    return "\n".join(lines).rstrip() + "\n", files


def _md_rich(text: Rich, anchors: Anchors) -> str:
    """A rich text as Markdown: its words escaped, its links to headings as links to their slugs."""
    out = []
    for position, span in enumerate(spans(text)):
        if isinstance(span, Link) and span.anchor in anchors.slugs:
            out.append(f"[{_md(span.text)}](#{anchors.slugs[span.anchor]})")
            continue
        words = plain([span])
        lead = words[: len(words) - len(words.lstrip(" "))] if position else ""  # a space between spans stays
        out.append(lead + _md(words[len(lead):]))
    return "".join(out)


# -- HTML -----------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}"
    "table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;"
    "vertical-align:top}blockquote{border-left:4px solid #0072B2;margin:1rem 0;padding:.25rem 1rem;background:#f4f8fb}"
    ".provenance{font-size:.85em;color:#555}.note{color:#555;font-style:italic}img{max-width:100%}"
    "a{color:#0060a0}nav.toc{border:1px solid #ddd;padding:.5rem 1rem;margin:1rem 0}nav.toc ul{margin:.25rem 0}"
    ".toc-title{font-weight:bold;margin:.25rem 0}h2,h3,h4{page-break-after:avoid}"
    "@media print{.new-page{break-before:page}body{max-width:none}}"
)


def render_html(title: str, blocks: Sequence[Block], language: str = "en") -> str:
    """A standalone HTML page: the charts are inside it (``data:`` URIs), so the one file travels whole."""
    e = html.escape
    anchors = Anchors.of(blocks)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(language)}"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_STYLE}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for index, block in enumerate(blocks):
        if isinstance(block, Heading):
            level = min(block.level + 1, 6)
            page = ' class="new-page"' if block.new_page else ""
            parts.append(f'<h{level} id="{e(anchors.ids[index])}"{page}>{e(block.text)}</h{level}>')
        elif isinstance(block, Paragraph):
            text = _html_rich(block.text, anchors)
            parts.append(f'<p class="note">{text}</p>' if block.note else f"<p>{text}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_html_rich(item, anchors)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, QuoteBlock):
            text = e(block.text).replace("\n", "<br>")
            parts.append(f'<blockquote><p>{text}</p><p class="provenance">{e(block.provenance)}</p></blockquote>')
        elif isinstance(block, Chart):
            source = "data:image/png;base64," + base64.b64encode(block.png).decode("ascii")
            parts.append(f'<figure><img src="{source}" alt="{e(block.caption)}"><figcaption>{e(block.caption)}</figcaption></figure>')
        elif isinstance(block, Contents):
            parts.append(f'<nav class="toc"><p class="toc-title">{e(block.title)}</p>'
                         + _html_contents(contents_entries(blocks, anchors, index)) + "</nav>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_rich(text: Rich, anchors: Anchors) -> str:
    out = []
    for span in spans(text):
        if isinstance(span, Link) and span.anchor in anchors.slugs:
            out.append(f'<a href="#{html.escape(span.anchor)}">{html.escape(span.text)}</a>')
        else:
            out.append(html.escape(plain([span])))
    return "".join(out)


def _html_contents(entries: Sequence[tuple[int, str, str]]) -> str:
    """Nested lists: each heading's entry holds the list of the deeper headings under it."""
    if not entries:
        return ""
    out, depth = ["<ul>"], 1
    for position, (level, text, anchor) in enumerate(entries):
        if position and level > depth:
            out += ["<ul>"] * (level - depth)
        elif position:
            out.append("</li>")
            out += ["</ul></li>"] * (depth - max(level, 1))
        depth = max(level, 1) if position or level <= 1 else depth
        out.append(f'<li><a href="#{html.escape(anchor)}">{html.escape(text)}</a>')
    out.append("</li>")
    out += ["</ul></li>"] * (depth - 1)
    out.append("</ul>")
    return "".join(out)


def section_titles(blocks: Sequence[Block]) -> list[str]:
    """The top-level section headings, in order."""
    return [b.text for b in blocks if isinstance(b, Heading) and b.level == 1]


# -- Markdown escaping ----------------------------------------------------------------

_LINE_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)
_MARKDOWN_SYNTAX = re.compile(
    r"^(?P<number>\d{1,9})(?P<delimiter>[.)])(?=[ \t]|$)"  # an ordered list item
    r"|^(?P<mark>#{1,6}(?=[ \t]|$)|[>+=-])"  # a heading, quote, list item, rule or setext underline
    r"|(?<=[ \t])#(?=#*[ \t]*$)"  # a heading's closing #s
    r"|[\\`*\[\]|~$]"  # escapes, code, emphasis, links and images, table cells, strikethrough, maths
    r"|_(?![^\W_])|(?<![^\W_])_"  # an _ that can open or close emphasis (snake_case cannot)
    r"|<(?=[A-Za-z/!?])"  # an HTML tag or an autolink ("<5" stays as it is)
    r"|&(?=#?\w+;)"  # a character reference
    r"|:(?=//)|(?<=\b[Ww]{3})\.",  # an extended autolink (https://..., www....)
    re.MULTILINE,
)


def _escape_markdown(match: re.Match[str]) -> str:
    if match.group("number"):
        return match.group("number") + "\\" + match.group("delimiter")
    return "\\" + match.group()


def _md(text: str) -> str:
    """Text that stays text in Markdown: every character that could start Markdown or HTML syntax there
    (a link, an image, a tag, emphasis, a heading, a list, a table cell) is backslash-escaped.

    Every quote, label, title and caption written to Markdown passes through here, so a testimony's
    ``[click](javascript:...)`` or ``![p](//host/p.png)`` shows as those characters, never as a live
    link or a remote image. Renderers (CommonMark, GitHub) show the original text; only the indentation
    of lines is dropped, since it would turn them into code blocks.
    """
    return _MARKDOWN_SYNTAX.sub(_escape_markdown, _LINE_INDENT.sub("", str(text)))


def _md_cell(text: str) -> str:
    return _md(" ".join(str(text).split()))
