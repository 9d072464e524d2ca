"""``--csv`` beside ``--json``: each read command's CSV, parsed back with the csv module, holds the same items and
values as its JSON (lists joined with "; ", breakdowns as "key: label"), every count as the JSON shows it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from analysis.counting import WITHHELD_KEY, WITHHELD_TEXT, person_of
from tests.support.corpora import TEST_KEY

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def data_dir(demo_corpus, tmp_path_factory) -> Path:
    """A copy of the analysed demo corpus with a theme of three people (its size "<5", a complement "≥5"),
    a staff member (an audit entry) and two exports."""
    target = tmp_path_factory.mktemp("cli-csv") / "data"
    evidence = demo_corpus.copy(target)
    parent = evidence.themes.themes()[0]
    members = evidence.store.records([m.testimony_id for m in evidence.themes.members(parent.id)])
    three = []
    for record in members:  # three members from three different people
        if person_of(record) not in {person_of(m) for m in three}:
            three.append(record)
        if len(three) == 3:
            break
    evidence.themes.create_child(parent, "a small theme", np.frombuffer(parent.centroid, dtype=np.float32),
                                 [r.id for r in three])
    for args in (("staff", "add", "--telegram-id", "42", "--role", "analyst", "--org", "plan"),
                 ("export", "theme", str(parent.id), "--format", "md"),
                 ("export", "search", "the clinic is too far", "--country", "KE")):
        code, out, _ = lnob(target, *args)
        assert code == 0, out
    return target


def lnob(data_dir: Path, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``lnob --data-dir DATA_DIR ARGS``, in-process."""
    from cli.main import cli

    env = {"LNOB_DATABASE_URL": None, "LNOB_CHROMA_URL": None, "LNOB_PSEUDONYM_KEY": TEST_KEY, "LNOB_PROGRESS": None}
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def both(data_dir: Path, *args: str) -> tuple[dict, list[dict[str, str]], list[str]]:
    """The JSON object and the CSV rows (and header) a command prints for the same arguments."""
    code, out, err = lnob(data_dir, *args, "--json")
    assert code == 0, out + err
    payload = json.loads(out)
    code, out, err = lnob(data_dir, *args, "--csv")
    assert code == 0, out + err
    reader = csv.DictReader(io.StringIO(out))
    rows = list(reader)
    return payload, rows, list(reader.fieldnames or [])


def cell(value) -> str:
    """What a JSON value reads as in a CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        if WITHHELD_KEY in value:
            return WITHHELD_TEXT
        return "; ".join(f"{k}: {cell(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(cell(v) for v in value)
    return str(value)


def assert_rows_match(rows: list[dict[str, str]], items: list[dict], columns: list[str], **derived) -> None:
    """Row by row and column by column, the CSV holds what the JSON holds (``derived``: column -> how the
    JSON item gives it, where the CSV shows a part of a nested value)."""
    assert len(rows) == len(items)
    for row, item in zip(rows, items):
        for column in columns:
            expected = derived[column](item) if column in derived else item[column]
            assert row[column] == cell(expected), (column, row[column], expected)


def test_themes_csv_is_a_topic_table_with_the_counts_the_json_shows(data_dir):
    payload, rows, columns = both(data_dir, "themes")
    assert columns == ["id", "label", "size", "contributors", "primary_driver", "intersecting_drivers", "subdriver",
                       "keywords", "languages", "single_language", "change"]
    assert_rows_match(rows, payload["themes"], columns,
                      single_language=lambda theme: (theme["single_language"] or {}).get("language"))
    sizes = {row["label"]: (row["size"], row["contributors"]) for row in rows}
    assert sizes["a small theme"] == ("<5", "<5")  # never the 3 that the table and the JSON hide
    assert any(row["size"] == "≥5" for row in rows), "the complement that hides the small theme's size"
    for row in rows:
        assert row["size"].isdigit() and int(row["size"]) >= 5 or row["size"] in ("<5", "≥5")
        if row["languages"] == WITHHELD_TEXT:
            continue
        for label in filter(None, row["languages"].split("; ")):
            count = label.split(": ")[1]
            assert count in ("<5", "≥5") or int(count) >= 5
    assert any("; " in row["keywords"] for row in rows) and any("; " in row["languages"] for row in rows)


def test_theme_csv_is_one_row_with_its_breakdowns(data_dir):
    theme_id = json.loads(lnob(data_dir, "themes", "--json")[1])["themes"][0]["id"]
    detail, rows, columns = both(data_dir, "theme", str(theme_id))
    assert len(rows) == 1 and rows[0]["id"] == str(theme_id)
    summary = detail["summary"]
    assert_rows_match(rows, [detail], columns,
                      keywords=lambda d: [k for k, _ in d["keywords"]],
                      single_language=lambda d: (d["single_language"] or {}).get("language"),
                      **{key: (lambda d, key=key: d["summary"][key])
                         for key in ("testimonies", "proposals", "quotable", "by_country", "by_organisation",
                                     "by_gender", "by_age_band", "by_group", "by_month")})
    assert rows[0]["by_country"] == "; ".join(f"{k}: {v}" for k, v in summary["by_country"].items())


def test_quotes_and_search_csv(data_dir):
    theme_id = json.loads(lnob(data_dir, "themes", "--json")[1])["themes"][0]["id"]
    payload, rows, columns = both(data_dir, "quotes", str(theme_id), "--n", "4")
    assert columns == ["id", "text", "date", "country", "region", "organisation", "kind", "language", "drivers",
                       "theme_id", "score", "pinned"]
    assert len(rows) == 4
    assert_rows_match(rows, payload["quotes"], columns)

    payload, rows, columns = both(data_dir, "search", "the clinic is too far away", "--limit", "15")
    assert columns == ["relevance", "band", "id", "text", "kind", "country", "organisation", "language", "date",
                       "drivers", "theme_id", "semantic_rank", "lexical_rank"]
    assert len(rows) == 15 and "score" not in columns  # the raw fused score stays in --json
    assert_rows_match(rows, payload["results"], columns)
    assert [int(row["relevance"]) for row in rows] == sorted((int(row["relevance"]) for row in rows), reverse=True)


def test_stats_csv_has_a_row_per_total_and_per_cell(data_dir):
    payload, rows, columns = both(data_dir, "stats")
    assert columns == ["field", "value", "count"]
    expected = []
    for field, value in payload.items():
        if isinstance(value, dict):
            expected += [[field, key, cell(count)] for key, count in value.items()]
        else:
            expected.append([field, "", cell(value)])
    assert [[row["field"], row["value"], row["count"]] for row in rows] == expected
    assert ["testimonies", "", str(payload["testimonies"])] in expected
    assert {row["value"] for row in rows if row["field"] == "by_consent"} == {"quote", "aggregate"}


def test_audit_and_exports_list_csv(data_dir):
    payload, rows, columns = both(data_dir, "audit")
    assert columns == ["id", "at", "staff", "action", "params", "result_size"]
    assert_rows_match(rows, payload["entries"], columns)
    assert any(row["action"] == "staff.add" and "role: analyst" in row["params"] for row in rows)

    payload, rows, columns = both(data_dir, "exports", "list")
    assert columns == ["id", "created_at", "kind", "format", "title", "created_by", "quotes", "status", "replaced_by",
                       "path", "on_disk", "params"]
    assert_rows_match(rows, payload["exports"], columns)
    assert {row["kind"] for row in rows} == {"theme-quotes", "search"}
    assert {row["on_disk"] for row in rows} == {"true"}


@pytest.mark.parametrize("args", [("themes",), ("theme", "1"), ("quotes", "1"), ("search", "clinic"), ("stats",),
                                  ("audit",), ("exports", "list")], ids=lambda a: " ".join(a))
def test_csv_and_json_together_is_a_usage_error(data_dir, args):
    code, out, err = lnob(data_dir, *args, "--csv", "--json")
    assert code == 2 and out == ""
    assert "--json and --csv cannot be used together" in err
