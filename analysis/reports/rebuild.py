"""Exports after an erasure or a consent change: deleted, rebuilt without the erased, renamed under new labels.

The shortest working example::

    from analysis.reports.rebuild import erase_exports_for

    erase_exports_for(evidence, erased_ids)   # files gone, reports and quote files rebuilt without them

``analysis.erasure`` calls this after the rows are gone and the themes are
relabelled (``analysis.relabel``), and after a contributor withdraws quote
consent. Every file on disk is found through the ``corpus.exports`` registry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from corpus.exports import ExportFile, ExportRegistry

from analysis.evidence import EvidenceBase
from analysis.reports.explorer import EXPLORER_KIND, write_explorer
from analysis.relabel import Relabel
from analysis.reports.builder import REPORT_KIND, NoContributions, generate_report
from analysis.reports.quotefiles import slug, write_quotes
from analysis.texts import DEFAULT_LANGUAGE

log = logging.getLogger(__name__)

WHOLE_VIEWS = (REPORT_KIND, EXPLORER_KIND)  # they show every theme's label and keywords


def erase_exports_for(
    evidence: EvidenceBase,
    testimony_ids: Iterable[str],
    *,
    still_counted: bool = False,
    relabelled: Sequence[Relabel] = (),
) -> list[Path]:
    """Delete every export that quotes any of ``testimony_ids`` and rebuild it without quoting them.

    Reports are regenerated with their parameters (country, format, number of
    quotes), once per set of parameters however many older copies there were;
    quote exports are rewritten with their remaining quotes (consent
    re-checked). After an erasure the ids are excluded explicitly, so this is
    safe to call before or after the testimonies leave the store. With
    ``still_counted`` (the contributor now allows ``aggregate`` use only) the
    rebuilt reports still count them in every number and only stop quoting
    them. A rebuild that fails is logged and skipped: the files holding the
    words are gone either way. Returns the paths deleted from disk.

    ``relabelled`` are the themes the erasure gave a new label or new keywords
    (``analysis.relabel.Relabel``; they are recomputed first). Files that may
    show an erased word (a relabelled theme's old label or keyword that the
    erased texts used and the theme no longer shows) are rebuilt too, though they quote no one erased:
    every report (it shows every theme's label and keywords), and every quote
    export of a relabelled theme or quoting a member of one (its theme
    column shows the label). A theme export is rebuilt under its new title,
    and the registry's record of every file, removed ones included, is
    renamed to match (title and file name), so no old label stays anywhere.
    """
    ids = set(testimony_ids)
    relabelled = [change for change in relabelled if change.dropped]  # only those can show an erased word
    if not ids and not relabelled:
        return []
    registry = evidence.stores.exports
    targets = registry.containing(ids) if ids else []
    if relabelled:
        chosen = {e.id for e in targets}
        targets += [e for e in _carrying_labels(evidence, registry, relabelled) if e.id not in chosen]
    removed: list[Path] = []
    rebuilt: dict[tuple, int | None] = {}
    for export in sorted(targets, key=lambda e: (e.created_at, e.id), reverse=True):
        removed += registry.remove(export.id, forget=ids)
        key = _rebuild_key(export)
        if key not in rebuilt:
            try:
                rebuilt[key] = _regenerate(evidence, export, ids, exclude=set() if still_counted else ids,
                                           title=_retitled(export.title, relabelled))
            except Exception:
                log.exception("could not rebuild export %s (%s) after an erasure; it was removed", export.id, export.kind)
                rebuilt[key] = None
        if rebuilt[key] is not None:
            registry.mark_replaced(export.id, rebuilt[key])
    if relabelled:
        _rename_records(registry, relabelled)
    return removed


def _theme_title(theme_id: int, label: str) -> str:
    """How a theme export's title names its theme (the CLI's and the bot's ``Theme 12: label``)."""
    return f"Theme {theme_id}: {label}"


def _retitled(title: str, relabelled: Sequence[Relabel]) -> str:
    """``title`` naming every relabelled theme by its new label."""
    for change in relabelled:
        if change.label_changed and change.old_label:
            title = title.replace(_theme_title(change.theme_id, change.old_label),
                                  _theme_title(change.theme_id, change.new_label))
    return title


def _carrying_labels(
    evidence: EvidenceBase, registry: ExportRegistry, relabelled: Sequence[Relabel]
) -> list[ExportFile]:
    """Present exports that show an old label or keyword of a relabelled theme (see ``erase_exports_for``)."""
    present = registry.list()
    renamed = {change.theme_id for change in relabelled if change.label_changed}
    quoted = [t for e in present if e.kind not in WHOLE_VIEWS for t in e.testimony_ids or []]
    theme_of = {t: a.theme_id for t, a in evidence.themes.assignments(quoted).items()} if renamed and quoted else {}
    carrying = []
    for export in present:
        params = export.params or {}
        if export.kind in WHOLE_VIEWS:
            carrying.append(export)
        elif renamed and (
            _retitled(export.title, relabelled) != export.title
            or params.get("theme_id", params.get("theme")) in renamed
            or any(theme_of.get(t) in renamed for t in export.testimony_ids or [])
        ):
            carrying.append(export)
    return carrying


def _rename_records(registry: ExportRegistry, relabelled: Sequence[Relabel]) -> None:
    """Every registry record (any status) whose title names a theme by its old label gets the new title,
    and its file name the new title's slug."""
    for export in registry.list(status=None):
        title = _retitled(export.title, relabelled)
        if title == export.title:
            continue
        old_prefix, new_prefix = f"{slug(export.kind, 20)}-{slug(export.title)}-", f"{slug(export.kind, 20)}-{slug(title)}-"

        def renamed(path: str) -> str:
            folder, _, name = path.rpartition("/")
            if name.startswith(old_prefix):
                name = new_prefix + name[len(old_prefix):]
            return f"{folder}/{name}" if folder else name

        registry.rename(export.id, title, renamed(export.path), [renamed(f) for f in export.files or []])


def _rebuild_key(export: ExportFile) -> tuple:
    """Reports with the same parameters, and explorers, are rebuilt once (the newest); every quote export on its own."""
    if export.kind == EXPLORER_KIND:
        return (EXPLORER_KIND,)
    if export.kind == REPORT_KIND:
        params = export.params or {}
        return (REPORT_KIND, params.get("country"), params.get("format", export.format), params.get("n_quotes", 3),
                params.get("language", DEFAULT_LANGUAGE), params.get("template"))
    return ("export", export.id)


def _regenerate(
    evidence: EvidenceBase, export: ExportFile, unquoted: set[str], exclude: set[str], title: str | None = None
) -> int | None:
    """Write ``export`` again quoting none of ``unquoted`` and leaving ``exclude`` out of every count, under
    ``title`` (default: its own); returns the new export's id (None: nothing left to write)."""
    params = dict(export.params or {})
    if export.kind == REPORT_KIND:  # quotes are chosen afresh, consent re-checked
        try:
            result = generate_report(evidence, params.get("country"), params.get("format", export.format),
                                     n_quotes=int(params.get("n_quotes", 3)), created_by=export.created_by,
                                     exclude=exclude, language=params.get("language", DEFAULT_LANGUAGE),
                                     template=_template(params.get("template")))
        except NoContributions:  # the country's last contributions were erased: nothing left to report
            log.info("report %s not rebuilt: its country has no contributions left", export.id)
            return None
        return result.export_id
    if export.kind == EXPLORER_KIND:  # every quotable point afresh, consent re-checked
        _, replacement = write_explorer(evidence, created_by=export.created_by, exclude=unquoted)
        return replacement.id
    remaining = [t for t in export.testimony_ids or [] if t not in unquoted]
    if not remaining:
        return None
    _, replacement = write_quotes(evidence, remaining, export.format, title=title or export.title, kind=export.kind,
                                  params=params, created_by=export.created_by, exclude=unquoted)
    return replacement.id


def _template(path: str | None) -> Path | None:
    """A report's DOCX template, when it is still where it was; else the report is rebuilt on the default A4 pages."""
    if path is None:
        return None
    if Path(path).is_file():
        return Path(path)
    log.warning("a report's DOCX template is no longer at its path; it is rebuilt without it")
    return None
