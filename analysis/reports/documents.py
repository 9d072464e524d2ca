"""Documents as blocks (headings, paragraphs, bullets, tables, quotes, charts), rendered to Markdown, HTML or DOCX.

A document is built once as a list of blocks and rendered from the same
blocks to each format, so the three always hold the same content. Every text
written to Markdown is escaped (``_md``), so a testimony's words can never
become a live link, an image or a tag.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Paragraph:
    text: str
    note: bool = False


@dataclass
class Bullets:
    items: list[str]


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


Block = Heading | Paragraph | Bullets | Table | QuoteBlock | Chart


def render_markdown(title: str, blocks: Sequence[Block], chart_stem: str) -> tuple[str, dict[str, bytes]]:
    """Markdown text and the chart files (name -> PNG) it links to, to be written next to it."""
    lines = [f"# {_md(title)}", ""]
    files: dict[str, bytes] = {}
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * (block.level + 1) + " " + _md(block.text), ""]
        elif isinstance(block, Paragraph):
            lines += [f"_{_md(block.text)}_" if block.note else _md(block.text), ""]
        elif isinstance(block, Bullets):
            lines += [f"- {_md(item)}" for item in block.items] + [""]
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
    return "\n".join(lines).rstrip() + "\n", files


def render_html(title: str, blocks: Sequence[Block]) -> str:
    """A standalone HTML page: the charts are inside it (``data:`` URIs), so the one file travels whole."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.5;color:#222}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;"
        "padding:.25rem .5rem;text-align:left;vertical-align:top}blockquote{border-left:4px solid #0072B2;"
        "margin:1rem 0;padding:.25rem 1rem;background:#f4f8fb}.provenance{font-size:.85em;color:#555}"
        ".note{color:#555;font-style:italic}img{max-width:100%}</style>",
        "</head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    for block in blocks:
        if isinstance(block, Heading):
            level = min(block.level + 1, 6)
            parts.append(f"<h{level}>{e(block.text)}</h{level}>")
        elif isinstance(block, Paragraph):
            parts.append(f'<p class="note">{e(block.text)}</p>' if block.note else f"<p>{e(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>")
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
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_docx(title: str, blocks: Sequence[Block], path: Path) -> None:
    """A Word document of ``blocks`` at ``path``, charts inline."""
    from docx import Document
    from docx.shared import Inches, Pt

    blocks = [_docx_safe(b) for b in blocks]
    title = _NOT_XML.sub("", title)

    document = Document()
    document.core_properties.title = title
    document.core_properties.author = "lnob"
    document.add_heading(title, level=0)
    for block in blocks:
        if isinstance(block, Heading):
            document.add_heading(block.text, level=min(block.level, 9))
        elif isinstance(block, Paragraph):
            paragraph = document.add_paragraph()
            run = paragraph.add_run(block.text)
            run.italic = block.note
        elif isinstance(block, Bullets):
            for item in block.items:
                document.add_paragraph(item, style="List Bullet")
        elif isinstance(block, Table):
            table = document.add_table(rows=1, cols=len(block.headers), style="Table Grid")
            for cell, header in zip(table.rows[0].cells, block.headers):
                cell.text = header
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in block.rows:
                for cell, value in zip(table.add_row().cells, row):
                    cell.text = value
            document.add_paragraph()
        elif isinstance(block, QuoteBlock):
            document.add_paragraph(block.text, style="Quote")
            provenance = document.add_paragraph().add_run(block.provenance)
            provenance.font.size = Pt(8)
        elif isinstance(block, Chart):
            document.add_picture(io.BytesIO(block.png), width=Inches(6.3))
            document.add_paragraph(block.caption, style="Caption")
    document.save(str(path))


def _docx_safe(block: Block) -> Block:
    """The block with characters XML cannot hold removed (a staff label may carry one)."""
    clean = lambda text: _NOT_XML.sub("", text)  # noqa: E731
    if isinstance(block, (Heading, Paragraph)):
        return dataclasses.replace(block, text=clean(block.text))
    if isinstance(block, Bullets):
        return Bullets([clean(i) for i in block.items])
    if isinstance(block, Table):
        return Table([clean(h) for h in block.headers], [[clean(c) for c in row] for row in block.rows])
    if isinstance(block, QuoteBlock):
        return QuoteBlock(clean(block.text), clean(block.provenance))
    if isinstance(block, Chart):
        return dataclasses.replace(block, caption=clean(block.caption))
    return block


def section_titles(blocks: Sequence[Block]) -> list[str]:
    """The top-level section headings, in order."""
    return [b.text for b in blocks if isinstance(b, Heading) and b.level == 1]


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
