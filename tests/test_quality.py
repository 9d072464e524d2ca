"""Quality floors on the labelled disaster-response messages in ../shared/data (skipped when absent).

Run through the real `lnob evaluate` commands, which import into a temporary
store: the floors are the issue's (themes: NMI >= 0.55, ARI >= 0.40,
coverage >= 0.90; search: mean P@10 >= 0.65 with hybrid at least as good as
lexical-only and semantic-only).
"""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.disaster_response import load_labelled_set

pytestmark = pytest.mark.slow  # `lnob evaluate` in a subprocess on thousands of messages

QUERIES = Path(__file__).parent / "data" / "disaster_queries.csv"
LNOB = [sys.executable, "-m", "cli.main"]


def lnob_json(*args: str) -> dict:
    """Run an lnob command and parse the JSON object on its last line of output."""
    done = subprocess.run([*LNOB, *args, "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def single_label_file(shared_data, tmp_path) -> Path:
    """The single-label subset of the validation split with its one category as `label`."""
    data = load_labelled_set(shared_data, view="single")
    subset = list(zip(data.texts, data.labels.tolist()))
    path = tmp_path / "single_label.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["message", "label"])
        writer.writerows(subset)
    assert 400 <= len(subset) <= 550
    return path


def test_evaluate_clusters_meets_the_floor(single_label_file):
    result = lnob_json("evaluate", "clusters", str(single_label_file), "--text-col", "message", "--label-col", "label", "--seed", "0")
    for key in ("nmi", "ari", "homogeneity", "completeness", "coverage", "themes"):
        assert key in result
    assert result["nmi"] >= 0.55, result
    assert result["ari"] >= 0.40, result
    assert result["coverage"] >= 0.90, result


def test_evaluate_retrieval_meets_the_floor_and_hybrid_wins(shared_data):
    labels = sorted({row["label"] for row in csv.DictReader(open(QUERIES, encoding="utf-8"))})
    result = lnob_json(
        "evaluate", "retrieval", str(shared_data), "--text-col", "message",
        "--label-cols", ",".join(labels), "--queries", str(QUERIES), "--k", "10",
    )
    assert result["k"] == 10 and len(result["per_query"]) >= 10
    modes = result["modes"]
    assert result["precision_at_k"] == modes["hybrid"]["precision_at_k"] >= 0.65, modes
    assert modes["hybrid"]["precision_at_k"] >= modes["lexical"]["precision_at_k"], modes
    assert modes["hybrid"]["precision_at_k"] >= modes["semantic"]["precision_at_k"], modes
    assert 0 < result["ndcg_at_k"] <= 1


MIXED_TOOL = Path(__file__).resolve().parents[2] / "shared" / "tools" / "mixed-language-set"


@pytest.fixture
def mixed_sets(shared_data, tmp_path) -> Path:
    """The mixed Creole/English sets built by ../shared/tools/mixed-language-set (mixed_clusters.csv, originals.csv)."""
    if not MIXED_TOOL.exists():
        pytest.skip(f"{MIXED_TOOL} not found")
    subprocess.run([sys.executable, str(MIXED_TOOL), str(shared_data), str(tmp_path)], check=True, capture_output=True)
    return tmp_path


def test_mixed_language_themes_follow_meaning_not_language(mixed_sets):
    """Issue 9's floor: NMI >= 0.42 against labels and <= 0.15 against language on every seed.

    Measured (BENCHMARKS.md): seeds 0/1/2 give 0.492/0.498/0.447 against labels and 0.073/0.083/0.073
    against language. One seed runs here (the benchmark runs all three).
    """
    result = lnob_json(
        "evaluate", "clusters", str(mixed_sets / "mixed_clusters.csv"), "--text-col", "text", "--label-col", "label",
        "--language-col", "language", "--seed", "0",
    )
    assert result["language"]["nmi"] <= 0.15, result["language"]
    assert result["nmi"] >= 0.42, result
    assert result["coverage"] >= 0.90, result
