"""A report's outline: the stable anchors of its sections, drivers and themes.

Anchors do not depend on the report's language or on labels staff may
change, so a link to ``#theme-12`` keeps working from one edition of a
report to the next (HTML ids, DOCX bookmarks; Markdown links go to the
anchors GitHub-style renderers make of the headings, ``analysis.reports.documents``).
"""

from __future__ import annotations

FINDINGS = "key-findings"
PROPOSALS = "proposals"
SUMMARY = "summary"
CHARTS = "charts"
GAPS = "gaps"
GAP_PLACES = "gaps-places"
GAP_GROUPS = "gaps-groups"
LARGEST_GAPS = "largest-gaps"
OVERLAPS = "overlaps"
SINGLE_PARTNER = "single-partner"
ANNEX = "annex"
UNMAPPED = "unmapped"


def driver_anchor(key: str | None) -> str:
    """The section of a driver (``driver-geography``); themes mapped to none: ``driver-unmapped``."""
    return f"driver-{key or UNMAPPED}"


def theme_anchor(theme_id: int) -> str:
    """A theme's section under its driver (``theme-12``)."""
    return f"theme-{theme_id}"


def proposals_anchor(key: str | None) -> str:
    """The proposals of a driver (``proposals-geography``)."""
    return f"proposals-{key or UNMAPPED}"


def theme_proposals_anchor(theme_id: int) -> str:
    """A theme's proposals (``proposals-theme-12``)."""
    return f"proposals-theme-{theme_id}"
