"""Quote exports and country and global reports, written under the data dir and registered for erasure.

The shortest working examples::

    from analysis.explore import theme_quotes
    from analysis.reports import erase_exports_for, export_quotes, generate_report

    path = export_quotes(evidence, theme_quotes(evidence, 12, n=20), "csv", title="Theme 12")
    path = generate_report(evidence, "NP", "docx").path   # None: the global report
    generate_report(evidence, "KE", "html", language="fr")  # headings and fixed texts in French
    erase_exports_for(evidence, erased_ids)               # after an erasure: files gone, reports rebuilt

Three rules hold for every file written here:

- **Consent is re-checked when writing.** Whatever the caller passes, the
  testimonies are read again from the store and only those whose contributor
  gave ``quote`` consent (and that staff have not hidden) are written.
  ``aggregate`` contributions are counted in every number, never quoted.
- **Only redacted text.** ``TestimonyRecord.text`` is the redacted text; the
  original never leaves the corpus tables.
- **Small cells.** Every count goes through ``analysis.counting``: one that
  rests on fewer than ``settings.small_cell`` contributors is written "<5",
  one that would let it be worked out from a total "≥5", and a breakdown
  that cannot be shown safely is withheld; charts hatch such bars and draw
  them to the threshold, not to scale. Each breakdown reads as it does in the
  CLI and the bot; a theme's overall size as in ``lnob themes``.

Each file is recorded in the ``corpus.exports`` registry with the id of every
testimony it quotes, so that ``erase_exports_for`` can delete it (and rebuild
a report with the same parameters) when a contributor erases their data.

A report reads like one: key findings first, then what communities
propose, who spoke, charts, a section per driver with its themes and their
testimonies, the gaps (heatmaps and the largest gaps) and an annex on method
and data protection; a table of contents with anchors (HTML, Markdown) or a
TOC field, page numbers, header and footer on A4 (DOCX, or an organisation's
own template); names rather than codes, in the report's language.

The package, by responsibility:

- ``documents``: blocks (headings, paragraphs, tables, quotes, charts, contents,
  links to headings) and their renderers to Markdown and HTML; ``wordfile``:
  the same blocks as DOCX, so the three formats always hold the same content;
- ``quotefiles``: consented quote rows with their provenance, quote exports,
  and the naming and registering of every file written;
- ``scope``: one read of a report's scope (a country, or all) and its counts;
- ``wording``: a report's words in its language (the catalogue's ``report_*``
  texts, names of countries, languages, groups, organisations, drivers);
- ``figures``: charts drawn from the evidence, for chat and for reports;
- ``sections`` (with ``findings``, ``proposals``, ``gaps``, ``annex``, ``quoting``
  and ``outline``, the anchors) and ``builder``: a report's content, then the file;
- ``rebuild``: the files after an erasure or a consent change.

The names below are those used outside the package; modules inside
``analysis`` import from the module that defines a name.
"""

from analysis.reports.builder import (
    REPORT_FORMATS,
    REPORT_KIND,
    REPORT_LANGUAGES,
    NoContributions,
    ReportResult,
    compose_report,
    countries_with_data,
    generate_report,
    has_data,
    report_package,
)
from analysis.reports.documents import (
    Block,
    Bullets,
    Chart,
    Contents,
    Heading,
    Link,
    Paragraph,
    QuoteBlock,
    Table,
    github_slug,
    render_html,
    render_markdown,
    section_titles,
)
from analysis.reports.figures import driver_place_table, drivers_chart, theme_month_chart, themes_chart
from analysis.reports.quotefiles import (
    EXPORT_FORMATS,
    QUOTE_COLUMNS,
    QuoteRow,
    export_quotes,
    hidden_quotes,
    pinned_quotes,
    quote_rows,
    registry_of,
    write_quotes,
)
from analysis.reports.quoting import QUOTE_CANDIDATES
from analysis.reports.rebuild import erase_exports_for
from analysis.reports.sections import Report
from analysis.reports.wordfile import write_docx

__all__ = [
    "EXPORT_FORMATS",
    "QUOTE_CANDIDATES",
    "QUOTE_COLUMNS",
    "REPORT_FORMATS",
    "REPORT_KIND",
    "REPORT_LANGUAGES",
    "Block",
    "Bullets",
    "Chart",
    "Contents",
    "Heading",
    "Link",
    "NoContributions",
    "Paragraph",
    "QuoteBlock",
    "QuoteRow",
    "Report",
    "ReportResult",
    "Table",
    "compose_report",
    "countries_with_data",
    "driver_place_table",
    "drivers_chart",
    "erase_exports_for",
    "export_quotes",
    "generate_report",
    "github_slug",
    "has_data",
    "hidden_quotes",
    "pinned_quotes",
    "quote_rows",
    "registry_of",
    "render_html",
    "render_markdown",
    "report_package",
    "section_titles",
    "theme_month_chart",
    "themes_chart",
    "write_docx",
    "write_quotes",
]
