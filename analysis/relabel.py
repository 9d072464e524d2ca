"""Theme keywords and labels recomputed when contributions are erased, before anything is rebuilt from them.

A theme's label and keywords are drawn from its members' words, so they are a
copy of those words outside the testimony table, and erasure must reach them.
When testimonies are erased, every active theme they were in (and any active
theme whose label or keywords hold one of their words) gets its keywords,
keywords per language and label recomputed from the members that remain, the
way an analysis computes them (c-TF-IDF over the current assignments, each
word used by at least ``settings.small_cell`` contributors). A label staff
wrote is kept. Merged and gone themes have no members left to recompute
from: the erased texts' words are taken out of their keywords and label,
unless at least ``small_cell`` remaining contributors use them.

The order matters, and ``analysis.erasure.erase`` keeps it::

    trace = ErasureTrace.of(evidence, ids)           # before the rows go: their themes and words
    ...                                              # index and database erasure
    changes = relabel_after_erasure(evidence, trace)  # then the themes
    ...                                              # then exports and reports, rebuilt with the new labels
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis.counting import person_of
from analysis.keywords import LABEL_SEPARATOR, UNTHEMED, KeywordExtractor, distinct_words
from analysis.text import TextProcessor

ACTIVE = "active"
LABEL_PARTS = 2  # KeywordExtractor's label_words: parts of a label rebuilt for a theme no longer active


@dataclass(frozen=True)
class ErasureTrace:
    """What testimonies about to be erased left in the themes: the active themes they were in, and
    their words (tokens and bigrams, spelt as keywords and labels spell them)."""

    themes: frozenset[int] = frozenset()
    words: frozenset[str] = frozenset()

    @classmethod
    def of(cls, evidence, testimony_ids: Sequence[str]) -> "ErasureTrace":
        """The trace of ``testimony_ids``, read before they are erased (empty when there are no themes)."""
        ids = list(testimony_ids)
        if not ids or not evidence.themes.themes(include_inactive=True):
            return cls()
        records = evidence.store.records(ids)
        texts, languages = [r.text for r in records], [r.language for r in records]
        tokens, bigrams = TextProcessor().tokens_and_bigrams_many(texts, languages)
        words = {word for doc in tokens for word in doc} | {pair for doc in bigrams for pair in doc}
        themes = {a.theme_id for a in evidence.themes.assignments(ids).values() if a.theme_id is not None}
        return cls(frozenset(themes), frozenset(words))

    def __bool__(self) -> bool:
        return bool(self.themes or self.words)


@dataclass(frozen=True)
class Relabel:
    """A theme whose label or keywords an erasure changed; ``dropped`` are the erased texts' words its old
    label or keywords showed and its new ones do not (what files made before the erasure may still show)."""

    theme_id: int
    old_label: str
    new_label: str
    old_keywords: tuple[str, ...]
    new_keywords: tuple[str, ...]
    dropped: frozenset[str] = frozenset()

    @property
    def label_changed(self) -> bool:
        return self.old_label != self.new_label


def label_uses(label: str, words: Iterable[str]) -> bool:
    """Whether a label ("goat shed · water") holds any of ``words`` (a token, or a bigram of two)."""
    words = set(words)
    for part in label.split(LABEL_SEPARATOR.strip()):
        part = part.strip()
        if part in words or any(word in words for word in part.split()):
            return True
    return False


def _terms(keywords: Sequence) -> list[str]:
    return [str(pair[0]) for pair in keywords or []]


def _shown(label: str, keywords: Sequence, keywords_by_language: dict) -> set[str]:
    """Every word and bigram a theme shows: its label's parts and their words, its keywords in all languages."""
    parts = [part.strip() for part in label.split(LABEL_SEPARATOR.strip()) if part.strip()]
    words = set(parts) | {word for part in parts for word in part.split()} | set(_terms(keywords))
    for pairs in (keywords_by_language or {}).values():
        words.update(_terms(pairs))
    return words


def mentions(theme, words: frozenset[str]) -> bool:
    """Whether a stored theme's keywords or label hold any of ``words``."""
    return bool(_shown(theme.label or "", theme.keywords, theme.keywords_by_language) & words)


def relabel_after_erasure(evidence, trace: ErasureTrace) -> list[Relabel]:
    """Recompute the keywords and labels an erasure touched (see the module docstring); returns the
    themes whose label or keyword list changed."""
    if not trace:
        return []
    themes = {t.id: t for t in evidence.themes.themes(include_inactive=True)}
    active = {tid for tid in trace.themes if tid in themes and themes[tid].status == ACTIVE}
    active |= {t.id for t in themes.values() if t.status == ACTIVE and mentions(t, trace.words)}
    inactive = [t for t in themes.values() if t.status != ACTIVE and mentions(t, trace.words)]
    if not active and not inactive:
        return []
    records = evidence.store.records()  # what remains after the erasure
    tokens, bigrams = TextProcessor().tokens_and_bigrams_many([r.text for r in records], [r.language for r in records])
    small_cell = evidence.settings.small_cell
    updates = []
    if active:
        updates += _recomputed(evidence, themes, active, records, tokens, bigrams, small_cell)
    if inactive:
        shared = _shared_words(trace.words, records, tokens, bigrams, small_cell)
        updates += [_scrubbed(theme, trace.words - shared) for theme in inactive]
    evidence.themes.update_keywords(updates)
    changes = []
    for theme_id, label, keywords, by_language in updates:
        theme = themes[theme_id]
        new_label = theme.label if theme.label_source == "staff" else label
        old_terms, new_terms = tuple(_terms(theme.keywords)), tuple(_terms(keywords))
        old_shown = _shown(theme.label or "", theme.keywords, theme.keywords_by_language)
        dropped = frozenset((old_shown - _shown(new_label, keywords, by_language)) & trace.words)
        if new_label != theme.label or old_terms != new_terms or dropped:
            changes.append(Relabel(theme_id, theme.label, new_label, old_terms, new_terms, dropped))
    return changes


def _recomputed(evidence, themes: dict, wanted: set[int], records, tokens, bigrams, small_cell: int) -> list[tuple]:
    """Keywords and labels of the ``wanted`` active themes from their current members, as an analysis makes them."""
    assignments = evidence.themes.assignments()
    codebook = evidence.codebook
    labels = []
    for record in records:
        assignment = assignments.get(record.id)
        theme_id = assignment.theme_id if assignment is not None else None
        labels.append(theme_id if theme_id in themes and themes[theme_id].status == ACTIVE else UNTHEMED)
    extractor = KeywordExtractor(min_contributors=small_cell).fit(
        tokens, labels, languages=[r.language for r in records], bigrams=bigrams,
        contributors=[person_of(r) for r in records],
    )
    updates = []
    for theme_id in sorted(wanted):
        # no word enough contributors share: the theme is named from the codebook, as an analysis names it
        label = extractor.labels_text_.get(theme_id) or codebook.theme_name(
            themes[theme_id].primary_driver, themes[theme_id].subdriver
        )
        keywords = [[term, round(float(weight), 4)] for term, weight in extractor.keywords_.get(theme_id, [])]
        by_language = {
            code: [[term, round(float(weight), 4)] for term, weight in words]
            for code, words in extractor.keywords_by_language_.get(theme_id, {}).items()
        }
        updates.append((theme_id, label, keywords, by_language))
    return updates


def _shared_words(words: frozenset[str], records, tokens, bigrams, small_cell: int) -> set[str]:
    """Which of ``words`` at least ``small_cell`` remaining contributors use (counted as ``person_of`` counts)."""
    people: dict[str, set] = {}
    for record, doc_tokens, doc_bigrams in zip(records, tokens, bigrams):
        for word in words.intersection(doc_tokens).union(words.intersection(doc_bigrams)):
            people.setdefault(word, set()).add(person_of(record))
    return {word for word, owners in people.items() if len(owners) >= small_cell}


def _scrubbed(theme, erased: set[str]) -> tuple:
    """A theme no longer active, its keywords and label without the ``erased`` words."""

    def kept(pairs):
        return [list(pair) for pair in pairs or [] if not label_uses(str(pair[0]), erased)]

    keywords = kept(theme.keywords)
    by_language = {code: kept(pairs) for code, pairs in (theme.keywords_by_language or {}).items()}
    label = theme.label or ""
    if label_uses(label, erased):
        parts = [p.strip() for p in label.split(LABEL_SEPARATOR.strip()) if p.strip() and not label_uses(p, erased)]
        said = [word for part in parts for word in part.split()]
        parts += distinct_words(_terms(keywords), max(0, LABEL_PARTS - len(parts)), said)
        label = LABEL_SEPARATOR.join(parts) or f"theme {theme.id}"
    return theme.id, label, keywords, by_language
