"""The small-cell rule with complementary suppression (``analysis.counting``): no hidden count can be worked out.

A reader who tries to derive every hidden cell is played here, independently
of the module's own check: from the labels shown ("12", "0", "<5", "≥5") and
the totals, it lists every value each hidden cell could have, on many random
breakdowns and tables and on the real outputs (a theme's breakdowns, a
report's tables). A hidden cell with a single possible value would be a
disclosure.
"""

from __future__ import annotations

import math
import random
import re
from datetime import datetime, timezone

import pytest

from analysis.counting import (
    WITHHELD_KEY,
    Count,
    count_by,
    count_of,
    person_of,
    protect,
    protect_table,
)
from corpus.store import TestimonyRecord

K = 5


def record(i: int, *, contributor: int | None = None, org: str = "plan", country: str = "KE", groups=(), gender=None,
           month: int = 1) -> TestimonyRecord:
    return TestimonyRecord(
        id=f"t{i:04d}", kind="testimony", text=f"text {i}", language="en",
        created_at=datetime(2026, month, 1, tzinfo=timezone.utc), country=country, region="R", organisation=org,
        consent_level="quote", self_drivers=(), contributor_id=i if contributor is None else contributor,
        age_band=None, gender=gender, groups=tuple(groups), source="test", index_status="indexed", text_hash=str(i),
    )


# -- the reader -------------------------------------------------------------------------


def bounds_of(label: str, k: int = K) -> tuple[float, float]:
    """What a label tells a reader: a number itself, "<k" 1..k-1 (as if each person gave one), "≥k" k or more."""
    if label == f"<{k}":
        return 1, k - 1
    if label == f"≥{k}":
        return k, math.inf
    assert re.fullmatch(r"\d+", label), f"a label is a number, <{k} or ≥{k}: {label!r}"
    return int(label), int(label)


def possible_values(labels: dict[str, str], total: tuple[float, float], k: int = K) -> dict[str, set[int]]:
    """Every value each hidden cell of a breakdown can take, given the labels and the total's range (brute force
    over the hidden cells' values, up to the largest total)."""
    hidden = {key: bounds_of(label, k) for key, label in labels.items() if not label.isdigit()}
    shown = sum(int(label) for label in labels.values() if label.isdigit())
    top = int(min(total[1], 400))
    result: dict[str, set[int]] = {}
    for key, (lo, hi) in hidden.items():
        others = [b for other, b in hidden.items() if other != key]
        reachable = {0}  # sums the other hidden cells can make, up to the largest total
        for o_lo, o_hi in others:
            reachable = {r + v for r in reachable for v in range(int(o_lo), int(min(o_hi, top)) + 1) if r + v <= top}
        result[key] = {v for v in range(int(lo), int(min(hi, top)) + 1)
                       if any(total[0] <= shown + v + r <= total[1] for r in reachable)}
    return result


def assert_nothing_pinned(labels: dict[str, str], total: tuple[float, float], truth: dict[str, int] | None = None,
                          k: int = K) -> None:
    if WITHHELD_KEY in labels:
        return
    for key, values in possible_values(labels, total, k).items():
        assert len(values) >= 2, f"{key} can be worked out as {values} from {labels} and a total in {total}"
        if truth is not None:
            assert truth[key] in values


def random_breakdown(rng: random.Random) -> dict[str, Count]:
    cells = {}
    for i in range(rng.randint(1, 6)):
        n = rng.choice([rng.randint(1, K - 1), rng.randint(1, K - 1), rng.randint(K, 14)])
        cells[f"v{i}"] = Count(n, n)  # one contribution each: the reader's "<5" bounds hold
    return cells


# -- the rule on its own ------------------------------------------------------------------


def test_the_issue_s_theme_of_six_no_longer_gives_ifrc_away():
    """"plan 5, ifrc <5" in a theme of 6 meant ifrc = 1; "plan ≥5, ifrc <5" would too: it is withheld."""
    shown = protect({"plan": Count(5, 5), "ifrc": Count(1, 1)})
    assert shown.withheld and shown.labels() == {WITHHELD_KEY: shown.text()}
    assert "1" not in shown.text() and "5" not in shown.text()


def test_a_lone_small_cell_gets_a_complement():
    shown = protect({"KE": Count(12, 12), "NP": Count(3, 3), "BD": Count(7, 7)})
    assert shown.labels() == {"KE": "12", "BD": "≥5", "NP": "<5"}  # hidden cells after the shown, by name
    assert_nothing_pinned(shown.labels(), (22, 22))


def test_small_cells_that_add_up_to_their_least_or_most_get_another_complement():
    assert protect({"a": Count(1, 1), "b": Count(1, 1), "c": Count(20, 20)}).labels()["c"] == "≥5"  # a = b = 1
    assert protect({"a": Count(4, 4), "b": Count(4, 4), "c": Count(20, 20)}).labels()["c"] == "≥5"  # a = b = 4


def test_a_cell_is_small_by_its_people_and_a_total_under_five_hides_nothing_more():
    assert protect({"fr": Count(8, 1), "en": Count(6, 6), "sw": Count(9, 9)}).labels() == {"sw": "9", "en": "≥5", "fr": "<5"}
    assert protect({"a": Count(2, 2), "b": Count(1, 1)}).labels() == {"a": "<5", "b": "<5"}  # the total is "<5" too
    assert protect({"a": Count(1, 1), "b": Count(1, 1), "c": Count(1, 1), "d": Count(1, 1)}).withheld  # 4 of "<5": 1 each


def test_zeros_are_shown_and_never_hide_a_cell():
    shown = protect({"disability": Count(9, 9), "youth": Count(2, 2), "elderly": Count()})
    assert shown.labels() == {"disability": "≥5", "youth": "<5", "elderly": "0"}


def test_people_are_counted_one_way_everywhere():
    records = [record(1, contributor=7), record(2, contributor=7), record(3, contributor=None), record(4, contributor=None)]
    assert count_of(records) == Count(4, 3)  # contributor 7 once, each testimony without a contributor once
    assert person_of(records[2]) != person_of(records[3])
    assert count_by(records, lambda r: r.country) == {"KE": Count(4, 3)}


def test_no_hidden_cell_of_a_random_breakdown_can_be_worked_out():
    withheld = hidden = 0
    for seed in range(400):
        cells = random_breakdown(random.Random(seed))
        shown = protect(cells)
        if shown.withheld:  # its values are not listed at all
            withheld += 1
            continue
        labels = shown.labels()
        truth = {key: count.contributions for key, count in cells.items()}
        total = sum(truth.values())
        for key, label in labels.items():  # a small cell is never shown as its number; a shown one is exact
            assert label == ("<5" if truth[key] < K else label) and (not label.isdigit() or int(label) == truth[key])
        hidden += sum(1 for label in labels.values() if not label.isdigit())
        known_total = (1, K - 1) if total < K else (total, total)  # a total under five is itself shown as "<5"
        assert_nothing_pinned(labels, known_total, truth)
    assert hidden > 400 and withheld < 100  # the reader had work to do, and most breakdowns are still shown


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_people_are_counted_the_same_way_in_sql(database, evidence, request):
    """``lnob stats`` and theme sizes count people in SQL: as ``person_of`` does (once: distinct ids, no NULLs)."""
    from analysis.evidence import EvidenceBase
    from corpus.db import make_engine, upgrade
    from corpus.settings import Settings
    from corpus.store import TestimonyDraft

    if database == "postgresql":
        url = request.getfixturevalue("postgres_url")
        upgrade(make_engine(url))
        evidence = EvidenceBase(Settings(data_dir=evidence.settings.data_dir.parent / "pg", database_url=url,
                                         pseudonym_key="test-key-0123456789abcdef0123456789", _env_file=None))
    store = evidence.store
    person = store.get_or_create_contributor("someone").id
    drafts = [TestimonyDraft(text=f"the clinic is far, day {i}", country="KE", contributor_id=person) for i in range(3)]
    drafts += [TestimonyDraft(text=f"no road to the school, week {i}", country="NP", source="import") for i in range(2)]
    store.add_testimonies(drafts)
    records = store.records()
    stats = store.stats()
    assert stats["contributors"] == count_of(records).contributors == 3
    assert stats["people"]["by_country"] == {k: c.contributors for k, c in count_by(records, lambda r: r.country).items()}


def test_the_reader_is_not_a_straw_man():
    """The old rule (primary suppression only) is caught: "KE 12, BD 7, NP <5" of 22 gives NP = 3."""
    with pytest.raises(AssertionError, match="NP can be worked out"):
        assert_nothing_pinned({"KE": "12", "BD": "7", "NP": "<5"}, (22, 22))


# -- tables -------------------------------------------------------------------------------


def table_possible(table_labels: dict[tuple, str], row_labels: dict, column_labels: dict, grand: int,
                   k: int = K) -> dict[tuple, tuple[float, float]]:
    """The range of each hidden cell of a table whose rows and columns add up to their totals (themselves
    shown or hidden) and whose totals add up to ``grand``: min and max by linear programming."""
    import numpy as np
    from scipy.optimize import linprog

    unknowns = [("cell", key) for key, label in table_labels.items() if not label.isdigit()]
    unknowns += [("row", r) for r, label in row_labels.items() if not label.isdigit()]
    unknowns += [("column", c) for c, label in column_labels.items() if not label.isdigit()]
    index = {u: i for i, u in enumerate(unknowns)}
    label_of = {("cell", key): label for key, label in table_labels.items()}
    label_of |= {("row", r): label for r, label in row_labels.items()} | {("column", c): label for c, label in column_labels.items()}
    rows_eq, rhs = [], []

    def equation(terms: list[tuple[tuple, int]], constant: float = 0.0) -> None:
        coefficients, value = np.zeros(len(unknowns)), constant
        for term, sign in terms:
            if term in index:
                coefficients[index[term]] += sign
            else:
                value -= sign * int(label_of[term])
        if coefficients.any():
            rows_eq.append(coefficients)
            rhs.append(value)

    for r in row_labels:
        equation([(("cell", (r, c)), 1) for c in column_labels] + [(("row", r), -1)])
    for c in column_labels:
        equation([(("cell", (r, c)), 1) for r in row_labels] + [(("column", c), -1)])
    equation([(("row", r), 1) for r in row_labels], grand)
    box = [(bounds_of(label_of[u], k)[0], None if math.isinf(bounds_of(label_of[u], k)[1]) else bounds_of(label_of[u], k)[1])
           for u in unknowns]
    ranges = {}
    for u in unknowns:
        if u[0] != "cell":
            continue
        objective = np.zeros(len(unknowns))
        objective[index[u]] = 1
        low = linprog(objective, A_eq=np.array(rows_eq), b_eq=np.array(rhs), bounds=box, method="highs")
        high = linprog(-objective, A_eq=np.array(rows_eq), b_eq=np.array(rhs), bounds=box, method="highs")
        assert low.status == 0, "the labels must be consistent with the truth"
        ranges[u[1]] = (low.fun, math.inf if high.status == 3 else -high.fun)
    return ranges


@pytest.mark.parametrize("seed", range(0, 150, 10))
def test_no_hidden_cell_of_a_random_table_can_be_worked_out(seed):
    for seed in range(seed, seed + 10):
        check_random_table(random.Random(seed))


def check_random_table(rng: random.Random) -> None:
    rows, columns = [f"r{i}" for i in range(rng.randint(2, 4))], [f"c{j}" for j in range(rng.randint(2, 4))]
    table = {}
    for r in rows:
        table[r] = {}
        for c in columns:
            n = rng.choice([0, rng.randint(1, K - 1), rng.randint(K, 15), rng.randint(K, 15)])
            table[r][c] = Count(n, n)
    shown = protect_table(table, columns=columns)
    if shown.withheld:  # not shown at all
        return
    labels = {key: cell.label for key, cell in shown.cells.items()}
    for key, cell in shown.cells.items():
        n = table[key[0]][key[1]].contributions
        assert (labels[key] == str(n)) if labels[key].isdigit() else (n == 0 or labels[key] in ("<5", "≥5"))
        assert not (0 < n < K) or labels[key] == "<5"
    grand = sum(c.contributions for row in table.values() for c in row.values())
    ranges = table_possible(labels, {r: c.label for r, c in shown.rows.items()},
                            {c: cell.label for c, cell in shown.columns.items()}, grand)
    for key, (low, high) in ranges.items():
        assert high - low >= 1 - 1e-9, f"{key} = {low} can be worked out from {labels}"


# -- the real outputs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(demo_corpus):
    return demo_corpus.evidence()


def test_the_theme_breakdowns_staff_see_give_nothing_away(corpus):
    """``lnob theme`` / ``/theme``: every breakdown of every theme, against its true total."""
    from analysis.explore import list_themes, theme_detail, theme_members

    rows = list_themes(corpus)
    assert rows
    hidden_seen = 0
    for row in rows:
        detail = theme_detail(corpus, row["id"], n_quotes=0)
        members = theme_members(corpus, row["id"])
        total = len(members)
        for name in ("by_country", "by_organisation", "by_gender", "by_age_band", "by_language", "by_month"):
            labels = detail["summary"][name]
            hidden_seen += sum(1 for label in labels.values() if label in ("<5", "≥5"))
            assert_nothing_pinned(labels, (total, total))
        for label in detail["summary"]["by_group"].values():  # groups overlap: no sum, but never a small number
            assert not (label.isdigit() and 0 < int(label) < K)
    assert hidden_seen, "the demo corpus's themes have small cells to hide"


def _table_rows(section: str, heading: str) -> list[list[str]]:
    part = section.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
    lines = [line for line in part.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def _cells(text: str) -> dict[str, str]:
    """``"KE 12, BD ≥5, NP <5"`` -> labels (the Markdown's escapes undone)."""
    text = text.replace("\\", "")
    if text.startswith("withheld") or text == "-":
        return {WITHHELD_KEY: text}
    pairs = [item.rsplit(" ", 1) for item in text.split(", ") if not item.startswith("and ")]
    return {key: label for key, label in pairs}


@pytest.mark.parametrize("country", [None, "NP"])
def test_a_report_s_tables_give_nothing_away(corpus, country, tmp_path):
    from analysis.reports import compose_report, render_markdown

    report = compose_report(corpus, country, n_quotes=0)
    content, _ = render_markdown(report.title, report.blocks, "chart")
    content = content.replace("\\", "")
    summary_part = content.split("\n## Who spoke\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in summary_part.splitlines() if line.startswith("| ")]
    rows = {cells[0]: cells[1] for cells in ([c.strip() for c in line.strip("|").split(" | ")] for line in lines)}
    scope = rows["contributions"]
    total = (int(scope), int(scope)) if scope.isdigit() else bounds_of(scope)
    for name in ("kind", "gender", "age band", "organisation", "language") + (("country",) if country is None else ()):
        assert_nothing_pinned(_cells(rows[name]), total)
    # every theme: its breakdowns against its size
    for section in content.split("\n### #")[1:]:
        table = {cells[0]: cells[1] for cells in ([c.strip() for c in line.strip("|").split(" | ")]
                                                   for line in section.splitlines() if line.startswith("| "))}
        size = table["size"].split(" ", 1)[0]
        theme_total = (int(size), int(size)) if size.isdigit() else bounds_of(size)
        for name in ("by country", "by organisation", "by gender", "by age band"):
            if name in table and "and " not in table[name]:
                assert_nothing_pinned(_cells(table[name]), theme_total)
    # the place-by-driver table, its rows' totals and the drivers' totals of the drivers' sections
    place = "country" if country is None else "region"
    gaps = content.split("\n## Gaps\n", 1)[1]
    table_rows = _table_rows(gaps, f"By {place} and driver")
    if not table_rows:
        assert "Withheld" in gaps
        return
    part = gaps.split(f"\n### By {place} and driver\n", 1)[1]
    header = [c.strip() for c in next(line for line in part.splitlines() if line.startswith("|")).strip("|").split(" | ")]
    drivers = header[3:]
    driver_totals = {}
    for driver in drivers:
        found = re.search(rf"\n## {re.escape(driver)}\n(?:\n_[^\n]*_\n)?\n(\S+) contributions have this", content)
        driver_totals[driver] = found.group(1)
    labels = {(row[0], d): row[3 + j] for row in table_rows for j, d in enumerate(drivers)}
    # contributions with no primary driver are in each row's total but in no column: an unknown of their own
    none = {(row[0], "(none)"): "≥0" for row in table_rows}
    assert_table_safe(labels, none, {row[0]: row[1] for row in table_rows}, driver_totals, total)


def assert_table_safe(labels, free, row_totals, column_totals, grand) -> None:
    """No hidden cell of the table is pinned by its rows' and columns' totals (``free`` cells: any value >= 0)."""
    import numpy as np
    from scipy.optimize import linprog

    every = labels | free
    unknowns = [key for key, label in every.items() if not label.isdigit()]
    unknowns += [("row", r) for r, label in row_totals.items() if not label.isdigit()]
    unknowns += [("column", c) for c, label in column_totals.items() if not label.isdigit()]
    index = {u: i for i, u in enumerate(unknowns)}
    value = every | {("row", r): v for r, v in row_totals.items()} | {("column", c): v for c, v in column_totals.items()}
    a, b = [], []

    def equation(terms):
        coefficients, constant = np.zeros(len(unknowns)), 0.0
        for term, sign in terms:
            if term in index:
                coefficients[index[term]] += sign
            else:
                constant -= sign * int(value[term])
        if coefficients.any():
            a.append(coefficients)
            b.append(constant)

    columns = sorted({c for _, c in labels})
    for r in row_totals:
        equation([((r, c), 1) for c in columns] + [((r, "(none)"), 1), (("row", r), -1)])
    for c in columns:
        equation([((r, c), 1) for r in row_totals] + [(("column", c), -1)])

    def box(u):
        label = value[u]
        if label == "≥0":
            return (0, None)
        lo, hi = bounds_of(label)
        return (lo, None if math.isinf(hi) else hi)

    for u in unknowns:
        if u in free or u[0] in ("row", "column") or value[u] in ("0",):
            continue
        objective = np.zeros(len(unknowns))
        objective[index[u]] = 1
        low = linprog(objective, A_eq=np.array(a), b_eq=np.array(b), bounds=[box(x) for x in unknowns], method="highs")
        high = linprog(-objective, A_eq=np.array(a), b_eq=np.array(b), bounds=[box(x) for x in unknowns], method="highs")
        assert low.status == 0
        assert high.status == 3 or -high.fun - low.fun >= 1 - 1e-9, f"{u} = {low.fun} can be worked out"


def test_lnob_themes_never_prints_a_small_theme_as_numbers(demo_corpus, tmp_path):
    """A theme of 3 people was printed "3 3"; now "<5", and another theme's size is hidden with it."""
    import json

    import numpy as np

    from tests.support.command_line import run_in_process

    evidence = demo_corpus.copy(tmp_path / "data")
    parent = evidence.themes.themes()[0]
    members = evidence.store.records([m.testimony_id for m in evidence.themes.members(parent.id)])
    three = []
    for r in members:  # three members from three different people
        if person_of(r) not in {person_of(m) for m in three}:
            three.append(r)
        if len(three) == 3:
            break
    child = evidence.themes.create_child(parent, "a small theme", np.frombuffer(parent.centroid, dtype=np.float32),
                                         [r.id for r in three])
    code, output = run_in_process("--data-dir", str(tmp_path / "data"), "themes", "--json")
    assert code == 0, output
    rows = {row["id"]: row for row in json.loads(output.strip().splitlines()[-1])["themes"]}
    assert rows[child.id]["size"] == "<5" and rows[child.id]["contributors"] == "<5"
    assert any(row["size"] == "≥5" for row in rows.values()), "a complement hides the small theme's size"
    code, output = run_in_process("--data-dir", str(tmp_path / "data"), "theme", str(child.id))
    assert code == 0 and "size <5" in output and "from <5 contributors" in output
    assert not re.search(r"\b[1-4](,|$)", "\n".join(line for line in output.splitlines() if not line.startswith("  “"))), output
