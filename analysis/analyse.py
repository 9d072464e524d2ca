"""A full analysis: embed the backlog, cluster into themes, label them, map them onto drivers.

``Analysis(evidence).run()`` is what ``lnob analyse`` and ``/recluster`` do.
Themes that persist keep their id and staff label (``analysis.identity``);
the run records what is new, merged, split or gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from corpus.themes import AssignmentRow, ThemeSnapshot


from analysis.calibration import ModelCalibration
from analysis.counting import person_of
from analysis.curation import Clustering, apply_rules
from analysis.drivers import agreement, agreement_by_language
from analysis.evidence import EvidenceBase
from analysis.identity import change_report, match_themes
from analysis.keywords import KeywordExtractor
from analysis.text import TextProcessor
from analysis.search import prepare_word_bridges
from analysis.themes import ThemeModel, theme_centroids

ENGLISH_SHARE = 0.95  # share of English texts from which a corpus counts as English (see ThemeSpace)

Step = Callable[[str], None]

# The stages ``Analysis.run`` reports to its ``step`` callback, in order (callers may show "3/9").
STAGES = (
    "indexing the backlog",
    "reading the corpus",
    "embedding (cached)",
    "clustering",
    "matching themes",
    "re-applying curation",
    "keywords",
    "drivers",
    "saving",
)


@dataclass
class AnalysisReport:
    """What one analysis found and changed."""

    run_id: int
    testimonies: int
    themes: int
    unthemed: int
    coverage: float
    changes: dict
    driver_agreement: dict
    seconds: float
    timings: dict = field(default_factory=dict)
    driver_agreement_by_language: dict = field(default_factory=dict)  # language -> agreement (see drivers.agreement)
    space: str = ""  # the theme space clustered: "english", "combined" or "multilingual" (see ThemeSpace)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class ThemeSpace:
    """The vectors a corpus is clustered on, and which model made them.

    - ``english``: a corpus at least ``ENGLISH_SHARE`` English is clustered on
      the English model (``english_model``), which groups English texts by
      subject better than e5: on the single-label validation messages, seeds
      0-4, NMI 0.59-0.62 and ARI 0.52-0.58, against 0.42-0.45 and 0.31-0.35 for
      e5 alone (BENCHMARKS.md).
    - ``combined``: any other corpus is clustered on the multilingual and the
      English model's vectors side by side. The theme model centres and scales
      each language, so the English model's language signal is taken out and
      its finer sense of subject stays for the texts it can read. On the mixed
      Creole/English set, 10 seeds: NMI against the labels 0.45-0.51 (mean
      0.48) against 0.40-0.46 (0.43) for e5 alone, NMI against language under
      0.12 for both (BENCHMARKS.md). It costs a second encoding of each text
      (the English model is about 6x faster than e5 here) and loading it.
    - ``multilingual``: e5 alone, when no English model is configured.

    Everything else (index, search, drivers, stored centroids) stays in the
    multilingual model's space.
    """

    name: str
    vectors: np.ndarray

    @classmethod
    def of(cls, evidence: EvidenceBase, vectors: np.ndarray, texts: list[str], languages: list[str | None]) -> "ThemeSpace":
        english = evidence.english_embedder
        if english is None or not len(vectors):
            return cls("multilingual", vectors)
        share = sum(1 for code in languages if code == "en") / len(languages)
        if share >= ENGLISH_SHARE:
            return cls("english", english.encode(texts))
        return cls("combined", np.hstack([vectors, english.encode(texts)]))


class Analysis:
    """Re-clusters the whole corpus; parameters of the theme model pass through ``theme_params``."""

    def __init__(self, evidence: EvidenceBase, *, random_state: int | None = 0, theme_params: dict | None = None) -> None:
        self.evidence = evidence
        self.random_state = random_state
        self.theme_params = dict(theme_params or {})
        self.themes = evidence.themes

    def _english_calibration(self):
        """Thresholds for the English space: the English model's."""
        return ModelCalibration.for_model(self.evidence.settings.english_model, self.evidence.settings.model_calibration_path)

    def _cluster(self, vectors: np.ndarray, texts: list[str], languages: list[str | None]) -> tuple[ThemeModel, str]:
        """Fit the theme model on the corpus's theme space; returns it and the space's name."""
        space = ThemeSpace.of(self.evidence, vectors, texts, languages)
        calibration = self._english_calibration() if space.name == "english" else self.evidence.calibration
        params = {"join_threshold": calibration.join_threshold, "merge_threshold": calibration.merge_threshold}
        model = ThemeModel(random_state=self.random_state, **{**params, **self.theme_params})
        return model.fit(space.vectors, texts, languages), space.name

    def _words(self, texts: list[str], languages: list[str | None]) -> tuple[list[list[str]], list[list[str]]]:
        """Each text's tokens and bigrams; the vectors of the corpus words that cross-language search
        bridges through are encoded (and cached) here too, so no search pays for them."""
        tokens, bigrams = TextProcessor().tokens_and_bigrams_many(texts, languages)
        if texts:
            prepare_word_bridges(self.evidence, tokens)
        return tokens, bigrams

    def run(self, step: Step | None = None) -> AnalysisReport:
        """Run every stage and store the result in one transaction; ``step`` is told each stage's name."""
        say = step or (lambda _message: None)
        timings: dict[str, float] = {}
        started = time.perf_counter()

        def timed(name: str, function, *args, **kwargs):
            say(name)
            t0 = time.perf_counter()
            result = function(*args, **kwargs)
            timings[name] = round(time.perf_counter() - t0, 2)
            return result

        timed("indexing the backlog", self.evidence.index_pending)
        records = timed("reading the corpus", self.evidence.store.records, None, None)
        texts = [r.text for r in records]
        languages = [r.language for r in records]
        vectors = timed("embedding (cached)", self.evidence.embedder.encode, texts)
        run = self.themes.start_run(self.evidence.settings.embedding_model, self.random_state, self.theme_params)
        space = ""
        if len(records):
            model, space = timed("clustering", self._cluster, vectors, texts, languages)
            labels = model.labels_
            coordinates = model.map_
            # stored centres live in the index's space, where new texts and later runs are compared with them
            centroids = theme_centroids(vectors, labels, model.n_themes_)
        else:
            labels, centroids = np.zeros(0, dtype=int), np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0))
            coordinates = np.zeros((0, 2))
        previous = {t: a.theme_id for t, a in self.themes.assignments().items() if a.theme_id is not None}
        previous_ids, previous_matrix = self.themes.centroids()
        match = timed(
            "matching themes",
            match_themes,
            previous,
            dict(zip(previous_ids, previous_matrix)),
            [r.id for r in records],
            labels,
            centroids,
        )
        clustering = timed(
            "re-applying curation",
            apply_rules,
            self.evidence.stores.curation,
            Clustering(labels.copy(), np.array(centroids, dtype=np.float32), list(match.inherited), dict(match.retired)),
            vectors,
        )
        labels, centroids = clustering.labels, clustering.centroids
        similarity = np.full(len(records), np.nan, dtype=np.float32)
        themed_rows = labels >= 0
        if themed_rows.any():
            similarity[themed_rows] = np.einsum("ij,ij->i", vectors[themed_rows], centroids[labels[themed_rows]])
        tokens, bigrams = timed("keywords", self._words, texts, languages)
        # no one person's word labels a theme: a keyword needs LNOB_SMALL_CELL contributors among the theme's texts
        extractor = KeywordExtractor(min_contributors=self.evidence.settings.small_cell)
        contributors = [person_of(r) for r in records]
        keywords = (
            extractor.fit(tokens, labels, languages=languages, bigrams=bigrams, contributors=contributors)
            if len(records)
            else None
        )
        scorer = self.evidence.driver_scorer
        scores = timed("drivers", scorer.score, vectors) if len(records) else np.zeros((0, len(scorer.codebook.keys)))
        per_testimony = scorer.assign(scores) if len(records) else []
        changes = change_report(previous, [r.id for r in records], labels, clustering.inherited, clustering.retired)

        snapshots = []
        for k in range(len(centroids)):
            members = labels == k
            theme_drivers = scorer.score_theme(scores[members])
            theme_keywords = keywords.keywords_.get(k, []) if keywords else []
            snapshots.append(
                ThemeSnapshot(
                    id=clustering.inherited[k],
                    label=(keywords.labels_text_.get(k) if keywords else None)
                    or scorer.codebook.theme_name(theme_drivers.primary, theme_drivers.subdriver),
                    keywords=[[term, round(float(score), 4)] for term, score in theme_keywords],
                    keywords_by_language={
                        code: [[term, round(float(score), 4)] for term, score in words]
                        for code, words in (keywords.keywords_by_language_.get(k, {}) if keywords else {}).items()
                    },
                    primary_driver=theme_drivers.primary,
                    intersecting_drivers=list(theme_drivers.intersecting),
                    driver_scores={d: round(float(s), 4) for d, s in theme_drivers.scores.items()},
                    subdriver=theme_drivers.subdriver,
                    centroid=centroids[k],
                    size=int(members.sum()),
                )
            )
        rows = [
            AssignmentRow(
                testimony_id=record.id,
                theme_index=int(labels[i]) if labels[i] >= 0 else None,
                similarity=float(similarity[i]) if labels[i] >= 0 else None,
                primary_driver=per_testimony[i].primary,
                intersecting_drivers=list(per_testimony[i].intersecting),
                driver_scores={d: round(float(s), 4) for d, s in per_testimony[i].scores.items()},
                map_xy=(round(float(coordinates[i, 0]), 4), round(float(coordinates[i, 1]), 4)),
            )
            for i, record in enumerate(records)
        ]
        timed("saving", self.themes.save_run, run.id, snapshots, rows, clustering.retired, changes)
        finished = self.themes.last_run()
        themed = int((labels >= 0).sum())
        return AnalysisReport(
            run_id=run.id,
            testimonies=len(records),
            themes=len(snapshots),
            unthemed=len(records) - themed,
            coverage=round(themed / len(records), 4) if records else 0.0,
            changes=finished.changes if finished else {},
            driver_agreement=agreement([r.self_drivers for r in records], [a.primary for a in per_testimony]),
            driver_agreement_by_language={  # a language with fewer compared texts than a small cell is left out
                code: result
                for code, result in agreement_by_language(
                    [r.self_drivers for r in records], [a.primary for a in per_testimony], languages
                ).items()
                if result["n"] >= self.evidence.settings.small_cell
            },
            seconds=round(time.perf_counter() - started, 2),
            timings=timings,
            space=space,
        )
