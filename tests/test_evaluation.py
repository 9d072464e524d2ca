"""Evaluation across languages: how strongly themes follow language, assignments CSV, retrieval per language.

The end-to-end tests run the real ``lnob evaluate`` commands in-process on a
subset of the multilingual demo corpus (English, French, Spanish, Swahili),
whose driver column serves as the label.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.evaluation import UNTHEMED, language_metrics, retrieval_by_language, write_assignments

DEMO_CSV = Path(__file__).resolve().parents[1] / "corpus" / "samples" / "demo_corpus.csv"
DRIVERS = ("discrimination", "geography", "governance", "socio_economic", "shocks")


# -- the measures -----------------------------------------------------------------------


def test_themes_that_are_languages_have_language_nmi_1_and_are_flagged():
    languages = {f"e{i}": "en" for i in range(20)} | {f"s{i}": "sw" for i in range(20)}
    theme_of = {tid: 1 if tid.startswith("e") else 2 for tid in languages}
    labels = {tid: "water" if int(tid[1:]) % 2 else "school" for tid in languages}
    result = language_metrics(languages, theme_of, labels)
    assert result["nmi"] == 1.0 and result["homogeneity"] == 1.0
    assert result["languages"] == {"en": 20, "sw": 20}
    assert [(f["theme"], f["language"]) for f in result["single_language_themes"]] == [(1, "en"), (2, "sw")]
    assert result["single_language_themes"][0]["reason"].startswith("100% of its 20 texts are English (en), against 50%")
    assert result["by_language"]["sw"]["texts"] == 20 and result["by_language"]["sw"]["coverage"] == 1.0


def test_themes_that_ignore_language_have_language_nmi_0():
    languages = {f"t{i}": ("en", "sw")[i % 2] for i in range(40)}
    theme_of = {f"t{i}": (i // 2) % 2 for i in range(40)}  # each theme holds both languages equally
    labels = {f"t{i}": str((i // 2) % 2) for i in range(40)}
    result = language_metrics(languages, theme_of, labels)
    assert result["nmi"] == 0.0 and result["single_language_themes"] == []
    assert result["by_language"]["en"]["nmi"] == 1.0  # within each language the themes match the labels


def test_rows_without_a_language_and_unthemed_rows():
    languages = {"a": "en", "b": "", "c": "fr", "d": "fr"}
    theme_of = {"a": 1, "b": 1, "c": UNTHEMED, "d": 2}
    result = language_metrics(languages, theme_of, {})
    assert result["texts"] == 3 and result["languages"] == {"fr": 2, "en": 1}
    assert result["by_language"]["fr"]["coverage"] == 0.5 and result["by_language"]["fr"]["labelled"] == 0


def test_assignments_csv_has_row_id_theme_label_language_and_no_text(tmp_path: Path):
    values = {2: {"id": "m-1", "text": "our well is dry", "label": "water", "lang": "en"},
              3: {"id": "m-2", "text": "hakuna shule", "label": "school", "lang": "sw"},
              5: {"id": "m-3", "text": "la route est coupée", "label": "roads", "lang": "fr"}}
    rows = {"t-b": 3, "t-a": 2, "t-c": 5}
    path = tmp_path / "assignments.csv"
    written = write_assignments(path, rows, values, {"t-a": 4, "t-b": UNTHEMED, "t-c": 4},
                                id_col="id", label_col="label", language_col="lang")
    assert written == 3
    content = path.read_text(encoding="utf-8")
    assert content.splitlines() == ["row,id,theme,label,language", "2,m-1,4,water,en", "3,m-2,,school,sw",
                                     "5,m-3,4,roads,fr"]
    assert not any(v["text"] in content for v in values.values())
    write_assignments(path, rows, values, {"t-a": 4, "t-b": 4, "t-c": 4})
    assert path.read_text(encoding="utf-8").splitlines()[:2] == ["row,theme", "2,4"]


def test_retrieval_by_language_of_the_relevant_texts():
    language_of = {"e1": "en", "e2": "en", "s1": "sw", "s2": "sw", "x": "en"}
    found = [({"e1", "e2", "s1", "s2"}, ["e1", "e2", "x", "s1"])]  # the Swahili texts come late
    result = retrieval_by_language(found, language_of, k=4)
    assert result["en"] == {"queries": 1, "precision_at_k": 0.5, "ndcg_at_k": 1.0, "relevant": 2.0}
    assert result["sw"]["precision_at_k"] == 0.25 and result["sw"]["ndcg_at_k"] < 0.5
    assert result["en"]["precision_at_k"] + result["sw"]["precision_at_k"] == 0.75  # the query's P@4


# -- the commands -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_subset(tmp_path_factory) -> Path:
    """Every other row of the demo corpus with 0/1 columns per driver (for retrieval)."""
    with DEMO_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[::2]
    path = tmp_path_factory.mktemp("evaluation") / "demo_subset.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "language", "driver", *DRIVERS])
        for row in rows:
            writer.writerow([row["id"], row["text"], row["language"], row["driver"],
                             *("1" if row["driver"] == d else "0" for d in DRIVERS)])
    return path


def lnob(*args: str, data_dir: Path) -> str:
    from cli.main import cli

    env = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_PSEUDONYM_KEY": "test-key-0123456789abcdef0123456789"}
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.slow  # imports, embeds and analyses half the demo corpus
def test_evaluate_clusters_with_languages_and_assignments(demo_subset: Path, tmp_path: Path):
    assignments = tmp_path / "themes.csv"
    output = lnob("evaluate", "clusters", str(demo_subset), "--text-col", "text", "--label-col", "driver",
                  "--language-col", "language", "--id-col", "id", "--assignments", str(assignments), "--json",
                  data_dir=tmp_path / "data")
    result = json.loads(output)
    for key in ("nmi", "ari", "homogeneity", "completeness", "coverage", "themes"):
        assert key in result
    language = result["language"]
    assert language["column"] == "language" and set(language["languages"]) == {"en", "es", "fr", "sw"}
    assert language["texts"] == result["texts"] == sum(language["languages"].values())
    assert 0 <= language["nmi"] <= 1 and set(language["by_language"]) == {"en", "es", "fr", "sw"}
    assert result["assignments_csv"] == {"path": str(assignments), "rows": result["texts"]}

    with demo_subset.open(encoding="utf-8") as handle:
        source = {str(number): row for number, row in enumerate(csv.DictReader(handle), start=2)}
    with assignments.open(encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert list(written[0]) == ["row", "id", "theme", "label", "language"]
    assert len(written) == len(source)
    for row in written:
        original = source[row["row"]]
        assert (row["id"], row["label"], row["language"]) == (original["id"], original["driver"], original["language"])
        assert row["theme"] == "" or int(row["theme"]) > 0
    assert not any(row["text"][:40] in assignments.read_text(encoding="utf-8") for row in source.values())
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.sqlite3"))  # a temporary store

    text = lnob("evaluate", "clusters", str(demo_subset), "--text-col", "text", "--label-col", "driver",
                "--language-col", "language", data_dir=tmp_path / "data")
    assert "language nmi" in text and "one language" in text


@pytest.mark.slow  # imports and embeds half the demo corpus
def test_evaluate_retrieval_with_queries_in_other_languages(demo_subset: Path, tmp_path: Path):
    queries = tmp_path / "queries.csv"
    queries.write_text(
        "query,label\n"
        "the clinic is too far away and the road is cut,geography\n"
        "el funcionario pidió un soborno para el certificado,governance\n"
        "hakuna kazi na mshahara ni mdogo,socio_economic\n",
        encoding="utf-8",
    )
    output = lnob("evaluate", "retrieval", str(demo_subset), "--text-col", "text", "--label-cols", ",".join(DRIVERS),
                  "--queries", str(queries), "--k", "10", "--language-col", "language", "--json",
                  data_dir=tmp_path / "data")
    result = json.loads(output)
    assert result["queries"] == 3 and result["language_column"] == "language"
    by_language = result["by_language"]
    assert set(by_language) == {"en", "es", "fr", "sw"}
    for scores in by_language.values():
        assert scores["queries"] == 3 and 0 <= scores["precision_at_k"] <= 1 and 0 <= scores["ndcg_at_k"] <= 1
    assert sum(s["precision_at_k"] for s in by_language.values()) == pytest.approx(result["precision_at_k"], abs=0.01)
