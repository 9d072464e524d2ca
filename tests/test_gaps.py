"""The /gaps computation: counts by country, region, driver and group, the small-cell rule, partner overlaps."""

from __future__ import annotations

from datetime import datetime, timezone

from analysis.gaps import GROUPS, Count, breakdowns, count_by, gaps_of
from corpus.store import TestimonyRecord

DRIVERS = ("discrimination", "geography", "governance", "socio_economic", "shocks")


def record(i: int, *, country="KE", region="Turkana", org="plan", groups=(), contributor=None, consent="quote"):
    return TestimonyRecord(
        id=f"t{i:04d}", kind="testimony", text=f"text {i}", language="en",
        created_at=datetime(2026, 1, 1 + i % 28, tzinfo=timezone.utc), country=country, region=region,
        organisation=org, consent_level=consent, self_drivers=(), contributor_id=i if contributor is None else contributor,
        age_band=None, gender=None, groups=tuple(groups), source="test", index_status="indexed", text_hash=str(i),
    )


def corpus():
    """KE: 12 people (plan and vso) about geography; NP: 3 people (plan only) about governance, one aggregate."""
    records = [record(i, org="plan" if i % 2 else "vso", groups=["disability"] if i < 6 else ["youth"]) for i in range(12)]
    records += [record(100 + i, country="NP", region="Karnali", org="plan", groups=["indigenous"],
                       consent="aggregate" if i == 0 else "quote") for i in range(3)]
    driver = {r.id: "geography" if r.country == "KE" else "governance" for r in records}
    theme = {r.id: 1 if r.country == "KE" else 2 for r in records}
    return records, driver, theme


def test_the_profile_groups_are_the_vocabulary():
    from bot.profile import GROUPS as PROFILE_GROUPS

    assert GROUPS == PROFILE_GROUPS


def test_a_count_under_five_contributors_is_shown_as_a_small_cell():
    assert Count(12, 12).shown() == "12"
    assert Count(9, 4).shown() == "<5"  # many contributions from few people is still a small cell
    assert Count(0, 0).shown() == "0"
    assert Count(3, 3).shown(small_cell=3) == "3" and Count(2, 2).shown(small_cell=3) == "<3"


def test_contributors_are_counted_once_per_cell():
    records = [record(i, contributor=1) for i in range(4)] + [record(9, contributor=2)]
    assert count_by(records, lambda r: r.country) == {"KE": Count(5, 2)}


def test_gaps_list_small_and_empty_groups_regions_and_drivers():
    records, driver, theme = corpus()
    gaps = gaps_of(records, driver, theme, {1: "distance", 2: "no voice"}, DRIVERS, small_cell=5)
    assert gaps.total == Count(15, 15)
    assert gaps.by_country == {"KE": Count(12, 12), "NP": Count(3, 3)}
    assert gaps.shown(gaps.by_country["NP"]) == "<5" and gaps.shown(gaps.by_country["KE"]) == "12"
    assert gaps.thin_countries == ["NP"] and gaps.thin_regions == ["NP/Karnali"]
    assert gaps.by_group["disability"] == Count(6, 6) and gaps.by_group["indigenous"] == Count(3, 3)
    assert gaps.thin_groups == ["indigenous"]
    assert set(gaps.absent_groups) == set(GROUPS) - {"disability", "youth", "indigenous"}
    assert gaps.by_driver["geography"] == Count(12, 12) and gaps.by_driver["shocks"] == Count()
    assert gaps.absent_drivers == ["discrimination", "socio_economic", "shocks"]
    assert ("NP", "geography") in gaps.empty_place_drivers and ("KE", "geography") not in gaps.empty_place_drivers


def test_overlaps_and_themes_only_one_partner_speaks_to():
    records, driver, theme = corpus()
    gaps = gaps_of(records, driver, theme, {1: "distance", 2: "no voice"}, DRIVERS)
    assert [(o.theme_id, sorted(o.organisations)) for o in gaps.overlaps] == [(1, ["plan", "vso"])]
    assert [(o.theme_id, list(o.organisations)) for o in gaps.single_partner] == [(2, ["plan"])]
    assert gaps.single_partner[0].organisations["plan"].shown() == "<5"


def test_within_a_country_places_are_regions():
    records, driver, theme = corpus()
    kenya = [r for r in records if r.country == "KE"]
    kenya.append(record(50, region="Kisumu", org="vso"))
    gaps = gaps_of(kenya, driver | {"t0050": "shocks"}, theme, {1: "distance"}, DRIVERS, country="KE")
    assert set(gaps.drivers_by_place) == {"Turkana", "Kisumu"}
    assert gaps.drivers_by_place["Kisumu"] == {"shocks": Count(1, 1)}


def test_breakdowns_of_a_theme():
    records, _, _ = corpus()
    cells = breakdowns(records)
    assert set(cells) == {"country", "organisation", "gender", "age_band", "group"}
    assert cells["gender"] == {"unknown": Count(15, 15)}
    assert cells["organisation"]["plan"] == Count(9, 9)
