"""Measuring themes and search against labelled data, in a temporary store.

Each evaluation imports the file into a fresh data dir of its own (SQLite and
embedded Chroma under a temporary folder), so the user's data is never
touched. Clustering is compared with a label column (NMI, ARI, homogeneity,
completeness, coverage); retrieval with queries whose relevant texts are
the rows where a label column is 1 (precision@k, nDCG@k).

Languages: the file is imported with no language, so the same detection as
any import decides each text's language and nothing assumes English; a
``language_col`` is read only as ground truth, to measure how strongly the
themes follow language (NMI of themes against it; 0: themes ignore
language, 1: each theme is one language) and to break retrieval down by the
language of the relevant texts. Queries may be in any language.
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from corpus.db import make_engine, upgrade
from corpus.errors import ImportFileError
from corpus.importer import ImportSpec, commit_plan, plan_import, read_rows
from corpus.models import ConsentLevel
from corpus.settings import Settings
from corpus.vocabulary import SEARCH_MODES

from analysis.analyse import Analysis
from analysis.evidence import EvidenceBase
from analysis.languages import LanguageMix, SingleLanguageRule
from analysis.search import Searcher

Step = Callable[[str], None]


@contextmanager
def temporary_evidence(settings: Settings):
    """An evidence base in a temporary data dir with the same model settings as ``settings``."""
    with tempfile.TemporaryDirectory(prefix="lnob-eval-") as folder:
        temporary = settings.model_copy(
            # no pseudonym key: a throwaway one is generated in the temporary data dir
            update={"data_dir": Path(folder), "database_url": None, "chroma_url": None, "pseudonym_key": None}
        )
        upgrade(make_engine(temporary.resolved_database_url))
        yield EvidenceBase(temporary)


def _import(evidence: EvidenceBase, path: Path, text_col: str) -> dict[str, int]:
    """Import ``path`` with no declared language (detection decides); returns testimony id -> file row number."""
    spec = ImportSpec(text_col=text_col, consent=ConsentLevel.quote)
    plan = plan_import(evidence.store, path, spec)
    row_of_ref = {draft.source_ref: row for row, draft in plan.drafts}
    rows: dict[str, int] = {}

    def remember(stored):
        for testimony in stored:
            rows[testimony.id] = row_of_ref[testimony.source_ref]
        evidence.index_ids([t.id for t in stored])

    commit_plan(evidence.store, plan, on_batch=remember)
    return rows


def _columns(path: Path, needed: Sequence[str]) -> dict[int, dict[str, str]]:
    header, rows = read_rows(path)
    missing = [c for c in needed if c not in header]
    if missing:
        raise ImportFileError(f"unknown column {', '.join(map(repr, missing))} in {path.name}; columns are: {', '.join(header)}")
    return {number: row for number, row in rows}


UNTHEMED = -1  # the theme of an unthemed text in the metrics, which count it as a cluster of its own


def evaluate_clusters(
    settings: Settings,
    path: Path,
    text_col: str,
    label_col: str,
    *,
    language_col: str | None = None,
    id_col: str | None = None,
    assignments_path: Path | None = None,
    random_state: int = 0,
    step: Step | None = None,
) -> dict:
    """Import, analyse and compare the themes with ``label_col``; unthemed counts as its own label.

    With ``language_col``, also how strongly the themes follow language
    (``language``: NMI of themes against it, per-language coverage and label
    NMI, themes that are essentially one language). With
    ``assignments_path``, each imported row's theme is written there as CSV
    (``assignments_csv``): no text.
    """
    needed = [text_col, label_col, *(c for c in (language_col, id_col) if c)]
    values = _columns(Path(path), needed)
    with temporary_evidence(settings) as evidence:
        (step or (lambda _m: None))("importing")
        rows = _import(evidence, Path(path), text_col)
        report = Analysis(evidence, random_state=random_state).run(step)
        theme_of = {tid: a.theme_id if a.theme_id is not None else UNTHEMED
                    for tid, a in evidence.themes.assignments().items()}
    ids = [tid for tid in rows if values[rows[tid]].get(label_col, "").strip()]
    truth = [values[rows[tid]][label_col].strip() for tid in ids]
    predicted = [theme_of.get(tid, UNTHEMED) for tid in ids]
    result = {
        "file": str(path),
        "texts": len(ids),
        "labels": len(set(truth)),
        "themes": report.themes,
        **label_metrics(truth, predicted),
        "random_state": random_state,
        "seconds": report.seconds,
    }
    if language_col:
        languages = {tid: values[row].get(language_col, "").strip().lower() for tid, row in rows.items()}
        labels = {tid: values[rows[tid]][label_col].strip() for tid in ids}
        rule = SingleLanguageRule.for_settings(settings)
        result["language"] = {"column": language_col, **language_metrics(languages, theme_of, labels, rule)}
    if assignments_path is not None:
        written = write_assignments(Path(assignments_path), rows, values, theme_of, id_col=id_col,
                                    label_col=label_col, language_col=language_col)
        result["assignments_csv"] = {"path": str(assignments_path), "rows": written}
    return result


def label_metrics(truth: Sequence[str], predicted: Sequence[int]) -> dict[str, float]:
    """Coverage, NMI, ARI, homogeneity and completeness of themes ``predicted`` against labels ``truth``."""
    from sklearn import metrics

    if not predicted:
        return {"coverage": 0.0, "nmi": 0.0, "ari": 0.0, "homogeneity": 0.0, "completeness": 0.0}
    return {
        "coverage": round(sum(p != UNTHEMED for p in predicted) / len(predicted), 4),
        "nmi": round(float(metrics.normalized_mutual_info_score(truth, predicted)), 4),
        "ari": round(float(metrics.adjusted_rand_score(truth, predicted)), 4),
        "homogeneity": round(float(metrics.homogeneity_score(truth, predicted)), 4),
        "completeness": round(float(metrics.completeness_score(truth, predicted)), 4),
    }


def language_metrics(
    languages: dict[str, str], theme_of: dict[str, int], labels: dict[str, str], rule: SingleLanguageRule | None = None
) -> dict:
    """How strongly themes follow language: texts whose ``languages`` value is empty are left out.

    ``nmi`` is the NMI of themes against language (0: themes ignore language,
    1: each theme is exactly one language); ``homogeneity`` how far each theme
    holds one language. ``by_language`` gives each language's texts, coverage
    and the label metrics within it (``labels``: testimony id -> label);
    ``single_language_themes`` the themes ``rule`` flags as essentially one
    language (every row counts as its own contributor).
    """
    from sklearn import metrics

    rule = rule or SingleLanguageRule()
    ids = [tid for tid, language in languages.items() if language and tid in theme_of]
    language_of = [languages[tid] for tid in ids]
    themes = [theme_of[tid] for tid in ids]
    per_language: dict[str, list[str]] = {}
    for tid in ids:
        per_language.setdefault(languages[tid], []).append(tid)
    by_language = {}
    for language, members in sorted(per_language.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        labelled = [tid for tid in members if tid in labels]
        scores = label_metrics([labels[t] for t in labelled], [theme_of[t] for t in labelled])
        scores["coverage"] = round(sum(theme_of[t] != UNTHEMED for t in members) / len(members), 4)  # all, labelled or not
        by_language[language] = {"texts": len(members), "labelled": len(labelled), **scores}
    flagged = _single_language_themes(ids, languages, theme_of, rule)
    return {
        "texts": len(ids),
        "languages": {language: entry["texts"] for language, entry in by_language.items()},
        "nmi": round(float(metrics.normalized_mutual_info_score(language_of, themes)), 4) if ids else 0.0,
        "homogeneity": round(float(metrics.homogeneity_score(language_of, themes)), 4) if ids else 0.0,
        "single_language_themes": flagged,
        "by_language": by_language,
    }


def _single_language_themes(
    ids: Sequence[str], languages: dict[str, str], theme_of: dict[str, int], rule: SingleLanguageRule
) -> list[dict]:
    """The themes ``rule`` flags as essentially one language, judged on the file's language column."""
    corpus = LanguageMix.of_languages(languages[tid] for tid in ids)
    members: dict[int, list[str]] = {}
    for tid in ids:
        if theme_of[tid] != UNTHEMED:
            members.setdefault(theme_of[tid], []).append(tid)
    flagged = []
    for theme_id, theme_members in sorted(members.items()):
        flag = rule.check(LanguageMix.of_languages(languages[tid] for tid in theme_members), corpus)
        if flag is not None:
            flagged.append({"theme": theme_id, "texts": len(theme_members), **flag.to_dict()})
    return flagged


def write_assignments(
    path: Path,
    rows: dict[str, int],
    values: dict[int, dict[str, str]],
    theme_of: dict[str, int],
    *,
    id_col: str | None = None,
    label_col: str | None = None,
    language_col: str | None = None,
) -> int:
    """Write each imported row's theme to ``path`` (CSV, by row number); returns the rows written.

    Columns: ``row`` (the file's row number, header = 1), ``id`` (with
    ``id_col``), ``theme`` (empty: unthemed), ``label`` and ``language`` (with
    those columns). Never the text: the file can be shared with the metrics.
    Rows the import refused (empty, duplicate text) are not in it.
    """
    header = ["row", *(["id"] if id_col else []), "theme", *(["label"] if label_col else []),
              *(["language"] if language_col else [])]
    lines = []
    for tid, row in sorted(rows.items(), key=lambda kv: kv[1]):
        theme = theme_of.get(tid, UNTHEMED)
        line = [row, *([values[row].get(id_col, "")] if id_col else []), "" if theme == UNTHEMED else theme]
        line += [values[row].get(column, "").strip() for column in (label_col, language_col) if column]
        lines.append(line)
    write_csv(path, header, lines)
    return len(lines)


def read_queries(path: Path) -> list[tuple[str, str]]:
    """``(query, label)`` pairs from a CSV with columns ``query,label``."""
    header, rows = read_rows(Path(path))
    if "query" not in header or "label" not in header:
        raise ImportFileError(f"{Path(path).name} needs columns query,label; it has: {', '.join(header)}")
    pairs = [(row["query"].strip(), row["label"].strip()) for _, row in rows if row.get("query", "").strip()]
    if not pairs:
        raise ImportFileError(f"{Path(path).name} has no queries")
    return pairs


def precision_at_k(relevant: Sequence[bool], k: int) -> float:
    """Share of the top ``k`` results that are relevant (missing results count as not relevant)."""
    return sum(relevant[:k]) / k


def ndcg_at_k(relevant: Sequence[bool], k: int, total_relevant: int) -> float:
    """Binary-relevance nDCG@k."""
    dcg = sum(1.0 / math.log2(i + 2) for i, rel in enumerate(relevant[:k]) if rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, total_relevant)))
    return dcg / ideal if ideal else 0.0


def evaluate_retrieval(
    settings: Settings,
    path: Path,
    text_col: str,
    label_cols: Sequence[str],
    queries_path: Path,
    *,
    k: int = 10,
    mode: str = "hybrid",
    modes: Sequence[str] = SEARCH_MODES,
    language_col: str | None = None,
    step: Step | None = None,
) -> dict:
    """Precision@k and nDCG@k of search for each query; a text is relevant when its label column is 1.

    With ``language_col``, ``by_language`` breaks the chosen mode down by the
    language of the relevant texts (``retrieval_by_language``).
    """
    queries = read_queries(queries_path)
    unknown = sorted({label for _, label in queries} - set(label_cols))
    if unknown:
        raise ImportFileError(f"queries use labels not in --label-cols: {', '.join(unknown)}")
    values = _columns(Path(path), [text_col, *label_cols, *([language_col] if language_col else [])])
    found_by_query: list[tuple[set[str], list[str]]] = []
    all_modes = list(dict.fromkeys([mode, *modes]))
    with temporary_evidence(settings) as evidence:
        (step or (lambda _m: None))("importing")
        rows = _import(evidence, Path(path), text_col)
        searcher = Searcher(evidence)
        results: dict[str, dict] = {}
        for current in all_modes:
            per_query = []
            for query, label in queries:
                relevant_ids = {tid for tid, row in rows.items() if values[row].get(label, "").strip() == "1"}
                found = searcher.search(query, k, mode=current)
                flags = [r.id in relevant_ids for r in found]
                if current == mode:
                    found_by_query.append((relevant_ids, [r.id for r in found]))
                per_query.append(
                    {
                        "query": query,
                        "label": label,
                        "relevant": len(relevant_ids),
                        "precision_at_k": round(precision_at_k(flags, k), 4),
                        "ndcg_at_k": round(ndcg_at_k(flags, k, len(relevant_ids)), 4),
                    }
                )
            results[current] = {
                "precision_at_k": round(float(np.mean([q["precision_at_k"] for q in per_query])), 4),
                "ndcg_at_k": round(float(np.mean([q["ndcg_at_k"] for q in per_query])), 4),
                "per_query": per_query,
            }
    chosen = results[mode]
    result = {
        "file": str(path),
        "texts": len(rows),
        "queries": len(queries),
        "k": k,
        "mode": mode,
        "precision_at_k": chosen["precision_at_k"],
        "ndcg_at_k": chosen["ndcg_at_k"],
        "per_query": chosen["per_query"],
        "modes": {m: {"precision_at_k": r["precision_at_k"], "ndcg_at_k": r["ndcg_at_k"]} for m, r in results.items()},
    }
    if language_col:
        language_of = {tid: values[row].get(language_col, "").strip().lower() or "unknown" for tid, row in rows.items()}
        result["language_column"] = language_col
        result["by_language"] = retrieval_by_language(found_by_query, language_of, k)
    return result


def retrieval_by_language(found_by_query: Sequence[tuple[set[str], list[str]]], language_of: dict[str, str], k: int) -> dict:
    """Per language of the relevant texts: how well search finds them (``found_by_query``: (relevant ids, ranked ids)).

    For each language, over the queries with a relevant text in it:
    ``precision_at_k`` is the mean share of the top ``k`` that are relevant
    texts in that language (summed over languages it gives P@k), ``ndcg_at_k``
    the mean nDCG@k counting only them as relevant (1: they are all ranked
    first, whatever the language of the query), ``relevant`` their mean number.
    """
    scores: dict[str, dict[str, list[float]]] = {}
    for relevant, ranked in found_by_query:
        for language in sorted({language_of[tid] for tid in relevant}):
            in_language = {tid for tid in relevant if language_of[tid] == language}
            flags = [tid in in_language for tid in ranked]
            entry = scores.setdefault(language, {"precision_at_k": [], "ndcg_at_k": [], "relevant": []})
            entry["precision_at_k"].append(precision_at_k(flags, k))
            entry["ndcg_at_k"].append(ndcg_at_k(flags, k, len(in_language)))
            entry["relevant"].append(len(in_language))
    return {
        language: {"queries": len(entry["relevant"]), **{key: round(float(np.mean(v)), 4) for key, v in entry.items()}}
        for language, entry in sorted(scores.items(), key=lambda kv: (-sum(kv[1]["relevant"]), kv[0]))
    }


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Write a small CSV (used to hand label subsets to the evaluation)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
