"""Charts: valid PNGs, deterministic, readable labels, and small cells never shown as exact numbers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.image import imread

from analysis import charts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

THEMES = [
    {"id": 1, "label": "Long walks to the clinic and no ambulance in the hills", "size": 40, "contributors": 38,
     "primary_driver": "geography"},
    {"id": 2, "label": "Bribes for birth certificates", "size": 22, "contributors": 22, "primary_driver": "governance"},
    {"id": 3, "label": "Floods", "size": 9, "contributors": 3, "primary_driver": "shocks"},  # a small cell
    {"id": 4, "label": "Unmapped", "size": 6, "contributors": 6, "primary_driver": None},
]


def image(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    return imread(io.BytesIO(png), format="png")


def texts_of(monkeypatch, draw) -> list[str]:
    """Every text a chart function writes onto its axes (annotations, ticks, legend, title)."""
    seen: list[str] = []
    original = charts._png

    def capture(figure):
        for axes in figure.axes:
            seen.extend(t.get_text() for t in axes.texts)
            seen.extend(t.get_text() for t in axes.get_xticklabels() + axes.get_yticklabels())
            legend = axes.get_legend()
            if legend is not None:
                seen.extend(t.get_text() for t in legend.get_texts())
            seen.append(axes.get_title(loc="left"))
        return original(figure)

    monkeypatch.setattr(charts, "_png", capture)
    draw()
    return seen


def annotations_of(monkeypatch, draw) -> list[str]:
    """The numbers a chart writes on its bars (its annotations only)."""
    seen: list[str] = []
    original = charts._png

    def capture(figure):
        seen.extend(t.get_text() for axes in figure.axes for t in axes.texts)
        return original(figure)

    monkeypatch.setattr(charts, "_png", capture)
    draw()
    return seen


def test_themes_by_size_is_a_png_of_sensible_size():
    pixels = image(charts.themes_by_size(THEMES))
    height, width = pixels.shape[:2]
    assert 600 <= width <= 1400 and 200 <= height <= 1400


def test_same_data_same_bytes():
    assert charts.themes_by_size(THEMES) == charts.themes_by_size(THEMES)
    counts = {"NP": {"geography": 12, "shocks": 7}, "KE": {"governance": 9}}
    assert charts.drivers_by_country(counts) == charts.drivers_by_country(counts)


def test_themes_legend_names_drivers_and_small_cell_is_not_exact(monkeypatch):
    seen = texts_of(monkeypatch, lambda: charts.themes_by_size(THEMES))
    assert "40" in seen and "22" in seen
    assert "<5" in seen and "9" not in seen and "3" not in seen  # theme 3 rests on 3 people
    assert {"Geography", "Governance", "No driver"} <= set(seen)
    assert any(s.startswith("fewer than 5 people") for s in seen)


def test_long_labels_are_shortened(monkeypatch):
    rows = [{"id": 7, "label": "word " * 40, "size": 30, "contributors": 30, "primary_driver": "discrimination"}]
    seen = texts_of(monkeypatch, lambda: charts.themes_by_size(rows))
    label = next(s for s in seen if s.startswith("#7"))
    assert len(label) <= charts.LABEL_CHARS and label.endswith("…")


def test_drivers_by_country_hides_small_cells_and_their_complements(monkeypatch):
    counts = {"KE": {"geography": 10, "shocks": 2}, "NP": {"geography": 7, "shocks": 8}, "BD": {"geography": 6, "shocks": 9}}
    png = charts.drivers_by_country(counts)
    assert image(png).shape[0] > 100
    seen = texts_of(monkeypatch, lambda: charts.drivers_by_country(counts))
    assert {"NP", "KE", "Geography", "Shocks and fragility"} <= set(seen)
    bars = annotations_of(monkeypatch, lambda: charts.drivers_by_country(counts))
    assert sorted(bars) == sorted(["6", "9", "<5", "≥5", "≥5", "≥5"])  # KE's 2, and a cycle of cells that would give it away


def test_a_drivers_chart_that_cannot_hide_its_small_cells_is_not_drawn(monkeypatch):
    # Once encoded a disclosure: "NP geography 12, shocks <5" with NP's total (15) and geography's (12, NP only)
    # shown elsewhere gives shocks = 3.
    counts = {"NP": {"geography": 12, "shocks": 3}, "KE": {"discrimination": 20, "governance": 7}}
    seen = texts_of(monkeypatch, lambda: charts.drivers_by_country(counts))
    assert not {"12", "3", "20", "7", "<5"} & set(seen)
    assert any(s.startswith("withheld") for s in seen)


def test_drivers_by_country_small_cells_by_contributors(monkeypatch):
    counts = {"NP": {"geography": 12}}
    seen = texts_of(monkeypatch, lambda: charts.drivers_by_country(counts, contributors={"NP": {"geography": 2}}))
    assert "<5" in seen and "12" not in seen


def test_theme_by_month_fills_gaps_and_hides_small_months(monkeypatch):
    by_month = {"2026-01": 3, "2026-04": 12, "2026-05": 7}
    image(charts.theme_by_month(by_month))
    seen = texts_of(monkeypatch, lambda: charts.theme_by_month(by_month))
    assert {"2026-01", "2026-02", "2026-03", "2026-04", "2026-05"} <= set(seen)
    assert "<5" in seen and "12" in seen and "3" not in seen
    assert "≥5" in seen and "7" not in seen  # once shown: 7 and the total (22) gave January's 3


def test_configurable_threshold(monkeypatch):
    seen = texts_of(monkeypatch, lambda: charts.theme_by_month({"2026-01": 7}, small_cell=10))
    assert "<10" in seen and "7" not in seen


@pytest.mark.parametrize("draw", [
    lambda: charts.themes_by_size([]),
    lambda: charts.drivers_by_country({}),
    lambda: charts.theme_by_month({}),
])
def test_empty_data_still_draws(draw):
    image(draw())


def test_driver_names_fall_back_to_the_key():
    assert charts.driver_name("socio_economic") == "Socio-economic status"
    assert charts.driver_name("not_a_driver") == "Not a driver"
    assert charts.driver_colour("geography") != charts.driver_colour("governance")


# -- legible on paper, in the report's language -----------------------------------------------


def figure_of(monkeypatch, draw):
    """The matplotlib figure a chart function draws (before it becomes PNG bytes)."""
    figures = []
    original = charts._png

    def capture(figure):
        figures.append(figure)
        return original(figure)

    monkeypatch.setattr(charts, "_png", capture)
    draw()
    return figures[0]


def heat_table():
    from analysis.counting import Count, protect_table

    counts = {"KE": {"geography": Count(20, 20), "governance": Count(9, 9), "shocks": Count(2, 2)},
              "NP": {"geography": Count(11, 11), "governance": Count(7, 7), "shocks": Count(6, 6)},
              "BD": {"geography": Count(8, 8), "governance": Count(12, 12)}}
    return protect_table(counts, 5, columns=["geography", "governance", "shocks"])


DRAWINGS = {
    "themes": lambda: charts.themes_by_size(THEMES),
    "drivers by country": lambda: charts.drivers_by_country({"NP": {"geography": 12, "shocks": 7}, "KE": {"governance": 9}}),
    "months": lambda: charts.theme_by_month({"2026-01": 12, "2026-04": 7}),
    "heatmap": lambda: charts.heatmap(heat_table(), ["KE", "NP", "BD"], ["geography", "governance", "shocks"]),
}


@pytest.mark.parametrize("name", DRAWINGS)
def test_every_chart_is_drawn_at_its_printed_width_with_text_of_8_points_or_more(monkeypatch, name):
    from matplotlib.text import Text

    figure = figure_of(monkeypatch, DRAWINGS[name])
    assert figure.get_figwidth() == pytest.approx(charts.PRINT_WIDTH_IN)  # printed at 100%: 160 mm on A4
    sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert sizes and min(sizes) >= charts.MIN_FONT


def test_the_heatmap_marks_hidden_cells_and_never_shows_their_numbers(monkeypatch):
    table = heat_table()
    labels = annotations_of(monkeypatch, lambda: charts.heatmap(table, ["KE", "NP", "BD"],
                                                                ["geography", "governance", "shocks"]))
    assert labels.count("<5") == 1 and "2" not in labels  # KE shocks rests on 2 people
    assert "0" in labels  # BD said nothing about shocks: a gap, shown as such
    assert sorted(labels) == sorted(cell.label for cell in table.cells.values())
    assert any(cell.label == "≥5" for cell in table.cells.values())  # its complement is hidden too
    seen = texts_of(monkeypatch, lambda: charts.heatmap(table, ["KE", "NP", "BD"], ["geography", "governance", "shocks"],
                                                        row_names={"KE": "Kenya"}, column_names={"shocks": "Chocs"}))
    assert {"Kenya", "NP", "Chocs"} <= set(seen) and any(s.startswith("fewer than 5 people") for s in seen)


def test_a_heatmap_that_cannot_hide_its_small_cells_is_not_drawn(monkeypatch):
    from analysis.counting import Count, protect_table

    table = protect_table({"NP": {"geography": Count(12, 12), "shocks": Count(3, 3)},
                           "KE": {"discrimination": Count(20, 20), "governance": Count(7, 7)}}, 5)
    assert table.withheld
    seen = texts_of(monkeypatch, lambda: charts.heatmap(table, ["NP", "KE"], ["geography", "shocks"]))
    assert not {"12", "3", "<5", "NP"} & set(seen) and any(s.startswith("withheld") for s in seen)


def test_drivers_by_size_puts_the_largest_first_and_hides_small_bars(monkeypatch):
    from analysis.counting import Count, protect

    shown = protect({"geography": Count(30, 30), "governance": Count(12, 12), "shocks": Count(3, 3),
                     "discrimination": Count(41, 41)}, 5)
    figure = figure_of(monkeypatch, lambda: charts.drivers_by_size(shown))
    axes = figure.axes[0]
    top_down = [label.get_text() for _, label in sorted(zip(axes.get_yticks(), axes.get_yticklabels()),
                                                        key=lambda pair: -pair[0])]
    assert top_down[:2] == ["Discrimination", "Geography"] and top_down[-1] == "Shocks and fragility"
    bars = annotations_of(monkeypatch, lambda: charts.drivers_by_size(shown))
    assert "3" not in bars and "<5" in bars and "41" in bars


def test_a_chart_speaks_the_report_language(monkeypatch):
    texts = charts.ChartTexts(contributions="michango", hidden="chini ya watu {small}", no_data="hakuna data",
                              drivers={"geography": "Jiografia", "governance": "Utawala", "shocks": "Majanga"})
    seen = texts_of(monkeypatch, lambda: charts.drivers_by_country({"NP": {"geography": 12, "shocks": 2},
                                                                     "KE": {"geography": 9, "shocks": 8}}, texts=texts))
    assert {"Jiografia", "Majanga", "chini ya watu 5"} <= set(seen) and "Geography" not in seen
    assert "hakuna data" in texts_of(monkeypatch, lambda: charts.theme_by_month({}, texts=texts))


def test_drivers_by_country_lists_places_as_given_not_alphabetically(monkeypatch):
    counts = {"NP": {"geography": 20}, "KE": {"geography": 12}, "BD": {"geography": 9}}  # largest first
    figure = figure_of(monkeypatch, lambda: charts.drivers_by_country(counts))
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["NP", "KE", "BD"]
