"""Measuring themes and search against labelled data, in a temporary store.

Each evaluation imports the file into a fresh data dir of its own (SQLite and
embedded Chroma under a temporary folder), so the user's data is never
touched. Clustering is compared with a label column (NMI, ARI, homogeneity,
completeness, coverage); retrieval with queries whose relevant texts are
the rows where a label column is 1 (precision@k, nDCG@k).
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

from analysis.evidence import EvidenceBase

Step = Callable[[str], None]


@contextmanager
def temporary_evidence(settings: Settings):
    """An evidence base in a temporary data dir with the same model settings as ``settings``."""
    with tempfile.TemporaryDirectory(prefix="lnob-eval-") as folder:
        temporary = settings.model_copy(
            update={"data_dir": Path(folder), "database_url": None, "chroma_url": None, "pseudonym_key": "evaluation"}
        )
        upgrade(make_engine(temporary.resolved_database_url))
        yield EvidenceBase(temporary)


def _import(evidence: EvidenceBase, path: Path, text_col: str, language_col: str | None = None) -> dict[str, int]:
    """Import ``path``; returns testimony id -> file row number."""
    spec = ImportSpec(text_col=text_col, language_col=language_col, consent=ConsentLevel.quote)
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


def evaluate_clusters(
    settings: Settings, path: Path, text_col: str, label_col: str, *, random_state: int = 0, step: Step | None = None
) -> dict:
    """Import, analyse and compare the themes with ``label_col``; unthemed counts as its own label."""
    from sklearn import metrics

    from analysis.analyse import Analysis

    values = _columns(Path(path), [text_col, label_col])
    with temporary_evidence(settings) as evidence:
        (step or (lambda _m: None))("importing")
        rows = _import(evidence, Path(path), text_col)
        report = Analysis(evidence, random_state=random_state).run(step)
        assignments = evidence.themes.assignments()
        ids = [tid for tid in rows if values[rows[tid]].get(label_col, "").strip()]
        truth = [values[rows[tid]][label_col].strip() for tid in ids]
        predicted = [assignments[tid].theme_id if assignments[tid].theme_id is not None else -1 for tid in ids]
    return {
        "file": str(path),
        "texts": len(ids),
        "labels": len(set(truth)),
        "themes": report.themes,
        "coverage": round(sum(p != -1 for p in predicted) / len(predicted), 4) if predicted else 0.0,
        "nmi": round(float(metrics.normalized_mutual_info_score(truth, predicted)), 4),
        "ari": round(float(metrics.adjusted_rand_score(truth, predicted)), 4),
        "homogeneity": round(float(metrics.homogeneity_score(truth, predicted)), 4),
        "completeness": round(float(metrics.completeness_score(truth, predicted)), 4),
        "random_state": random_state,
        "seconds": report.seconds,
    }


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
    modes: Sequence[str] = ("hybrid", "semantic", "lexical"),
    step: Step | None = None,
) -> dict:
    """Precision@k and nDCG@k of search for each query; a text is relevant when its label column is 1."""
    from analysis.search import Searcher

    queries = read_queries(queries_path)
    unknown = sorted({label for _, label in queries} - set(label_cols))
    if unknown:
        raise ImportFileError(f"queries use labels not in --label-cols: {', '.join(unknown)}")
    values = _columns(Path(path), [text_col, *label_cols])
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
    return {
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


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Write a small CSV (used to hand label subsets to the evaluation)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
