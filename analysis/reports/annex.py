"""The annex on method and data protection: how the themes, counts, quotes, growth and names were made, and what
protects the people behind them (consent, redaction, small cells, erasure)."""

from __future__ import annotations

from corpus.redaction import ner_languages

from analysis.languages import LanguageMix, percent
from analysis.reports.outline import ANNEX
from analysis.reports.documents import Block, Bullets, Heading
from analysis.reports.findings import GROWTH_DAYS
from analysis.reports.quoting import QUOTE_CANDIDATES, SHORT_ID
from analysis.reports.scope import ReportScope
from analysis.reports.wording import Wording


def method_annex(scope: ReportScope, words: Wording, n_quotes: int) -> list[Block]:
    """The annex: it starts a new page when printed."""
    c = scope.counts
    kinds, consent = scope.kinds(), scope.consent()
    settings = scope.evidence.settings
    run = scope.run
    if run is not None:
        finished = (words.date(run.finished_at) + run.finished_at.strftime(" %H:%M UTC")) if run.finished_at \
            else words("method_unfinished")
        version = words("method_codebook_version", version=scope.codebook.version) if scope.codebook is not None else ""
        analysis = words("method_run", run=run.id, finished=finished, seed=run.random_state, version=version)
        model = run.embedding_model
    else:
        analysis, model = words("method_no_run"), settings.embedding_model
    small = scope.small_cell
    items = [
        words("method_model", model=model),
        analysis,
        words("method_counts", contributions=scope.scope.label, testimonies=c.cell(kinds, "testimony").label,
              proposals=c.cell(kinds, "proposal").label, people=scope.scope.people,
              quotable=c.cell(consent, "quotable").label),
        words("method_consent"),
        words("method_small_cells", small=small, small_mark=words.small_mark, hidden_mark=words.hidden_mark,
              withheld_mark="·"),
        words("method_redaction", names=_names_and_places(scope, words)),
        words("method_quotes_global" if scope.country is None else "method_quotes_country", n=n_quotes,
              candidates=QUOTE_CANDIDATES, chars=SHORT_ID),
        _languages(scope, words),
        words("method_growth", days=GROWTH_DAYS, small=small),
        words("method_heatmaps", small_mark=words.small_mark, hidden_mark=words.hidden_mark),
        words("method_names"),
        words("method_erasure"),
    ]
    return [Heading(words("h_annex"), anchor=ANNEX, new_page=True), Bullets(items)]


def _names_and_places(scope: ReportScope, words: Wording) -> str:
    """What redaction does with names and places, language by language; where nothing hides them, it says so."""
    languages = sorted({r.language for r in scope.records if r.language})
    pipelines = ner_languages(languages, scope.evidence.store.redactor)
    hidden = [words.language_name(code) for code, pipeline in pipelines.items() if pipeline]
    shown = [words.language_name(code) for code, pipeline in pipelines.items() if not pipeline]
    note = ""
    if hidden:
        note += words("method_names_hidden", languages=", ".join(hidden))
    if shown:
        note += words("method_names_shown", languages=", ".join(shown))
    return note


def _languages(scope: ReportScope, words: Wording) -> str:
    """Which languages the evidence came from, with counts, and the single-language rule."""
    mix = LanguageMix.of(scope.records).protected(scope.small_cell)
    shown = words("withheld") if mix.withheld else mix.text(words.names("language", mix.cells))
    flagged = sum(1 for t in scope.themes if scope.languages.of(t.id).flag is not None)
    rule = scope.rule
    return words("method_languages", mix=shown, dominance=percent(rule.dominance), margin=round(rule.margin * 100),
                 min_share=percent(rule.min_corpus_share), small=rule.small_cell, flagged=flagged)
