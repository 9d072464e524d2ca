"""Drivers of marginalisation: the codebook staff edit, and a scorer that maps testimonies onto it.

The five factors of UNDP's "What does it mean to leave no one behind?"
(discrimination, geography, governance, socio-economic status, shocks and
fragility) live in ``analysis/drivers.yaml``, each with sub-drivers and
example phrases in several languages. The scorer compares a testimony's
embedding with those phrases (prototypes) and says which driver it is mostly
about, and which others intersect::

    >>> embedder = Embedder()
    >>> scorer = DriverScorer(Codebook.load(), embedder).fit()
    >>> scorer.predict(embedder.encode(["The officer asked for a bribe before issuing my ID card."]))[0]
    DriverAssignment(primary='governance', intersecting=(), scores={...}, subdriver='corruption')

How a score is made (chosen on the synthetic demo corpus, see below):

1. ``raw[d]``: the mean of the ``top_k`` highest cosine similarities between
   the text and driver ``d``'s phrases. A mean of several neighbours is less
   noisy than the single nearest phrase, and unlike the mean of all phrases
   it does not penalise a driver for covering many different situations
   (drivers have different numbers of phrases).
2. ``raw[d] - background_[d]``: some drivers' phrases are closer to every
   text than others' (generic words like "village", "children"). The
   background of ``d`` is its raw score averaged over the codebook's phrases
   of the *other* drivers: how much ``d`` attracts text that is not about it.
   It comes from the codebook alone, so a text's score does not depend on
   what else is scored with it.
3. ``softmax(corrected / temperature)`` over the five drivers: scores sum
   to 1, so they are comparable across texts and themes and read as shares.
   The temperature only changes how peaked they are, never which driver wins.

Measured with the bundled English-only all-MiniLM-L6-v2 on
``corpus/samples/demo_corpus.csv`` (346 texts; primary vs the intended
``driver``; chance is 0.20):

=====================================  =======  =======  ====  ====  ====
scoring                                overall  English  fr    es    sw
=====================================  =======  =======  ====  ====  ====
nearest phrase (max)                   0.58     0.73     0.48  0.40  0.33
top-3 mean                             0.61     0.76     0.48  0.48  0.33
top-5 mean                             0.65     0.79     0.54  0.52  0.35
top-3 mean, background corrected       0.65     0.80     0.48  0.54  0.40
**top-5 mean, background corrected**   0.66     0.79     0.52  0.58  0.40
=====================================  =======  =======  ====  ====  ====

With the multilingual default (multilingual-e5-small, top-5 mean,
background corrected, temperature 0.008 from ``analysis/models.yaml``): 0.73
overall, English 0.72, fr 0.79, es 0.81, sw 0.63; the English-only model's
0.79 on English came with 0.40 to 0.58 elsewhere.

No codebook phrase is taken from that corpus (a test checks it). The
temperature 0.03 gives the lowest log-loss there; with the default
intersection margin 0.2, 12% of the English texts (34% of all) get an
intersecting driver. Non-English texts score lower because the model is
English-only; every sub-driver has phrases in en/fr/es/sw so that a text at
least meets prototypes in its own language. A multilingual model
(``LNOB_EMBEDDING_MODEL``) needs no change here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

if TYPE_CHECKING:
    from analysis.embeddings import Embedder

DEFAULT_CODEBOOK = Path(__file__).with_name("drivers.yaml")
DRIVER_KEYS = ("discrimination", "geography", "governance", "socio_economic", "shocks")
REQUIRED_LANGUAGES = ("en", "fr", "es", "sw")
FALLBACK_LANGUAGE = "en"
NO_DRIVER = "none"  # the column, bar or legend entry of contributions with no primary driver


class CodebookError(ValueError):
    """The codebook file is missing, not YAML, or has a wrong or missing key (the message names it)."""


@dataclass(frozen=True)
class SubDriver:
    """One situation within a driver, with example phrases per language code."""

    key: str
    description: str
    phrases: dict[str, list[str]]


@dataclass(frozen=True)
class Driver:
    """One of the five drivers: names and a plain-words question per language, and its sub-drivers."""

    key: str
    names: dict[str, str]
    plain: dict[str, str]
    description: str
    subdrivers: tuple[SubDriver, ...]

    def name(self, language: str = FALLBACK_LANGUAGE) -> str:
        """The driver's name in ``language``, or in English where the codebook has none."""
        return self.names.get(language) or self.names[FALLBACK_LANGUAGE]

    def plain_text(self, language: str = FALLBACK_LANGUAGE) -> str:
        """The plain-words question in ``language``, or in English."""
        return self.plain.get(language) or self.plain[FALLBACK_LANGUAGE]


@dataclass(frozen=True)
class Codebook:
    """The validated contents of ``drivers.yaml``; drivers in the order of ``DRIVER_KEYS``."""

    version: str
    drivers: tuple[Driver, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The driver keys, in codebook (and score column) order."""
        return tuple(driver.key for driver in self.drivers)

    def get(self, key: str) -> Driver:
        """The driver ``key``; ``KeyError`` naming the known keys otherwise."""
        for driver in self.drivers:
            if driver.key == key:
                return driver
        raise KeyError(f"no driver {key!r}; the codebook has {', '.join(self.keys)}")

    def theme_name(self, driver: str | None, subdriver: str | None = None, language: str = FALLBACK_LANGUAGE) -> str:
        """A readable name for a theme no shared word can label: its driver and sub-driver ("Geography · remoteness").

        Keywords must rest on several contributors' words (``LNOB_SMALL_CELL``);
        a theme without such words is named from the codebook instead of by a number.
        """
        try:
            name = self.get(driver or "").name(language)
        except KeyError:
            return "unnamed theme"
        return f"{name} · {subdriver.replace('_', ' ')}" if subdriver else name

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Codebook":
        """Read and validate the codebook at ``path`` (default: the bundled ``analysis/drivers.yaml``)."""
        path = Path(path) if path is not None else DEFAULT_CODEBOOK
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CodebookError(f"{path}: cannot read the codebook: {exc}") from exc
        except yaml.YAMLError as exc:
            raise CodebookError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, source: str = "codebook") -> "Codebook":
        """Validate an already parsed codebook; errors name ``source`` and the dotted key path."""
        root = _mapping(data, source, "the top level")
        version = root.get("version")
        if not isinstance(version, (str, int, float)) or isinstance(version, bool) or str(version).strip() == "":
            raise CodebookError(f"{source}: 'version' is missing or empty (e.g. version: \"2026.1\")")
        drivers = _mapping(root.get("drivers"), source, "drivers")
        missing = [key for key in DRIVER_KEYS if key not in drivers]
        unknown = [key for key in drivers if key not in DRIVER_KEYS]
        if missing:
            known = ", ".join(DRIVER_KEYS)
            raise CodebookError(f"{source}: drivers.{missing[0]} is missing (the five drivers are {known})")
        if unknown:
            raise CodebookError(f"{source}: drivers.{unknown[0]} is not a known driver (use {', '.join(DRIVER_KEYS)})")
        return cls(
            version=str(version),
            drivers=tuple(_driver(key, drivers[key], source) for key in DRIVER_KEYS),
        )


@cache
def bundled_codebook() -> Codebook:
    """The codebook shipped with the project (``analysis/drivers.yaml``), read once per process.

    Only for code that has no evidence base to ask (a chart drawn from rows
    alone); everything else uses ``EvidenceBase.codebook``, the configured one.
    """
    return Codebook.load()


def driver_keys(codebook: Codebook | None = None) -> tuple[str, ...]:
    """The driver keys in codebook order (``codebook``; None: the bundled one), the five built-in keys if
    the codebook cannot be read."""
    try:
        return (codebook or bundled_codebook()).keys
    except Exception:  # the codebook is staff-edited data; a chart or a report must still be made
        return DRIVER_KEYS


def driver_name(key: str | None, language: str = FALLBACK_LANGUAGE, codebook: Codebook | None = None) -> str:
    """The display name of a driver from ``codebook`` (None: the bundled one), or the key itself when it is
    unknown; "No driver" for none."""
    if not key or key == NO_DRIVER:
        return "No driver"
    try:
        return (codebook or bundled_codebook()).get(key).name(language)
    except Exception:  # an unknown key or an unreadable codebook: show the key
        return key.replace("_", " ").capitalize()


def _mapping(value: Any, source: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise CodebookError(f"{source}: {where} must be a non-empty mapping of keys to values")
    return value


def _text(value: Any, source: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CodebookError(f"{source}: {where} must be a non-empty text")
    return value.strip()


def _per_language(value: Any, source: str, where: str) -> dict[str, str]:
    texts = {str(lang): _text(text, source, f"{where}.{lang}") for lang, text in _mapping(value, source, where).items()}
    _require_languages(texts, source, where)
    return texts


def _require_languages(per_language: Mapping[str, Any], source: str, where: str) -> None:
    for lang in REQUIRED_LANGUAGES:
        if lang not in per_language:
            needed = ", ".join(REQUIRED_LANGUAGES)
            raise CodebookError(f"{source}: {where}.{lang} is missing (every entry needs {needed})")


def _driver(key: str, value: Any, source: str) -> Driver:
    where = f"drivers.{key}"
    entry = _mapping(value, source, where)
    subdrivers = _mapping(entry.get("subdrivers"), source, f"{where}.subdrivers")
    return Driver(
        key=key,
        names=_per_language(entry.get("name"), source, f"{where}.name"),
        plain=_per_language(entry.get("plain"), source, f"{where}.plain"),
        description=_text(entry.get("description"), source, f"{where}.description"),
        subdrivers=tuple(
            _subdriver(str(sub), body, source, f"{where}.subdrivers.{sub}") for sub, body in subdrivers.items()
        ),
    )


def _subdriver(key: str, value: Any, source: str, where: str) -> SubDriver:
    entry = _mapping(value, source, where)
    phrases: dict[str, list[str]] = {}
    for lang, items in _mapping(entry.get("phrases"), source, f"{where}.phrases").items():
        if not isinstance(items, list) or not items:
            raise CodebookError(f"{source}: {where}.phrases.{lang} must be a non-empty list of phrases")
        phrases[str(lang)] = [_text(item, source, f"{where}.phrases.{lang}[{i}]") for i, item in enumerate(items)]
    _require_languages(phrases, source, f"{where}.phrases")
    description = _text(entry.get("description"), source, f"{where}.description")
    return SubDriver(key=key, description=description, phrases=phrases)


@dataclass(frozen=True)
class DriverAssignment:
    """Which driver a text or theme is mostly about, which others intersect, and the scores behind it."""

    primary: str
    intersecting: tuple[str, ...]
    scores: dict[str, float]
    subdriver: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, as stored with assignments and themes."""
        return {
            "primary": self.primary,
            "intersecting": list(self.intersecting),
            "scores": dict(self.scores),
            "subdriver": self.subdriver,
        }


class DriverScores(np.ndarray):
    """Driver scores (n, 5) that carry their texts' sub-driver scores along (``subdriver_scores``).

    ``DriverScorer.score`` returns one, so that ``assign(scores)`` and
    ``score_theme(scores[members])`` can name the best sub-driver without a
    second argument. Selecting rows (``scores[mask]``, ``scores[3:7]``) keeps
    the matching sub-driver rows; any other operation gives plain scores
    (``subdriver_scores`` is None) and sub-drivers are then left out.
    """

    subdriver_scores: np.ndarray | None

    def __new__(cls, scores: np.ndarray, subdriver_scores: np.ndarray | None = None) -> "DriverScores":
        array = np.asarray(scores, dtype=np.float32).view(cls)
        array.subdriver_scores = subdriver_scores
        return array

    def __array_finalize__(self, obj: Any) -> None:
        self.subdriver_scores = None

    def __getitem__(self, index: Any) -> Any:
        out = super().__getitem__(index)
        rows = _row_selection(index)
        if isinstance(out, DriverScores) and self.subdriver_scores is not None and rows is not None:
            selected = self.subdriver_scores[rows]
            if selected.ndim == out.ndim:
                out.subdriver_scores = selected
        return out


def _row_selection(index: Any) -> Any:
    """The row part of ``index`` when it selects rows and keeps every column, else None."""
    if isinstance(index, tuple):
        if len(index) == 2 and isinstance(index[1], slice) and index[1] == slice(None):
            return index[0]
        return None if len(index) != 1 else index[0]
    return index


class DriverScorer:
    """Scores texts against the codebook by embedding similarity to the sub-driver phrases (prototypes).

    ``embedder`` is an ``analysis.embeddings.Embedder`` (anything whose
    ``encode(list[str])`` returns unit vectors). Parameters:

    - ``intersection_margin``: another driver intersects when its score is
      within this of the primary's (scores are shares summing to 1);
    - ``min_score``: and is more than this (0.2 is a flat share of five), so
      a text that resembles nothing does not "intersect" with everything;
    - ``top_k``: how many of a driver's nearest phrases are averaged;
    - ``temperature``: softmax temperature on the corrected cosines.

    ``fit()`` embeds the phrases once and sets ``prototypes_`` (one unit
    vector per phrase), ``phrase_driver_`` and ``phrase_subdriver_`` (their
    driver and sub-driver index), ``subdriver_keys_`` ((driver, sub-driver)
    pairs) and ``background_`` (per driver, see the module docstring).
    """

    def __init__(
        self,
        codebook: Codebook,
        embedder: "Embedder",
        *,
        intersection_margin: float = 0.2,
        min_score: float = 0.2,
        top_k: int = 5,
        temperature: float = 0.03,
    ) -> None:
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        if temperature <= 0:
            raise ValueError("temperature must be positive")
        self.codebook = codebook
        self.embedder = embedder
        self.intersection_margin = intersection_margin
        self.min_score = min_score
        self.top_k = top_k
        self.temperature = temperature

    def fit(self) -> "DriverScorer":
        """Embed every phrase of the codebook once and compute each driver's background score."""
        phrases: list[str] = []
        drivers: list[int] = []
        subdrivers: list[int] = []
        keys: list[tuple[str, str]] = []
        for d, driver in enumerate(self.codebook.drivers):
            for sub in driver.subdrivers:
                keys.append((driver.key, sub.key))
                for texts in sub.phrases.values():
                    phrases.extend(texts)
                    drivers.extend([d] * len(texts))
                    subdrivers.extend([len(keys) - 1] * len(texts))
        self.prototypes_ = np.asarray(self.embedder.encode(phrases), dtype=np.float32)
        self.phrase_driver_ = np.asarray(drivers)
        self.phrase_subdriver_ = np.asarray(subdrivers)
        self.subdriver_keys_ = tuple(keys)
        self.background_ = np.zeros(len(self.codebook.drivers), dtype=np.float32)
        own = self._raw(self.prototypes_)  # background is still zero here: plain top-k means
        self.background_ = np.array(
            [own[self.phrase_driver_ != d, d].mean() for d in range(len(self.codebook.drivers))], dtype=np.float32
        )
        return self

    def _raw(self, embeddings: np.ndarray) -> np.ndarray:
        """Top-k mean cosine to each driver's phrases, minus the driver's background, shape (n, 5)."""
        similarity = np.asarray(embeddings, dtype=np.float32) @ self.prototypes_.T
        raw = np.empty((similarity.shape[0], len(self.codebook.drivers)), dtype=np.float32)
        for d in range(raw.shape[1]):
            block = similarity[:, self.phrase_driver_ == d]
            k = min(self.top_k, block.shape[1])
            raw[:, d] = np.partition(block, block.shape[1] - k, axis=1)[:, -k:].mean(axis=1)
        return raw - self.background_

    def score(self, embeddings: np.ndarray) -> DriverScores:
        """Each text's share of each driver, shape (n, 5) in codebook order; rows sum to 1.

        The result also carries ``subdriver_scores`` (see ``DriverScores``).
        """
        embeddings = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
        if embeddings.shape[0] == 0:
            empty = np.zeros((0, len(self.subdriver_keys_)), dtype=np.float32)
            return DriverScores(np.zeros((0, len(self.codebook.drivers)), dtype=np.float32), empty)
        logits = self._raw(embeddings) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        shares = np.exp(logits)
        return DriverScores(shares / shares.sum(axis=1, keepdims=True), self.score_subdrivers(embeddings))

    def score_subdrivers(self, embeddings: np.ndarray) -> np.ndarray:
        """Nearest-phrase cosine to each sub-driver, shape (n, len(subdriver_keys_))."""
        similarity = np.atleast_2d(np.asarray(embeddings, dtype=np.float32)) @ self.prototypes_.T
        columns = [similarity[:, self.phrase_subdriver_ == j].max(axis=1) for j in range(len(self.subdriver_keys_))]
        return np.stack(columns, axis=1) if similarity.shape[0] else np.zeros((0, len(columns)), dtype=np.float32)

    def predict(self, embeddings: np.ndarray) -> list[DriverAssignment]:
        """Score and assign in one step."""
        return self.assign(self.score(embeddings))

    def assign(self, scores: np.ndarray, subdriver_scores: np.ndarray | None = None) -> list[DriverAssignment]:
        """Primary and intersecting drivers per row of ``scores``.

        The sub-driver (best of the primary driver) comes from
        ``subdriver_scores``, or from the scores themselves when they came
        from ``score``; it is None when neither has them.
        """
        if subdriver_scores is None:
            subdriver_scores = getattr(scores, "subdriver_scores", None)
        scores = np.atleast_2d(np.asarray(scores))
        subs = None if subdriver_scores is None else np.atleast_2d(np.asarray(subdriver_scores))
        return [self._assignment(row, None if subs is None else subs[i]) for i, row in enumerate(scores)]

    def score_theme(
        self, member_scores: np.ndarray, member_subdriver_scores: np.ndarray | None = None
    ) -> DriverAssignment:
        """A theme's drivers: the mean of its members' scores, with intersections by the same margin.

        The sub-driver is the best of the primary driver by the members' mean
        sub-driver scores (from ``member_subdriver_scores`` or carried by
        ``member_scores``).
        """
        if member_subdriver_scores is None:
            member_subdriver_scores = getattr(member_scores, "subdriver_scores", None)
        member_scores = np.atleast_2d(np.asarray(member_scores))
        if member_scores.shape[0] == 0:
            raise ValueError("a theme needs at least one member to score its drivers")
        subs = None
        if member_subdriver_scores is not None:
            subs = np.atleast_2d(np.asarray(member_subdriver_scores)).mean(axis=0)
        return self._assignment(member_scores.mean(axis=0), subs)

    def _assignment(self, row: np.ndarray, subdriver_row: np.ndarray | None) -> DriverAssignment:
        keys = self.codebook.keys
        best = int(np.argmax(row))
        floor = float(row[best]) - self.intersection_margin
        close = [d for d in range(len(keys)) if d != best and row[d] >= floor and row[d] > self.min_score]
        others = sorted(close, key=lambda d: -row[d])
        return DriverAssignment(
            primary=keys[best],
            intersecting=tuple(keys[d] for d in others),
            scores={key: round(float(value), 4) for key, value in zip(keys, row)},
            subdriver=None if subdriver_row is None else self._best_subdriver(keys[best], subdriver_row),
        )

    def _best_subdriver(self, driver: str, subdriver_row: np.ndarray) -> str:
        candidates = [i for i, (d, _) in enumerate(self.subdriver_keys_) if d == driver]
        return self.subdriver_keys_[max(candidates, key=lambda i: subdriver_row[i])][1]


def agreement(self_signified: Sequence[Sequence[str]], primary: Sequence[str]) -> dict[str, Any]:
    """How often the scorer's primary driver is one the contributor chose themself (SenseMaker-style).

    Only rows where the contributor chose at least one driver are compared:
    ``{"n": rows compared, "agree": rows whose primary is among the chosen, "rate": agree / n or None}``.
    """
    if len(self_signified) != len(primary):
        raise ValueError(f"{len(self_signified)} self-signified rows but {len(primary)} primary drivers")
    chosen_sets = [_as_set(chosen) for chosen in self_signified]
    compared = [(chosen, driver) for chosen, driver in zip(chosen_sets, primary) if chosen]
    agree = sum(1 for chosen, driver in compared if driver in chosen)
    return {"n": len(compared), "agree": agree, "rate": agree / len(compared) if compared else None}


def agreement_by_language(
    self_signified: Sequence[Sequence[str]], primary: Sequence[str], languages: Sequence[str | None]
) -> dict[str, dict[str, Any]]:
    """``agreement`` for the texts of each language (a code per row; none counts as ``"?"``), only
    languages with at least one compared row, largest first."""
    rows: dict[str, tuple[list, list]] = {}
    for chosen, driver, language in zip(self_signified, primary, languages, strict=True):
        own, model = rows.setdefault(language or "?", ([], []))
        own.append(chosen)
        model.append(driver)
    per_language = {code: agreement(own, model) for code, (own, model) in rows.items()}
    compared = {code: result for code, result in per_language.items() if result["n"]}
    return dict(sorted(compared.items(), key=lambda item: -item[1]["n"]))


def _as_set(chosen: Sequence[str] | str | None) -> set[str]:
    """A row's self-signified drivers as a set; a lone key counts as one choice, blanks as none."""
    if not chosen:
        return set()
    return {chosen} if isinstance(chosen, str) else {key for key in chosen if key}
