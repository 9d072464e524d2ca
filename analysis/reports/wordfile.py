"""Documents as Word files: the blocks of ``analysis.reports.documents`` written with python-docx.

The shortest working example::

    from analysis.reports.wordfile import write_docx

    write_docx("Report", blocks, Path("report.docx"), page_text="Page {page} of {pages}")

What makes it read like a report in Word or LibreOffice:

- A4 pages (210 x 297 mm) with 20 mm margins, unless a ``template`` gives
  its own: then the template's styles, page set-up, header and footer are
  kept and only its body is replaced;
- a real table of contents: a ``TOC`` field (``TOC \\o "1-3" \\h \\z \\u``) that
  Word fills in when the file is opened (the file asks it to update its
  fields), with a hint in its place until then;
- a header with the title and a footer with the page number (``PAGE`` and
  ``NUMPAGES`` fields), where the template has none of its own;
- each heading a bookmark, so that links inside the document work;
- charts at the printed width, so that their text keeps the size it was drawn at.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor

from analysis.reports.documents import (
    Anchors,
    Block,
    Bullets,
    Chart,
    Contents,
    Heading,
    Link,
    Paragraph,
    QuoteBlock,
    Rich,
    Table,
    plain,
    spans,
)

A4 = (Mm(210), Mm(297))
MARGIN = Mm(20)
CHART_WIDTH = Mm(160)  # analysis.charts.PRINT_WIDTH_IN: drawn at this width, printed at 100%
TOC_INSTRUCTION = 'TOC \\o "1-3" \\h \\z \\u'
LINK_COLOUR = RGBColor(0x00, 0x60, 0xA0)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_docx(
    title: str,
    blocks: Sequence[Block],
    path: Path,
    *,
    language: str = "en",
    template: Path | None = None,
    header: str | None = None,
    page_text: str = "Page {page} of {pages}",
) -> None:
    """A Word document of ``blocks`` at ``path``: charts inline, headings bookmarked, A4 unless ``template``.

    ``header`` is the running header (default: the title); ``page_text`` the
    footer, its ``{page}`` and ``{pages}`` becoming Word's page fields.
    """
    blocks = [_docx_safe(b) for b in blocks]
    title = _NOT_XML.sub("", title)
    document = _base(template)
    document.core_properties.title = title
    document.core_properties.author = "lnob"
    document.core_properties.language = language
    _running_texts(document, _NOT_XML.sub("", header if header is not None else title), page_text)
    _heading(document, title, 0)
    anchors = Anchors.of(blocks)
    for index, block in enumerate(blocks):
        if isinstance(block, Heading):
            paragraph = _heading(document, block.text, min(block.level, 9), page_break=block.new_page)
            _bookmark(paragraph, bookmark_name(anchors.ids[index]), index)
        elif isinstance(block, Paragraph):
            paragraph = document.add_paragraph()
            _rich(paragraph, block.text, anchors, italic=block.note)
        elif isinstance(block, Bullets):
            for item in block.items:
                paragraph = document.add_paragraph(style=_style(document, "List Bullet"))
                if _style(document, "List Bullet") is None:
                    paragraph.add_run("• ")
                _rich(paragraph, item, anchors)
        elif isinstance(block, Table):
            _table(document, block)
        elif isinstance(block, QuoteBlock):
            quote = document.add_paragraph(block.text, style=_style(document, "Quote"))
            if _style(document, "Quote") is None:
                for run in quote.runs:
                    run.italic = True
            provenance = document.add_paragraph().add_run(block.provenance)
            provenance.font.size = Pt(8)
        elif isinstance(block, Chart):
            document.add_picture(io.BytesIO(block.png), width=_chart_width(document))
            document.add_paragraph(block.caption, style=_style(document, "Caption"))
        elif isinstance(block, Contents):
            _contents(document, block)
    _ask_to_update_fields(document)
    document.save(str(path))


def bookmark_name(anchor: str) -> str:
    """A heading's bookmark: Word's names are letters, digits and ``_``, start with a letter, at most 40 long."""
    return ("lnob_" + re.sub(r"[^A-Za-z0-9_]", "_", anchor))[:40]


# -- the document and its pages ---------------------------------------------------------


def _base(template: Path | None):
    """A new document on A4, or the template with its body emptied (its styles, page set-up, header, footer kept)."""
    if template is None:
        document = Document()
        for section in document.sections:
            section.page_width, section.page_height = A4
            section.left_margin = section.right_margin = section.top_margin = section.bottom_margin = MARGIN
        return document
    document = Document(str(template))
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    return document


def _running_texts(document, header: str, page_text: str) -> None:
    """The title in the header and the page number in the footer, where the template has none of its own."""
    section = document.sections[-1]
    if not _has_content(section.header):
        paragraph = section.header.paragraphs[0] if section.header.paragraphs else section.header.add_paragraph()
        run = paragraph.add_run(header)
        run.font.size = Pt(8)
        run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)
    if not _has_content(section.footer):
        paragraph = section.footer.paragraphs[0] if section.footer.paragraphs else section.footer.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        for piece in re.split(r"(\{page\}|\{pages\})", page_text):
            if piece == "{page}":
                _field(paragraph, "PAGE", "1", Pt(8))
            elif piece == "{pages}":
                _field(paragraph, "NUMPAGES", "1", Pt(8))
            elif piece:
                paragraph.add_run(piece).font.size = Pt(8)


def _has_content(part) -> bool:
    """A header or footer of the template that says something (text, a field or a picture)."""
    if part.is_linked_to_previous:  # no header or footer of its own
        return False
    element = part._element
    return bool("".join(element.itertext()).strip()) or bool(element.findall(".//" + qn("w:drawing")))


def _chart_width(document) -> Emu:
    """Charts at their drawn width, or narrower when a template's margins leave less room."""
    section = document.sections[-1]
    available = section.page_width - section.left_margin - section.right_margin
    return Emu(min(CHART_WIDTH, available))


def _ask_to_update_fields(document) -> None:
    """``w:updateFields`` in settings.xml: Word fills in the table of contents and page counts on opening."""
    settings = document.settings.element
    update = settings.find(qn("w:updateFields"))
    if update is None:
        update = OxmlElement("w:updateFields")
        settings.append(update)
    update.set(qn("w:val"), "true")


# -- paragraphs ------------------------------------------------------------------------


def _style(document, name: str):
    """The style ``name`` when the document (a template) defines it, else None."""
    try:
        return document.styles[name]
    except KeyError:
        return None


def _heading(document, text: str, level: int, *, page_break: bool = False):
    name = "Title" if level == 0 else f"Heading {level}"
    style = _style(document, name)
    if style is not None:
        paragraph = document.add_paragraph(text, style=style)
    else:  # a template without heading styles: bold text at an outline level, so the TOC still finds it
        paragraph = document.add_paragraph()
        run = paragraph.add_run(text)
        run.bold = True
        run.font.size = Pt(max(11, 20 - 2 * level))
        if level:
            outline = OxmlElement("w:outlineLvl")
            outline.set(qn("w:val"), str(level - 1))
            paragraph._p.get_or_add_pPr().append(outline)
    if page_break:
        paragraph.paragraph_format.page_break_before = True
    return paragraph


def _bookmark(paragraph, name: str, number: int) -> None:
    start, end = OxmlElement("w:bookmarkStart"), OxmlElement("w:bookmarkEnd")
    start.set(qn("w:id"), str(number))
    start.set(qn("w:name"), name)
    end.set(qn("w:id"), str(number))
    paragraph._p.insert(1 if paragraph._p.pPr is not None else 0, start)
    paragraph._p.append(end)


def _rich(paragraph, text: Rich, anchors: Anchors, *, italic: bool = False) -> None:
    """Runs for the text, and links to the document's own headings as internal hyperlinks."""
    for span in spans(text):
        if isinstance(span, Link) and span.anchor in anchors.slugs:
            link = OxmlElement("w:hyperlink")
            link.set(qn("w:anchor"), bookmark_name(span.anchor))
            run = paragraph.add_run(span.text)
            run.italic = italic or None
            run.font.color.rgb = LINK_COLOUR
            run.font.underline = True
            link.append(run._r)
            paragraph._p.append(link)
        else:
            paragraph.add_run(plain([span])).italic = italic or None


def _table(document, block: Table) -> None:
    table = document.add_table(rows=1, cols=len(block.headers))
    if _style(document, "Table Grid") is not None:
        table.style = document.styles["Table Grid"]
    for cell, header in zip(table.rows[0].cells, block.headers):
        cell.text = header
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in block.rows:
        for cell, value in zip(table.add_row().cells, row):
            cell.text = value
    document.add_paragraph()


def _contents(document, block: Contents) -> None:
    """The contents' title and a TOC field over headings 1 to 3, with hyperlinks, that Word fills in."""
    style = _style(document, "TOC Heading")
    title = document.add_paragraph(block.title, style=style)
    if style is None:
        for run in title.runs:
            run.bold = True
    paragraph = document.add_paragraph()
    _field(paragraph, TOC_INSTRUCTION, block.update_hint)
    paragraph.add_run().add_break(WD_BREAK.PAGE)


def _field(paragraph, instruction: str, shown: str, size: Pt | None = None) -> None:
    """A complex field (``w:fldChar`` begin, ``w:instrText``, separate, what it shows until updated, end)."""

    def char(kind: str):
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        if kind == "begin":
            element.set(qn("w:dirty"), "true")
        run._r.append(element)

    char("begin")
    run = paragraph.add_run()
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run._r.append(instr)
    char("separate")
    shown_run = paragraph.add_run(shown)
    if size is not None:
        shown_run.font.size = size
    char("end")


def _docx_safe(block: Block) -> Block:
    """The block with characters XML cannot hold removed (a staff label may carry one)."""
    clean = lambda text: _NOT_XML.sub("", text)  # noqa: E731

    def clean_rich(text: Rich) -> Rich:
        return clean(text) if isinstance(text, str) else [
            Link(clean(s.text), s.anchor) if isinstance(s, Link) else clean(s) for s in text]

    if isinstance(block, Heading):
        return dataclasses.replace(block, text=clean(block.text))
    if isinstance(block, Paragraph):
        return dataclasses.replace(block, text=clean_rich(block.text))
    if isinstance(block, Bullets):
        return Bullets([clean_rich(i) for i in block.items])
    if isinstance(block, Table):
        return Table([clean(h) for h in block.headers], [[clean(c) for c in row] for row in block.rows])
    if isinstance(block, QuoteBlock):
        return QuoteBlock(clean(block.text), clean(block.provenance))
    if isinstance(block, Chart):
        return dataclasses.replace(block, caption=clean(block.caption))
    if isinstance(block, Contents):
        return Contents(clean(block.title), clean(block.update_hint))
    return block
