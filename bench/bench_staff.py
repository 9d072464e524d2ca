"""Staff in chat at 100,000 contributions: ``/search`` with and without filters, ``/theme``, a country report.

The corpus is built once under ``--dir`` (and reused by later runs):

- 100,000 contributions whose texts are real ones resampled (the demo corpus
  and the labelled disaster-response messages in ``../shared/data``), each made
  unique by a short suffix, stored through ``CorpusStore.add_testimonies``
  with a contributor profile (age band, gender, groups) and the metadata of a
  demo row (organisation, region, language); 10,000 of them in Nepal, a third
  under ``aggregate`` consent, dates over ten months;
- each vector is the real embedding of its source text plus noise, written
  straight into the store's embedding cache (keyed by the hash of the
  redacted text, as ``Embedder.encode`` looks it up) and into the Chroma index;
- themes: k-means on the vectors, keywords by class-based TF-IDF, drivers by
  the codebook scorer, saved as one analysis run (the real ``Analysis`` at
  this size is ``bench/bench_themes.py``'s subject, not this one's).

Measured, excluding the Telegram round trip, with the same functions the
handlers call (``bot.staff.search.parse_search`` + ``find_quotes`` on the
application's one ``Searcher``, with the real query embedding;
``bot.staff.explore.theme_card`` + ``render_theme``): p50 and p95 over many
calls. Targets: p95 at most 300 ms; a country report for 10,000
contributions (``analysis.reports.generate_report``) at most 30 s.

    .venv/bin/python bench/bench_staff.py [--dir /tmp/lnob-bench-staff] [--queries 100] [--record]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import string
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.disaster_response import VALIDATION_CSV as MESSAGES_CSV  # noqa: E402

DEMO_CSV = ROOT / "corpus" / "samples" / "demo_corpus.csv"
BENCHMARKS = ROOT / "BENCHMARKS.md"
HEADING = "## Staff in chat"
N = 100_000
IN_NEPAL = 10_000
OTHER_COUNTRIES = ("KE", "BD", "GT", "SN", "VN", "UG")
THEMES = 40
NOISE = 0.5
TARGET_MS = 300.0
TARGET_REPORT_S = 30.0
FILTERS = {
    "no filter": "",
    "country:NP": "country:NP",
    "country:KE kind:proposal": "country:KE kind:proposal",
    "driver:geography org:plan since:2026-03": "driver:geography org:plan since:2026-03",
    "group:disability lang:en until:2026-06": "group:disability lang:en until:2026-06",
    "theme:T": "theme:{theme}",
}


def source_rows() -> list[dict]:
    """The real texts resampled: every demo row, and the disaster messages with a demo row's metadata."""
    with DEMO_CSV.open(encoding="utf-8") as handle:
        demo = list(csv.DictReader(handle))
    rows = [dict(r) for r in demo]
    if MESSAGES_CSV.exists():
        with MESSAGES_CSV.open(encoding="utf-8") as handle:
            for i, message in enumerate(csv.DictReader(handle)):
                text = (message.get("message") or "").strip()
                if 20 <= len(text) <= 1000 and _acceptable(text):
                    rows.append({**demo[i % len(demo)], "text": text, "language": "en"})
    return rows


def _acceptable(text: str) -> bool:
    """Whether the store takes the text as it is (some messages hold control characters)."""
    from corpus.errors import InvalidText
    from corpus.validation import clean_text

    try:
        clean_text(text, 1000)
    except InvalidText:
        return False
    return True


def letters(i: int) -> str:
    """``i`` written in letters (``a``, ``b``, ..., ``ba``...): a suffix that makes every text unique."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = string.ascii_lowercase[r] + out
        if not i:
            return out


def build(settings, rng: np.random.Generator) -> None:
    """Store, embed, index and theme the 100,000 contributions (skipped when already built)."""
    from analysis.embeddings import Embedder
    from analysis.evidence import EvidenceBase
    from analysis.ingest import DEMO_ORGANISATIONS
    from corpus.db import make_engine, upgrade
    from corpus.models import IndexStatus
    from corpus.redaction import Redactor
    from corpus.store import CorpusStore, TestimonyDraft

    marker = settings.resolved_data_dir / "bench-staff-built.txt"
    if marker.exists() and marker.read_text().strip() == str(N):
        print(f"reusing the corpus in {settings.resolved_data_dir}")
        return
    upgrade(make_engine(settings.resolved_database_url))
    store = CorpusStore(settings, redactor=Redactor(use_ner=False))
    if store.count_testimonies():
        raise SystemExit(f"{settings.resolved_data_dir} holds an unfinished corpus: remove it and run again")
    for code, name in DEMO_ORGANISATIONS.items():
        store.add_organisation(code, name)
    sources = source_rows()
    started = time.perf_counter()
    source_vectors = Embedder().encode([r["text"] for r in sources])
    print(f"embedded {len(sources)} real texts in {time.perf_counter() - started:.0f} s")

    picks = rng.integers(0, len(sources), size=N)
    countries = np.array(["NP"] * IN_NEPAL + [OTHER_COUNTRIES[i % len(OTHER_COUNTRIES)] for i in range(N - IN_NEPAL)])
    rng.shuffle(countries)
    start_day = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)
    started = time.perf_counter()
    ids: list[str] = []
    for first in range(0, N, 5000):
        drafts = []
        for i in range(first, min(first + 5000, N)):
            row = sources[picks[i]]
            person = i // 2 if i % 5 == 0 else i  # some people gave two contributions
            drafts.append(TestimonyDraft(
                text=f"{row['text']} [{letters(i)}]", kind=row["kind"] or "testimony", language=row["language"],
                country=str(countries[i]), region=row["region"] or None, organisation=row["organisation"],
                consent_level="aggregate" if i % 3 == 1 else "quote", source="bench-staff", source_ref=str(i),
                created_at=start_day + timedelta(days=int(i % 300), minutes=int(i % 997)),
                contributor_ref=f"bench-{person}",
                profile={"age_band": row["age_band"] or None, "gender": row["gender"] or None,
                         "groups": [g for g in (row["groups"] or "").split(";") if g], "country": str(countries[i])},
            ))
        ids += [t.id for t in store.add_testimonies(drafts)]
    print(f"stored {len(ids)} contributions in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    records = store.records(ids)
    position = {tid: i for i, tid in enumerate(ids)}
    records.sort(key=lambda r: position[r.id])
    noise = rng.normal(scale=NOISE / np.sqrt(source_vectors.shape[1]), size=(N, source_vectors.shape[1]))
    vectors = (source_vectors[picks] + noise).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    evidence = EvidenceBase(settings, store=store)
    for first in range(0, N, 10_000):
        chunk = slice(first, first + 10_000)
        store.save_embeddings({r.text_hash: v for r, v in zip(records[chunk], vectors[chunk])}, settings.embedding_model)
        evidence.index.upsert(records[chunk], vectors[chunk])
    store.mark_index_status(ids, IndexStatus.indexed)
    store.optimize()
    print(f"cached and indexed {N} vectors in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    save_themes(evidence, records, vectors, picks, sources, source_vectors)
    print(f"themed the corpus in {time.perf_counter() - started:.0f} s")
    marker.write_text(str(N))


def save_themes(evidence, records, vectors, picks, sources, source_vectors) -> None:
    """K-means themes with c-TF-IDF keywords and codebook drivers, saved as one analysis run."""
    from sklearn.cluster import MiniBatchKMeans

    from analysis.keywords import KeywordExtractor
    from analysis.text import TextProcessor
    from corpus.themes import AssignmentRow, ThemeSnapshot, ThemeStore

    kmeans = MiniBatchKMeans(n_clusters=THEMES, random_state=0, n_init=3, batch_size=4096).fit(vectors)
    labels = kmeans.labels_
    centroids = kmeans.cluster_centers_ / np.linalg.norm(kmeans.cluster_centers_, axis=1, keepdims=True)
    source_tokens = TextProcessor().tokens_many([r["text"] for r in sources], [r["language"] for r in sources])
    keywords = KeywordExtractor().fit([source_tokens[p] for p in picks], labels)
    scorer = evidence.driver_scorer
    source_scores = scorer.score(source_vectors)
    source_drivers = scorer.assign(source_scores)
    store = ThemeStore(evidence.store.engine)
    run = store.start_run(evidence.settings.embedding_model, 0, {"bench": "k-means"})
    snapshots = []
    for k in range(THEMES):
        members = labels == k
        drivers = scorer.score_theme(source_scores[picks[members]])
        snapshots.append(ThemeSnapshot(
            id=None, label=keywords.labels_text_.get(k) or f"theme {k + 1}",
            keywords=[[t, round(float(s), 4)] for t, s in keywords.keywords_.get(k, [])],
            primary_driver=drivers.primary, intersecting_drivers=list(drivers.intersecting),
            driver_scores={d: round(float(s), 4) for d, s in drivers.scores.items()}, subdriver=drivers.subdriver,
            centroid=centroids[k], size=int(members.sum()),
        ))
    similarity = np.einsum("ij,ij->i", vectors, centroids[labels])
    rows = [
        AssignmentRow(testimony_id=r.id, theme_index=int(labels[i]), similarity=float(similarity[i]),
                      primary_driver=source_drivers[picks[i]].primary,
                      intersecting_drivers=list(source_drivers[picks[i]].intersecting), driver_scores={})
        for i, r in enumerate(records)
    ]
    store.save_run(run.id, snapshots, rows, {}, {})


def timed(function, calls: int) -> np.ndarray:
    """Milliseconds per call of ``function(i)`` for ``i`` in ``range(calls)``, after two warm-up calls."""
    function(0)
    function(1)
    times = []
    for i in range(calls):
        started = time.perf_counter()
        function(i)
        times.append((time.perf_counter() - started) * 1000)
    return np.array(times)


def show(label: str, times: np.ndarray) -> None:
    p50, p95 = np.percentile(times, [50, 95])
    print(f"{label:55} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   {'ok' if p95 <= TARGET_MS else 'over'}", flush=True)


def fake_context(evidence):
    """What ``render_theme`` reads from a handler's context (no Telegram involved)."""
    from bot.config import BotSettings
    from bot.services import Services

    services = Services(settings=evidence.settings, bot_settings=BotSettings(_env_file=None), evidence=evidence)
    context = SimpleNamespace(services=services, application=SimpleNamespace(bot_data={"services": services}), user_data={})
    return SimpleNamespace(effective_user=SimpleNamespace(language_code="en")), context


def record_results(lines: list[str]) -> None:
    """Replace (or append) the "Staff in chat" section of BENCHMARKS.md, leaving the others alone."""
    section = "\n".join([HEADING, "", *lines]).rstrip() + "\n"
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    BENCHMARKS.write_text(text, encoding="utf-8")
    print(f"recorded in {BENCHMARKS}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/lnob-bench-staff"))
    parser.add_argument("--queries", type=int, default=100, help="timed calls per measurement")
    parser.add_argument("--record", action="store_true", help=f"write the figures into {BENCHMARKS.name}")
    parser.add_argument("--report-format", default="docx", choices=("docx", "md", "html"))
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="intra-op threads for the query embedding (0: torch's default; see BENCHMARKS.md)")
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)

    from analysis.evidence import EvidenceBase
    from analysis.explore import list_themes
    from analysis.reports import generate_report
    from bot.staff.base import build_searcher
    from bot.staff.explore import render_theme, theme_card
    from bot.staff.search import find_quotes, organisation_codes, parse_search
    from corpus.settings import Settings
    from corpus.store import TestimonyFilter

    rng = np.random.default_rng(20260501)
    settings = Settings(data_dir=args.dir, chroma_collection="staff100k", pseudonym_key="bench-key-0123456789abcdef0123456789", _env_file=None)
    build(settings, rng)
    evidence = EvidenceBase(settings)
    total = evidence.store.count_testimonies()
    started = time.perf_counter()
    searcher, _ = build_searcher(evidence)  # as the bot builds it
    refresh_s = time.perf_counter() - started
    print(f"{total} contributions; search catalogue and BM25 index built in {refresh_s:.1f} s (once per start, "
          "then in the background when the corpus changes)")

    drivers = evidence.driver_scorer.codebook.keys
    organisations = organisation_codes(evidence)
    themes = list_themes(evidence)
    queries = [r["text"][:80].replace(":", " ") for r in source_rows()[::37]][: max(args.queries, 10)]
    figures: dict[str, np.ndarray] = {}
    for label, filters in FILTERS.items():
        def one(i: int, filters=filters) -> None:
            text = f"{queries[i % len(queries)]} {filters.format(theme=themes[i % len(themes)]['id'])}"
            find_quotes(searcher, evidence, parse_search(text, drivers, organisations))
        figures[f"/search, {label}"] = timed(one, args.queries)
        show(f"/search, {label}", figures[f"/search, {label}"])

    update, context = fake_context(evidence)
    figures["/theme (theme_card + render_theme)"] = timed(
        lambda i: render_theme(update, context, theme_card(evidence, themes[i % len(themes)]["id"],
                                                           catalogue=searcher.catalogue)), args.queries)
    show("/theme (theme_card + render_theme)", figures["/theme (theme_card + render_theme)"])

    started = time.perf_counter()
    result = generate_report(evidence, "NP", args.report_format, created_by="bench")
    report_s = time.perf_counter() - started
    nepal = evidence.store.count_testimonies(where=TestimonyFilter(country="NP"))

    lines = [
        f"`bench/bench_staff.py`: {total:,} contributions (real texts resampled with a unique suffix, real embeddings "
        f"plus noise in the embedding cache and the Chroma index, {len(themes)} themes), {platform.machine()} with "
        f"{os.cpu_count()} CPU cores. The handler logic without the Telegram round trip: the same functions the "
        "handlers call, with the real query embedding. Target: p95 at most 300 ms; a country report at most 30 s.",
        "",
        "| Measured | p50 | p95 | Target |",
        "|---|---|---|---|",
    ]
    for label, times in figures.items():
        p50, p95 = np.percentile(times, [50, 95])
        verdict = "ok" if p95 <= TARGET_MS else "over"
        lines.append(f"| `{label}` | {p50:.0f} ms | {p95:.0f} ms | {verdict} |")
    verdict = "ok" if report_s <= TARGET_REPORT_S else "over"
    print(f"country report NP ({nepal} contributions, {args.report_format}): {report_s:.1f} s, {result.quotes} quotes, "
          f"{len(result.sections)} sections   {verdict}")
    lines.append(f"| country report NP, {nepal:,} contributions ({args.report_format}, {result.quotes} quotes) | "
                 f"{report_s:.1f} s | | {verdict} |")
    lines += [
        "",
        f"Building the search catalogue and BM25 index over {total:,} contributions took {refresh_s:.0f} s; the bot "
        "does it at the first staff update of a run and then in the background, swapping the new one in whole, and "
        "moves the catalogue out of the garbage collector's sight (`gc.freeze`): without that, full collections "
        "over its 100,000 records put the p95 of `/theme` at about 700 ms.",
        "",
        "How: the bot's searcher is warmed after each rebuild (`Searcher.warm()`): every cached vector is held in "
        "one matrix and each search is scored exactly on the rows its filters let through, instead of "
        "over-fetching from Chroma.",
        "",
        "The query embedding is measured with one torch intra-op thread (`--torch-threads`, default 1): on this "
        "shared 2-core machine two threads made a single query embedding take 200 to 500 ms instead of 14 ms.",
    ]
    if args.record:
        record_results(lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
