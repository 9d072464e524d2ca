"""``lnob search`` as people read it (a header, a relevance from 0 to 100 in bands), ``export search``'s relevance
cut-off, and what ``quotes``, ``search`` and ``export`` say when contributions match but none may be quoted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.counting import count_of, person_of
from tests.support.corpora import TEST_KEY, aggregate_every


AGGREGATE_ONLY = "none may be quoted: their authors allowed aggregate use only"


def lnob(data_dir: Path, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``lnob --data-dir DATA_DIR ARGS``, in-process."""
    from cli.main import cli

    env = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_PSEUDONYM_KEY": TEST_KEY, "LNOB_PROGRESS": None}
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def as_json(data_dir: Path, *args: str) -> dict:
    code, out, err = lnob(data_dir, *args, "--json")
    assert code == 0, out + err
    return json.loads(out)


# -- relevance ---------------------------------------------------------------------------


def test_relevance_is_the_fused_score_as_a_share_of_the_best_possible():
    from analysis.search import RRF_K
    from analysis.search import relevance
    from cli.search import band

    first_in_both = 2 / (RRF_K + 1)
    assert relevance(first_in_both, "hybrid") == 100
    assert relevance(1 / (RRF_K + 1), "hybrid") == 50  # first by meaning, not found by words
    assert relevance(1 / (RRF_K + 5), "hybrid") < 50
    assert relevance(2 / (RRF_K + 20), "hybrid") >= 75  # 20th by both: still near the top
    assert relevance(1 / (RRF_K + 1), "semantic") == relevance(1 / (RRF_K + 1), "lexical") == 100
    assert relevance(first_in_both + 1e-5, "hybrid") == 100  # rounding never gives more than 100
    assert [band(v) for v in (100, 75, 74, 50, 49, 0)] == ["high", "high", "medium", "medium", "low", "low"]


@pytest.mark.slow
def test_search_prints_a_header_and_a_readable_relevance(demo_corpus):
    data_dir = demo_corpus.data_dir
    code, out, _ = lnob(data_dir, "search", "the clinic is too far away", "--country", "KE", "--limit", "5")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == '"the clinic is too far away": 5 results, hybrid search (words and meaning), country KE'
    assert len(lines) == 6
    for line in lines[1:]:
        assert re.match(r"^ *\d{1,3} (high|medium|low) +[0-9a-f]{8}  KE  (testimony|proposal) +\S", line), line
    assert not re.search(r"0\.0\d", out)  # no raw fused scores

    payload = as_json(data_dir, "search", "the clinic is too far away", "--limit", "60")
    assert (payload["query"], payload["mode"], payload["count"], payload["aggregate_only"]) == (
        "the clinic is too far away", "hybrid", 60, None)
    results = payload["results"]
    assert [r["relevance"] for r in results] == sorted((r["relevance"] for r in results), reverse=True)
    assert results[0]["band"] == "high" and {r["band"] for r in results} == {"high", "medium", "low"}
    for r in results:
        assert r["relevance"] == min(100, round(100 * r["score"] / (2 / 61)))
        found_by_both = r["semantic_rank"] is not None and r["lexical_rank"] is not None
        assert (r["relevance"] >= 50) == (found_by_both or 1 in (r["semantic_rank"], r["lexical_rank"]))

    semantic = as_json(data_dir, "search", "the clinic is too far away", "--mode", "semantic", "--limit", "3")
    assert semantic["results"][0]["relevance"] == 100  # first by the only list that mode has
    code, out, _ = lnob(data_dir, "search", "the clinic is too far away", "--mode", "lexical", "--limit", "2")
    assert out.splitlines()[0] == '"the clinic is too far away": 2 results, lexical search (words)'

    code, help_text, _ = lnob(data_dir, "search", "--help")
    assert "Relevance (0-100)" in help_text and "high    75-100" in help_text and "low      0-49" in help_text


@pytest.mark.slow
def test_export_search_keeps_the_results_above_a_relevance_cut_off(demo_corpus):
    from analysis.reports import registry_of

    data_dir = demo_corpus.data_dir
    query = "bribe for a birth certificate"
    results = as_json(data_dir, "search", query, "--limit", "100")["results"]
    relevant = [r["id"] for r in results if r["relevance"] >= 50]
    assert 0 < len(relevant) < len(results)

    export = as_json(data_dir, "export", "search", query)
    assert (export["found"], export["matched"], export["min_relevance"]) == (len(results), len(relevant), 50)
    assert export["quotes"] == len(relevant)
    written = registry_of(demo_corpus.evidence()).get(export["export_id"])
    assert sorted(written.testimony_ids) == sorted(relevant)
    assert written.params["min_relevance"] == 50

    code, out, _ = lnob(data_dir, "export", "search", query, "--min-relevance", "75", "--format", "md")
    assert code == 0, out
    high = len([r for r in results if r["relevance"] >= 75])
    summary, path = out.strip().splitlines()
    assert summary == f"{high} of {len(results)} results found have relevance 75 or more (--min-relevance)"
    assert path.endswith(".md") and Path(path).exists()
    assert as_json(data_dir, "export", "search", query, "--min-relevance", "0", "--limit", "30")["quotes"] == 30

    code, out, err = lnob(data_dir, "export", "search", query, "--min-relevance", "101")
    assert code == 2 and "101 is not in the range 0<=x<=100" in err


# -- matches that may not be quoted ------------------------------------------------------


@pytest.fixture(scope="module")
def aggregate_dir(demo_corpus, tmp_path_factory) -> Path:
    """A copy of the demo corpus in which every contributor allowed aggregate use only."""
    target = tmp_path_factory.mktemp("aggregate") / "data"
    aggregate_every(demo_corpus.copy(target), 1)
    return target


@pytest.mark.slow
def test_quotes_say_how_many_match_when_none_may_be_quoted(aggregate_dir):
    themes = as_json(aggregate_dir, "themes")["themes"]
    theme = next(t for t in themes if t["size"].isdigit())
    code, out, _ = lnob(aggregate_dir, "quotes", str(theme["id"]))
    assert code == 0 and out.strip() == f"{theme['size']} contributions match, {AGGREGATE_ONLY}"
    payload = as_json(aggregate_dir, "quotes", str(theme["id"]))
    assert payload["quotes"] == [] and payload["aggregate_only"] == theme["size"]

    # from one country: the count as `lnob theme` shows that country's cell ("<5" for one to four people)
    for other in themes:
        by_country = as_json(aggregate_dir, "theme", str(other["id"]))["summary"]["by_country"]
        small = [code for code, label in by_country.items() if label == "<5"]
        if small:
            code, out, _ = lnob(aggregate_dir, "quotes", str(other["id"]), "--country", small[0])
            assert out.strip() == f"<5 contributions match, {AGGREGATE_ONLY}"
            break
    else:
        pytest.fail("no theme has a country of one to four people")
    code, out, _ = lnob(aggregate_dir, "theme", str(theme["id"]))
    assert AGGREGATE_ONLY in out

    code, out, _ = lnob(aggregate_dir, "export", "theme", str(theme["id"]))
    assert code == 0 and out.strip() == f"{theme['size']} contributions match, {AGGREGATE_ONLY}: nothing written"


@pytest.mark.slow
def test_search_and_export_say_how_many_match_when_none_may_be_quoted(aggregate_dir):
    from analysis.evidence import EvidenceBase
    from corpus.settings import Settings

    evidence = EvidenceBase(Settings(data_dir=aggregate_dir, pseudonym_key=TEST_KEY, _env_file=None))
    records = evidence.store.records()
    everyone = "≥5"  # search filters could land on a cell another view hides: only "<5" or "≥5", never a number
    code, out, _ = lnob(aggregate_dir, "search", "the clinic is too far away")
    assert code == 0
    assert out.splitlines() == ['"the clinic is too far away": 0 results, hybrid search (words and meaning)',
                                f"{everyone} contributions match, {AGGREGATE_ONLY}"]
    payload = as_json(aggregate_dir, "search", "the clinic is too far away", "--country", "KE")
    kenya = count_of(r for r in records if r.country == "KE")
    assert kenya.contributors >= 5 and payload["results"] == [] and payload["aggregate_only"] == "≥5"

    # filters that leave one to four people: "<5", never their number
    assignments = evidence.themes.assignments()
    groups: dict[tuple, list] = {}
    for record in records:
        assignment = assignments.get(record.id)
        if assignment is not None and assignment.theme_id is not None:
            groups.setdefault((assignment.theme_id, record.country, record.kind), []).append(record)
    (theme_id, country, kind), few = next((key, group) for key, group in sorted(groups.items(), key=str)
                                          if 1 <= len({person_of(r) for r in group}) < 5)
    code, out, _ = lnob(aggregate_dir, "search", "water", "--theme", str(theme_id), "--country", country,
                        "--kind", kind)
    assert out.splitlines()[1] == f"<5 contributions match, {AGGREGATE_ONLY}"
    assert not re.search(rf"\b{len(few)} contributions", out)

    exported = as_json(aggregate_dir, "export", "search", "the clinic is too far away")
    assert (exported["path"], exported["quotes"], exported["aggregate_only"]) == (None, 0, everyone)
    code, out, _ = lnob(aggregate_dir, "export", "search", "the clinic is too far away", "--format", "md")
    assert out.strip() == f"{everyone} contributions match, {AGGREGATE_ONLY}: nothing written"
    assert as_json(aggregate_dir, "exports", "list")["exports"] == []
