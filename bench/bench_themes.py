"""Theme quality and scale benchmark: ThemeModel against BERTopic defaults and k-means told k.

Quality (default): on the single-label subset of the disaster-response
validation split (messages with exactly one fine-grained category; the
category is the reference label), one run each of

- ``ThemeModel`` (analysis/themes.py), given the embeddings and the texts;
- BERTopic with its default settings, only the UMAP seed set;
- k-means told the true number of categories,

for seeds 0, 1 and 2, all on the same all-MiniLM-L6-v2 embeddings. It prints
NMI, ARI, homogeneity, completeness, coverage (share of rows in a theme),
number of themes and seconds. For NMI, ARI, homogeneity and completeness the
unthemed rows (-1, BERTopic's outlier topic) count as one more cluster of
their own: leaving rows out would reward a method for refusing hard rows.

``--view multilabel`` is a sanity check on another labelling: every message
of the split with at least one fine-grained category, labelled by the first
one set (in the README's order).

``--scale`` times ``ThemeModel.fit`` (with texts) at 2k, 10k and 50k rows
made by resampling the real embeddings with small Gaussian noise
(re-normalised) and their texts, and BERTopic at 10k, each in a fresh
process so that its peak resident memory (``ru_maxrss``) is its own; it
prints the growth exponent (slope of log seconds over log rows).

Usage::

    python bench/bench_themes.py                 # quality table
    python bench/bench_themes.py --view multilabel
    python bench/bench_themes.py --scale
    python bench/bench_themes.py --markdown      # the same tables as markdown

The data file is read from ``../shared/data/disaster-response/validation.csv``
(next to the repository) or ``--data``; when it is absent the benchmark says
so and exits 0. Embeddings are cached under the system temp folder, keyed by
the texts, never in the repository. The subsets and the cache are
``tests/support/disaster_response.py``'s, shared with ``tests/test_theme_model.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.disaster_response import VALIDATION_CSV, LabelledSet, cached_embeddings, load_labelled_set  # noqa: E402

SEEDS = (0, 1, 2)
SCALE_SIZES = (2_000, 10_000, 50_000)
BERTOPIC_SCALE_SIZE = 10_000
SCALE_NOISE = 0.01  # per-dimension sigma; a resampled vector keeps cosine ~0.98 to its source


# ------------------------------------------------------------------ methods


def fit_theme_model(embeddings: np.ndarray, texts: Sequence[str], seed: int, n_true: int) -> np.ndarray:
    """Labels from ThemeModel with its defaults (not told the number of themes)."""
    from analysis.themes import ThemeModel

    return ThemeModel(random_state=seed).fit(embeddings, texts).labels_


def fit_bertopic(embeddings: np.ndarray, texts: Sequence[str], seed: int, n_true: int) -> np.ndarray:
    """Topics from BERTopic with its default settings; only the UMAP seed is set."""
    from bertopic import BERTopic
    from umap import UMAP

    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    topics, _ = BERTopic(umap_model=umap_model).fit_transform(list(texts), embeddings=embeddings)
    return np.asarray(topics)


def fit_kmeans(embeddings: np.ndarray, texts: Sequence[str], seed: int, n_true: int) -> np.ndarray:
    """k-means told the true number of classes (an upper-hand baseline)."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=n_true, n_init=10, random_state=seed).fit_predict(embeddings)


METHODS: dict[str, Callable[[np.ndarray, Sequence[str], int, int], np.ndarray]] = {
    "ThemeModel": fit_theme_model,
    "BERTopic default": fit_bertopic,
    "k-means (true k)": fit_kmeans,
}


def quality_row(reference: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Agreement with the reference; -1 (unthemed) counts as one cluster of its own."""
    from sklearn import metrics

    return {
        "NMI": metrics.normalized_mutual_info_score(reference, predicted),
        "ARI": metrics.adjusted_rand_score(reference, predicted),
        "homogeneity": metrics.homogeneity_score(reference, predicted),
        "completeness": metrics.completeness_score(reference, predicted),
        "coverage": float(np.mean(predicted != -1)),
        "themes": int(len(set(predicted.tolist()) - {-1})),
    }


def run_quality(data: LabelledSet, methods: Sequence[str]) -> list[dict[str, object]]:
    """One row per method and seed."""
    embeddings = cached_embeddings(data.texts)
    n_true = len(set(data.labels.tolist()))
    rows: list[dict[str, object]] = []
    for name in methods:
        for seed in SEEDS:
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predicted = METHODS[name](embeddings, data.texts, seed, n_true)
            seconds = time.perf_counter() - started
            rows.append({"method": name, "seed": seed, **quality_row(data.labels, predicted), "seconds": seconds})
            print(f"  {name} seed {seed}: done in {seconds:.1f}s", file=sys.stderr, flush=True)
    return rows


# -------------------------------------------------------------------- scale


def resampled(embeddings: np.ndarray, texts: Sequence[str], n: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``n`` rows drawn with replacement, each vector jittered by Gaussian noise and re-normalised."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(embeddings), size=n)
    noisy = embeddings[picks] + rng.normal(0.0, SCALE_NOISE, size=(n, embeddings.shape[1])).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return noisy.astype(np.float32), [texts[i] for i in picks]


def scale_worker(data_path: Path, method: str, n: int) -> None:
    """Fit one method on ``n`` resampled rows in this (fresh) process; print seconds and peak RSS as JSON."""
    data = load_labelled_set(data_path, view="multilabel")
    embeddings, texts = resampled(cached_embeddings(data.texts), data.texts, n)
    from analysis.themes import ThemeModel  # noqa: F401  (import cost outside the timing)

    if method == "BERTopic default":
        import bertopic  # noqa: F401
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = METHODS[method](embeddings, texts, 0, 0)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "method": method, "rows": n, "seconds": seconds, "peak_rss_mb": peak, "rss_before_fit_mb": rss_before,
        "themes": int(len(set(predicted.tolist()) - {-1})), "coverage": float(np.mean(predicted != -1)),
    }))


def run_scale(data_path: Path) -> tuple[list[dict[str, object]], dict[str, float]]:
    """Scale rows (each fit in its own process) and growth exponents of ThemeModel's time and memory."""
    jobs = [("ThemeModel", n) for n in SCALE_SIZES] + [("BERTopic default", BERTOPIC_SCALE_SIZE)]
    rows: list[dict[str, object]] = []
    for method, n in jobs:
        command = [sys.executable, __file__, "--data", str(data_path), "--scale-worker", method, str(n)]
        print(f"  {method} at {n} rows ...", file=sys.stderr, flush=True)
        done = subprocess.run(command, capture_output=True, text=True, check=False, env={**os.environ})
        if done.returncode != 0:
            rows.append({"method": method, "rows": n, "error": done.stderr.strip().splitlines()[-1:]})
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    own = [r for r in rows if r["method"] == "ThemeModel" and "seconds" in r]
    growth = {}
    if len(own) >= 2:
        log_n = np.log([r["rows"] for r in own])
        growth["seconds"] = float(np.polyfit(log_n, np.log([r["seconds"] for r in own]), 1)[0])
        growth["peak_rss_mb"] = float(np.polyfit(log_n, np.log([r["peak_rss_mb"] for r in own]), 1)[0])
    return rows, growth


# ------------------------------------------------------------------ output


def format_table(rows: Sequence[dict[str, object]], columns: Sequence[str], markdown: bool) -> str:
    """Rows as an aligned text table, or a markdown table."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "nan" if math.isnan(value) else f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    cells = [[cell(r.get(c, "")) for c in columns] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(line) + " |" for line in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)


def summary_rows(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Per method: the worst and the mean NMI and ARI over the seeds."""
    out = []
    for name in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == name]
        out.append({
            "method": name,
            "min NMI": min(r["NMI"] for r in mine), "mean NMI": float(np.mean([r["NMI"] for r in mine])),
            "min ARI": min(r["ARI"] for r in mine), "mean ARI": float(np.mean([r["ARI"] for r in mine])),
            "min coverage": min(r["coverage"] for r in mine),
        })
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=VALIDATION_CSV, help="disaster-response validation.csv")
    parser.add_argument("--view", choices=("single", "multilabel"), default="single")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--scale", action="store_true", help="time and memory at 2k, 10k, 50k rows")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument("--scale-worker", nargs=2, metavar=("METHOD", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if not args.data.exists():
        print(f"SKIPPED: data file {args.data} not found (the shared disaster-response data set is not here).")
        return 0
    if args.scale_worker:
        scale_worker(args.data, args.scale_worker[0], int(args.scale_worker[1]))
        return 0
    if args.scale:
        rows, growth = run_scale(args.data)
        columns = ["method", "rows", "seconds", "peak_rss_mb", "rss_before_fit_mb", "themes", "coverage", "error"]
        print(f"Scale: fit on resampled embeddings (noise sigma {SCALE_NOISE}), texts resampled, fresh process each")
        print(format_table(rows, columns, args.markdown))
        for what, slope in growth.items():
            print(f"ThemeModel growth exponent ({what} ~ rows^k): k = {slope:.2f}")
        return 0

    data = load_labelled_set(args.data, view=args.view)
    print(f"Quality on the {args.view} view: {len(data.texts)} messages, {len(set(data.labels.tolist()))} categories; "
          "-1 (unthemed) counts as its own cluster in NMI/ARI/homogeneity/completeness")
    rows = run_quality(data, args.methods)
    columns = ["method", "seed", "NMI", "ARI", "homogeneity", "completeness", "coverage", "themes", "seconds"]
    print(format_table(rows, columns, args.markdown))
    print()
    print(format_table(summary_rows(rows), ["method", "min NMI", "mean NMI", "min ARI", "mean ARI", "min coverage"],
                       args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
