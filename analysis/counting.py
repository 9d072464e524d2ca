"""Counting people, and the small-cell rule with complementary suppression: the one place for both.

The shortest working example::

    from analysis.counting import Count, count_by, protect, protect_table

    shown = protect({"KE": Count(12, 12), "NP": Count(3, 3), "BD": Count(7, 7)}, small_cell=5)
    shown.text()          # "KE 12, BD ≥5, NP <5": "BD 7" and the total (22) would give NP = 3
    shown.labels()        # {"KE": "12", "BD": "≥5", "NP": "<5"}  (for --json)
    shown["NP"].people    # "<5"

    counts = count_by(records, lambda r: r.organisation)   # {"plan": Count(5, 5), "ifrc": Count(1, 1)}
    protect(counts).text()  # "withheld (...)": "plan ≥5, ifrc <5" of 6 would still give ifrc = 1

    protect_table({"KE": {"geography": Count(10, 10), "shocks": Count(2, 2)}, ...}).cells[("KE", "shocks")].label

**Who is counted.** A count is a pair: contributions and the distinct people
behind them (:func:`person_of`: the contributor; a testimony without a
contributor counts as its own person). Every count anyone sees is made here,
and ``corpus`` counts people the same way in SQL (``corpus.store.people_count``).

**The rule** (``k`` is ``settings.small_cell``, default 5):

1. *Primary suppression.* A cell resting on 1 to k-1 people is shown "<k",
   never as its number (neither its contributions nor its people). A total
   is a cell like any other (a theme of 3 people is "<5"); only the size of
   the whole evidence base is always shown.
2. *Complementary (secondary) suppression.* A reader knows the total of a
   breakdown and every shown cell, so a hidden cell must not be the only
   unknown in a sum. What a reader may know of a hidden cell is taken
   generously: "<k" is 1 to k-1 people and contributions (as if each gave
   one), "≥k" at least k. A breakdown is safe when, for each of its hidden
   cells, more than one value fits the sums (for contributions and for
   people alike). While one does not, the smallest shown cell of a sum that
   pins it is hidden too, and shown "≥k" (it rests on k or more people).
   Tables whose rows and columns both add up (place by driver), and nested
   sums (themes within drivers), are checked as a whole, by linear
   programming over every sum.
3. *Withholding.* If no cell is left to hide and one is still pinned (a
   theme of 6 from plan 5 and ifrc 1: "plan ≥5, ifrc <5" still gives
   ifrc = 1), the breakdown is withheld: its values are not listed at all.
   A table is withheld whole (its rows and columns would still be named).
4. *Order and zeros.* Shown cells come largest first, hidden ones after them
   in alphabetical order, so a hidden cell's place in the list says nothing
   about its size. An empty cell is shown as 0 (an absent group is a finding)
   and never hides another.

Breakdowns are protected as if their total were known (it usually is, from
the header or another view; when the cells together rest on fewer than k
people, the total is "<k" too), so the same breakdown is shown the same way in
the CLI, the bot and the reports. What is not covered: a reader who combines
the outputs of different scopes (a country report and the global report), and
one who knows which cell the algorithm picks as the complement; see README.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

UNKNOWN = "unknown"
OPEN, EMPTY, SMALL, HIDDEN, WITHHELD = "open", "empty", "small", "hidden", "withheld"
WITHHELD_KEY = "(withheld)"
WITHHELD_TEXT = "withheld (too few contributors per value to show them safely)"
WITHHELD_MARK = "·"  # a withheld value in a table


class Contribution(Protocol):
    id: str
    contributor_id: int | None


def person_of(record: Contribution) -> Hashable:
    """Who gave a contribution: its contributor, or the testimony itself when it has none."""
    return record.contributor_id if record.contributor_id is not None else f"t:{record.id}"


@dataclass(frozen=True)
class Count:
    """Contributions and the distinct people behind them."""

    contributions: int = 0
    contributors: int = 0

    def is_small(self, small_cell: int = 5) -> bool:
        """Fewer than ``small_cell`` people (an empty cell included)."""
        return self.contributors < small_cell

    def shown(self, small_cell: int = 5) -> str:
        """A lone count under the primary rule: "0", "<5", else the number.

        Only for a count that is in no breakdown; cells of a breakdown are
        shown through :func:`protect`, which also hides their complements.
        """
        return cell_of(self, small_cell).label


def count_of(records: Iterable[Contribution]) -> Count:
    """The ``Count`` of a set of contributions."""
    records = list(records)
    return Count(len(records), len({person_of(r) for r in records}))


def count_by(records: Iterable[Contribution], key: Callable[[Contribution], str | Iterable[str] | None]) -> dict[str, Count]:
    """Counts per value of ``key`` (a record may give several values, e.g. its groups), largest first."""
    contributions: dict[str, int] = defaultdict(int)
    people: dict[str, set] = defaultdict(set)
    for record in records:
        values = key(record)
        if values is None or isinstance(values, str):
            values = [values or UNKNOWN]
        for value in values:
            contributions[value] += 1
            people[value].add(person_of(record))
    counts = {value: Count(n, len(people[value])) for value, n in contributions.items()}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1].contributions, str(kv[0]))))


# -- cells as people see them ------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A count and how it is shown: ``open`` (its numbers), ``empty`` (0), ``small`` ("<5"),
    ``hidden`` ("≥5", a complement) or ``withheld`` ("·", or not listed at all)."""

    count: Count
    state: str
    small_cell: int = 5

    @property
    def suppressed(self) -> bool:
        """Its numbers are not shown."""
        return self.state in (SMALL, HIDDEN, WITHHELD)

    @property
    def label(self) -> str:
        """The contributions as shown: "12", "0", "<5", "≥5" or "·"."""
        return self._label(self.count.contributions)

    @property
    def people(self) -> str:
        """The people as shown: "9", "0", "<5" or "≥5"."""
        return self._label(self.count.contributors)

    def _label(self, n: int) -> str:
        if self.state == SMALL:
            return f"<{self.small_cell}"
        if self.state == HIDDEN:
            return f"≥{self.small_cell}"
        if self.state == WITHHELD:
            return WITHHELD_MARK
        return str(n)

    def __str__(self) -> str:
        return self.label


def cell_of(count: Count, small_cell: int = 5) -> Cell:
    """A count's cell under the primary rule alone."""
    if not count.contributions:
        return Cell(count, EMPTY, small_cell)
    return Cell(count, SMALL if count.contributors < small_cell else OPEN, small_cell)


def public(count: Count, small_cell: int = 5) -> Cell:
    """A count that is always shown (the size of the whole evidence base)."""
    return Cell(count, OPEN if count.contributions else EMPTY, small_cell)


@dataclass
class Breakdown:
    """A protected breakdown: its cells in the order they are shown (see the module's rule)."""

    cells: dict[str, Cell]
    small_cell: int = 5
    withheld: bool = False

    def __getitem__(self, key: str) -> Cell:
        return self.cells[key]

    def __contains__(self, key: object) -> bool:
        return key in self.cells

    def __len__(self) -> int:
        return len(self.cells)

    def items(self):
        return self.cells.items()

    def labels(self) -> dict[str, str]:
        """``{"KE": "12", "BD": "≥5", "NP": "<5"}``; a withheld breakdown is ``{"(withheld)": <total>}``."""
        if self.withheld:
            return {WITHHELD_KEY: WITHHELD_TEXT}
        return {key: cell.label for key, cell in self.cells.items()}

    def text(self, names: Mapping[str, str] | None = None, *, limit: int | None = None, sep: str = ", ",
             more: str = "and {n} more", empty: str = "-") -> str:
        """``"KE 12, BD ≥5, NP <5"``: the first ``limit`` cells, then ``more``; ``WITHHELD_TEXT`` if withheld."""
        if self.withheld:
            return WITHHELD_TEXT
        names = names or {}
        items = list(self.cells.items())
        shown = [f"{names.get(k, k)} {cell.label}" for k, cell in items[:limit]]
        if limit is not None and len(items) > limit:
            shown.append(more.format(n=len(items) - limit))
        return sep.join(shown) or empty


def protect(counts: Mapping[str, Count], small_cell: int = 5) -> Breakdown:
    """The breakdown of ``counts`` as it may be shown (see the module's rule).

    Its total is taken as known (it usually is shown somewhere), unless its
    cells together rest on fewer than ``small_cell`` people: then the total
    is itself a small cell ("<5") wherever it is shown.
    """
    disclosure = Disclosure(small_cell)
    for key, count in counts.items():
        disclosure.add(("cell", key), count)
    total = _sum(counts.values())
    total_key = None
    if 0 < total.contributors < small_cell:
        total_key = ("total",)
        disclosure.add(total_key, total, state=SMALL)
    disclosure.tie(total_key, [("cell", key) for key in counts])
    cells = disclosure.protect()
    return breakdown_of({key: cells[("cell", key)] for key in counts}, list(counts), small_cell)


def breakdown_of(cells: Mapping[Hashable, Cell], keys: Sequence[Hashable], small_cell: int = 5,
                 names: Callable[[Hashable], str] | None = None) -> Breakdown:
    """The ``Breakdown`` of ``keys`` out of a protected set of cells, in the order they are shown."""
    name = names or (lambda key: key)
    chosen = [(name(key), cells[key]) for key in keys]
    withheld = any(cell.state == WITHHELD for _, cell in chosen)
    shown = sorted((kv for kv in chosen if kv[1].state == OPEN), key=lambda kv: (-kv[1].count.contributions, str(kv[0])))
    hidden = sorted((kv for kv in chosen if kv[1].state in (SMALL, HIDDEN)), key=lambda kv: str(kv[0]))
    empty = sorted((kv for kv in chosen if kv[1].state == EMPTY), key=lambda kv: str(kv[0]))
    return Breakdown(dict(shown + hidden + empty) if not withheld else dict(chosen), small_cell, withheld)


@dataclass
class Table:
    """A protected table: its cells by ``(row, column)`` and its row and column totals, as shown.

    ``withheld``: the table cannot be shown safely (a cell would still be
    pinned by the totals and the empty cells), so it is not shown at all.
    """

    cells: dict[tuple, Cell]
    rows: dict[Hashable, Cell]
    columns: dict[Hashable, Cell]
    withheld: bool = False


def protect_table(table: Mapping[Hashable, Mapping[Hashable, Count]], small_cell: int = 5, *,
                  columns: Sequence[Hashable] | None = None,
                  row_totals: Mapping[Hashable, Cell] | None = None,
                  column_totals: Mapping[Hashable, Cell] | None = None) -> Table:
    """A table whose rows and columns both add up (``table[row][column]``), protected as a whole.

    Its totals are cells of other breakdowns (a place's total is its cell in
    the breakdown by place): give them as they are shown there
    (``row_totals``, ``column_totals``), or they are protected here as
    breakdowns of their own. A tie whose parts do not add up to its total
    (several groups per person) is taken as a known sum.
    """
    columns = list(columns) if columns is not None else sorted({c for row in table.values() for c in row}, key=str)
    if row_totals is None:
        row_totals = protect({r: _sum(table[r].values()) for r in table}, small_cell).cells
    if column_totals is None:
        column_totals = protect({c: _sum(table[r].get(c, Count()) for r in table) for c in columns}, small_cell).cells
    disclosure = Disclosure(small_cell)
    for row, cells in table.items():
        for column in columns:
            disclosure.add(("cell", row, column), cells.get(column, Count()))
    for row in table:
        disclosure.add(("row", row), row_totals[row].count, state=row_totals[row].state)
        disclosure.tie(("row", row), [("cell", row, c) for c in columns])
    for column in columns:
        disclosure.add(("column", column), column_totals[column].count, state=column_totals[column].state)
        disclosure.tie(("column", column), [("cell", r, column) for r in table])
    protected = disclosure.protect()
    cells = {(row, column): protected[("cell", row, column)] for row in table for column in columns}
    withheld = any(cell.state == WITHHELD for cell in cells.values())
    return Table(cells, {r: row_totals[r] for r in table}, {c: column_totals[c] for c in columns}, withheld)


def _sum(counts: Iterable[Count]) -> Count:
    counts = list(counts)
    return Count(sum(c.contributions for c in counts), sum(c.contributors for c in counts))


# -- the engine: cells, the sums that tie them, and what a reader can work out ---------


@dataclass
class _Tie:
    total: Hashable | None  # a cell's key, or None: the sum of the parts is known
    parts: tuple


@dataclass
class Disclosure:
    """Counts that are shown together and the sums that tie them, protected as one.

    ``add`` each count (``state`` fixes how it is shown, e.g. ``OPEN`` for a
    total that is always shown or a state decided by another view), ``tie``
    a total to its parts, then ``protect`` for every key's ``Cell``.
    """

    small_cell: int = 5
    counts: dict = field(default_factory=dict)
    fixed: dict = field(default_factory=dict)
    costs: dict = field(default_factory=dict)
    ties: list[_Tie] = field(default_factory=list)

    def add(self, key: Hashable, count: Count, *, state: str | None = None, cost: int = 0) -> None:
        """A cell; ``state`` (optional) is kept as it is, never changed by the protection. Among cells
        that could hide a pinned one, those of lower ``cost`` are hidden first (a driver's total before
        a theme's size)."""
        self.counts[key] = count
        self.costs[key] = cost
        if state is not None:
            self.fixed[key] = state

    def tie(self, total: Hashable | None, parts: Iterable[Hashable]) -> None:
        """``total`` is the sum of ``parts`` (``None``: their sum is known to the reader)."""
        self.ties.append(_Tie(total, tuple(parts)))

    def protect(self) -> dict[Hashable, Cell]:
        """Every key's cell, with primary, secondary suppression and withholding applied."""
        k = self.small_cell
        states = {key: self.fixed.get(key) or cell_of(count, k).state for key, count in self.counts.items()}
        ties_of: dict[Hashable, list[_Tie]] = defaultdict(list)
        for tie in self.ties:
            for key in (*tie.parts, tie.total):
                if key is not None:
                    ties_of[key].append(tie)
        while True:
            pinned = self._pinned(states)
            if not pinned:
                break
            order = sorted(pinned, key=lambda p: (self.counts[p].contributions, str(p)))
            chosen = self._complement(order, ties_of, states)
            if chosen is not None:
                states[chosen] = HIDDEN
                continue
            key = order[0]
            changed = False
            for tie in [t for t in ties_of[key] if key in t.parts] or ties_of[key]:
                for part in tie.parts:
                    if states[part] != EMPTY and states[part] != WITHHELD:
                        states[part], changed = WITHHELD, True
            if not changed:
                states[key] = WITHHELD
        return {key: Cell(count, states[key], k) for key, count in self.counts.items()}

    def _complement(self, pinned: Sequence[Hashable], ties_of: Mapping[Hashable, list[_Tie]],
                    states: Mapping[Hashable, str]) -> Hashable | None:
        """The cell to hide next: a shown cell of a sum through a pinned cell, first where fewest cells
        are hidden yet, then the cheapest, then one whose other sums already hide a cell (closing a cycle
        of hidden cells in a table rather than opening a new line), then the smallest."""
        suppressed = lambda c: states[c] in (SMALL, HIDDEN, WITHHELD)  # noqa: E731
        best = None
        for key in pinned:
            for tie in ties_of[key]:
                members = [c for c in (*tie.parts, tie.total) if c is not None]
                hidden = sum(1 for c in members if suppressed(c))
                for c in members:
                    if states[c] != OPEN or c in self.fixed:
                        continue
                    links = sum(1 for other in ties_of[c] if other is not tie
                                and any(suppressed(m) for m in (*other.parts, other.total) if m is not None))
                    rank = (hidden, self.costs[c], -links, self.counts[c].contributions, self.counts[c].contributors, str(c))
                    if best is None or rank < best[0]:
                        best = (rank, c)
        return best[1] if best is not None else None

    # -- the reader's view ------------------------------------------------------------

    def _pinned(self, states: Mapping[Hashable, str]) -> set:
        """Hidden cells ("<k" or "≥k") whose contributions or people a reader can work out exactly
        (beyond what their label says: with k = 2, "<2" is one person by itself).

        Some of them, not necessarily all: what one sum pins on its own first (closed form), else the
        first one that linear programming over linked sums pins. Empty only when none is pinned.
        """
        systems = []
        for dimension in ("contributions", "contributors"):
            equations = self._equations(states, dimension)
            bounds = self._bounds(states, dimension)
            shown = {key for key, state in states.items() if state in (SMALL, HIDDEN) and bounds[key][1] - bounds[key][0] >= 1}
            if (equations, bounds) in [(e, b) for e, b, _ in systems]:
                continue  # people and contributions alike (one contribution each): one reading is enough
            systems.append((equations, bounds, shown))
        pinned = set().union(*(_pinned_alone(e, b, shown) for e, b, shown in systems))
        if pinned:
            return pinned
        for equations, bounds, shown in systems:
            pinned = _pinned_linked(equations, bounds, shown)
            if pinned:
                return pinned
        return set()

    def _bounds(self, states: Mapping[Hashable, str], dimension: str) -> dict[Hashable, tuple[float, float]]:
        """What a reader may know of each unknown: "<k" is 1..k-1 (contributions taken generously as
        people), "≥k" is k or more, a withheld cell anything."""
        k, bounds = self.small_cell, {}
        for key, state in states.items():
            value = getattr(self.counts[key], dimension)
            if state == SMALL:
                bounds[key] = (1, max(k - 1, value))
            elif state == HIDDEN:
                bounds[key] = (k, math.inf)
            elif state == WITHHELD:
                bounds[key] = (0, math.inf)
        return bounds

    def _equations(self, states: Mapping[Hashable, str], dimension: str) -> list[tuple[dict, float]]:
        """Each tie as ``(coefficients of unknowns, constant)``; a tie whose parts do not add up to its
        total (people counted in several parts, several values per record) is taken as a known sum."""
        equations = []
        for tie in self.ties:
            value = lambda key: getattr(self.counts[key], dimension)  # noqa: E731
            parts_sum = sum(value(p) for p in tie.parts)
            coefficients: dict = {}
            constant = 0.0
            total = tie.total if tie.total is not None and value(tie.total) == parts_sum else None
            for part in tie.parts:
                if states[part] in (OPEN, EMPTY):
                    constant -= value(part)
                else:
                    coefficients[part] = coefficients.get(part, 0) + 1
            if total is None:
                constant += parts_sum
            elif states[total] in (OPEN, EMPTY):
                constant += value(total)
            else:
                coefficients[total] = coefficients.get(total, 0) - 1
            if coefficients:
                equations.append((coefficients, constant))
        return equations


def _pinned_alone(equations: list[tuple[dict, float]], bounds: Mapping[Hashable, tuple[float, float]], shown: set) -> set:
    """The unknowns among ``shown`` that a single equation pins on its own (sum of coef*x = constant)."""
    pinned: set = set()
    for coefficients, constant in equations:
        for key in coefficients:
            if key in shown:
                low, high = _range_one(key, coefficients, constant, bounds)
                if high - low < 0.5:
                    pinned.add(key)
    return pinned


def _pinned_linked(equations: list[tuple[dict, float]], bounds: Mapping[Hashable, tuple[float, float]], shown: set) -> set:
    """The first unknown among ``shown`` that equations linked through shared unknowns pin together."""
    for members, rows in _components(equations):
        targets = [m for m in members if m in shown]
        if targets and len(rows) > 1:
            pinned = _pinned_lp([equations[i] for i in rows], members, targets, bounds)
            if pinned:
                return pinned
    return set()


def _components(equations: list[tuple[dict, float]]) -> list[tuple[list, list[int]]]:
    """Groups of unknowns linked by equations, each with the indices of its equations."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for coefficients, _ in equations:
        keys = list(coefficients)
        for other in keys[1:]:
            parent[find(other)] = find(keys[0])
        find(keys[0])
    members: dict = defaultdict(list)
    rows: dict = defaultdict(list)
    for key in parent:
        members[find(key)].append(key)
    for i, (coefficients, _) in enumerate(equations):
        rows[find(next(iter(coefficients)))].append(i)
    return [(members[root], rows[root]) for root in members]


def _range_one(key: Hashable, coefficients: Mapping, constant: float, bounds: Mapping) -> tuple[float, float]:
    """The feasible range of ``key`` under one equation, closed form."""
    low_rest = high_rest = 0.0
    for other, a in coefficients.items():
        if other == key:
            continue
        lo, hi = bounds[other]
        low_rest += a * lo if a > 0 else a * hi
        high_rest += a * hi if a > 0 else a * lo
    a = coefficients[key]
    lo, hi = bounds[key]
    if a > 0:
        low, high = (constant - high_rest) / a, (constant - low_rest) / a
    else:
        low, high = (constant - low_rest) / a, (constant - high_rest) / a
    return max(lo, low), min(hi, high)


def _pinned_lp(equations: list[tuple[dict, float]], members: list, targets: list, bounds: Mapping) -> set:
    """The first pinned unknown of a linked group (by minimising and maximising each over the equations)."""
    import numpy as np
    from scipy.optimize import linprog

    index = {key: i for i, key in enumerate(members)}
    a_eq = np.zeros((len(equations), len(members)))
    b_eq = np.zeros(len(equations))
    for row, (coefficients, constant) in enumerate(equations):
        for key, a in coefficients.items():
            a_eq[row, index[key]] = a
        b_eq[row] = constant
    box = [(bounds[key][0], None if math.isinf(bounds[key][1]) else bounds[key][1]) for key in members]
    for key in sorted(targets, key=str):
        objective = np.zeros(len(members))
        objective[index[key]] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=box, method="highs")
        if low.status == 0 and high.status == 0 and (-high.fun) - low.fun < 0.5:
            return {key}
    return set()
