"""The offline theme explorer: what it holds (consent, hiding, small cells) and how it works in a real browser.

The browser tests open the file in Debian's headless chromium through
chromium-driver (installed by .ci/run), count the points, apply a filter and
click a point to read its quote.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.evidence import EvidenceBase
from analysis.explore import shown_themes
from analysis.reports.explorer import EXPLORER_KIND, explorer_data, write_explorer
from analysis.reports.plotlyjs import VERSION
from tests.support.browser import BrowserMissing, headless_chromium



@pytest.fixture
def evidence(demo_corpus_7th_aggregate, tmp_path) -> EvidenceBase:
    """A private copy of the analysed demo corpus, every 7th contributor on aggregate consent (tests write
    exports and hide quotes)."""
    return demo_corpus_7th_aggregate.copy(tmp_path / "data")


def quotable_ids(evidence: EvidenceBase) -> set[str]:
    hidden = evidence.stores.curation.hidden()
    return {r.id for r in evidence.store.records() if r.quotable and r.id not in hidden}


def test_only_quotable_redacted_unhidden_texts_are_in_it(evidence):
    records = evidence.store.records()
    hidden = next(r for r in records if r.quotable)
    evidence.stores.curation.hide(hidden.id, "names a neighbour")
    data, ids = explorer_data(evidence)
    assert set(ids) == quotable_ids(evidence)
    assert hidden.id not in ids
    assert any(not r.quotable for r in records)  # aggregate-consent texts exist and are left out
    texts = {r.id: r.text for r in records}
    assert data["points"]["text"] == [texts[i] for i in ids]  # the stored (redacted) text, nothing else
    assert len(data["points"]["x"]) == len(ids) and all(-1.0 <= v <= 1.0 for v in data["points"]["x"])


def test_theme_sizes_are_shown_as_every_other_view_shows_them(evidence):
    data, _ = explorer_data(evidence)
    shown = shown_themes(evidence)
    assert [(t["label"], t["size"], t["people"]) for t in data["themes"]] == [
        (t["label"], t["size"], t["contributors"]) for t in shown
    ]


def test_a_group_is_a_filter_only_when_enough_people_hold_it(evidence):
    quotable = [r for r in evidence.store.records() if r.quotable]
    for record in quotable[:2]:  # a group two people hold, and one that one person holds
        evidence.store.update_profile(record.contributor_id, groups=[*record.groups, "albinism"])
    evidence.store.update_profile(quotable[2].contributor_id, groups=["stateless"])
    data, ids = explorer_data(evidence)
    records = {r.id: r for r in evidence.store.records(ids)}
    people: dict[str, set] = {}
    for record in records.values():
        for group in record.groups:
            people.setdefault(group, set()).add(record.contributor_id)
    small = evidence.settings.small_cell
    assert data["groups"] == sorted(g for g, who in people.items() if len(who) >= small)
    assert "albinism" not in data["groups"] and "stateless" not in data["groups"]
    assert data["groups"]  # the demo's common groups are offered


def test_the_file_is_self_contained_registered_and_small(evidence):
    path, export = write_explorer(evidence)
    html = path.read_text(encoding="utf-8")
    assert export.kind == EXPLORER_KIND and set(export.testimony_ids) == quotable_ids(evidence)
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html)  # nothing fetched
    assert html.count("</script>") == 3  # plotly.js, the data, the page's code: nothing ends them early
    assert path.stat().st_size < 10_000_000
    # the small plotly.js bundle that make install fetched (tests/test_plotlyjs.py), and the registry says so
    assert f"plotly.js (basic - minified) v{VERSION}" in html and export.params == {"plotly_js": f"basic {VERSION}"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@pytest.fixture(scope="module")
def browser():
    try:
        with headless_chromium() as driver:
            yield driver
    except BrowserMissing as missing:
        pytest.fail(str(missing))


def open_explorer(browser, path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(path.as_uri())
    WebDriverWait(browser, 60).until(lambda d: d.execute_script("return window.explorerReady === true"))


def drawn_points(browser) -> int:
    return browser.execute_script("return document.getElementById('map').data.reduce((n, t) => n + t.x.length, 0)")


def test_in_a_browser_points_filters_and_a_click_on_a_point(evidence, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    path, _ = write_explorer(evidence)
    data, ids = explorer_data(evidence)
    open_explorer(browser, path)
    assert drawn_points(browser) == len(ids)
    assert browser.find_element(By.ID, "count").text == str(len(ids))

    countries = data["categories"]["country"]
    kenya = countries.index("KE")
    Select(browser.find_element(By.ID, "f-country")).select_by_visible_text("KE")
    expected = sum(1 for c in data["points"]["country"] if c == kenya)
    assert 0 < expected < len(ids)
    assert drawn_points(browser) == expected
    shown = browser.execute_script("return document.getElementById('map').data.flatMap(t => t.customdata)")
    assert {data["points"]["country"][i] for i in shown} == {kenya}

    point = browser.execute_script("""
        const map = document.getElementById('map'), trace = map.data[0], layout = map._fullLayout;
        const box = map.getBoundingClientRect();
        return [layout.xaxis.l2p(trace.x[0]) + layout.margin.l - box.width / 2,
                layout.yaxis.l2p(trace.y[0]) + layout.margin.t - box.height / 2, trace.customdata[0]];""")
    ActionChains(browser).move_to_element_with_offset(browser.find_element(By.ID, "map"), point[0], point[1]) \
        .click().perform()
    WebDriverWait(browser, 10).until(lambda d: d.find_element(By.ID, "quote").get_attribute("data-point"))
    clicked = int(browser.find_element(By.ID, "quote").get_attribute("data-point"))
    assert data["points"]["country"][clicked] == kenya
    quote = browser.find_element(By.ID, "quote").text
    assert data["points"]["text"][clicked] in quote and data["points"]["provenance"][clicked] in quote


def test_small_counts_are_shown_below_the_small_cell_size(evidence, browser):
    from collections import Counter

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    path, _ = write_explorer(evidence)
    data, _ = explorer_data(evidence)
    open_explorer(browser, path)
    points = data["points"]
    cells = Counter(zip(points["theme"], points["country"]))
    (theme, country), n = min(((key, n) for key, n in cells.items() if key[0] >= 0), key=lambda item: item[1])
    assert 0 < n < data["small_cell"]
    Select(browser.find_element(By.ID, "f-theme")).select_by_value(str(theme))
    Select(browser.find_element(By.ID, "f-country")).select_by_value(str(country))
    assert drawn_points(browser) == n
    assert browser.find_element(By.ID, "count").text == f"<{data['small_cell']}"


def test_an_erasure_or_a_consent_change_rebuilds_it_without_the_person(evidence):
    from analysis.erasure import erase, give_consent

    path, export = write_explorer(evidence)
    erased, withdrawn = export.testimony_ids[0], export.testimony_ids[1]
    withdrawn_by = evidence.store.records([withdrawn])[0].contributor_id
    erase(evidence, testimony_ids=[erased])
    assert not path.exists()
    rebuilt = [e for e in evidence.stores.exports.list() if e.kind == EXPLORER_KIND]
    assert len(rebuilt) == 1 and erased not in rebuilt[0].testimony_ids and withdrawn in rebuilt[0].testimony_ids
    page = evidence.stores.exports.absolute(rebuilt[0]).read_text(encoding="utf-8")
    assert erased[:8] not in page

    give_consent(evidence, withdrawn_by, "aggregate", "test-v2")
    now = [e for e in evidence.stores.exports.list() if e.kind == EXPLORER_KIND]
    assert len(now) == 1 and withdrawn not in now[0].testimony_ids
    assert set(now[0].testimony_ids) == quotable_ids(evidence)


def test_before_any_analysis_there_is_nothing_to_explore(migrated_settings):
    from corpus.errors import NotFound

    fresh = EvidenceBase(migrated_settings)
    with pytest.raises(NotFound, match="not been analysed"):
        write_explorer(fresh)
