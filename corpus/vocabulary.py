"""The vocabularies of the evidence base: one place for the codes the corpus stores.

The contributor profile's codes (age bands, genders, groups, countries), what
a contribution is and under what consent, the staff roles and the formats
of exports and reports, the search modes and what quotes are balanced by. The bot offers them (their labels per language are
in ``analysis/texts.yaml``), the command line takes them as choices, imports and
the store validate against them, and analysis counts by them. This module
imports nothing of the project or beyond the standard library, so that any
layer (the CLI at start-up included) can use it for free.
"""

from enum import StrEnum


class Kind(StrEnum):
    """What a contribution is: an experience, or a proposal of what should be done."""

    testimony = "testimony"
    proposal = "proposal"


class ConsentLevel(StrEnum):
    """``quote``: may be quoted anonymously; ``aggregate``: counted, never quoted."""

    quote = "quote"
    aggregate = "aggregate"


class StaffRole(StrEnum):
    """What a member of staff may do; each role includes the rights of those before it."""

    writer = "writer"  # reads and exports
    analyst = "analyst"  # also curates and re-analyses
    admin = "admin"  # also manages staff and reads the audit


KINDS = tuple(kind.value for kind in Kind)
CONSENT_LEVELS = tuple(level.value for level in ConsentLevel)
STAFF_ROLES = tuple(role.value for role in StaffRole)  # lowest rights first
EXPORT_FORMATS = ("csv", "md", "docx")  # quotes of a theme or a search
REPORT_FORMATS = ("md", "html", "docx")  # a country or global report
SEARCH_MODES = ("hybrid", "semantic", "lexical")  # words and meaning, meaning alone, words alone
# what a theme's quotes may take turns by; "none" takes them in order of representativeness
BALANCE_FIELDS = ("country", "organisation", "gender", "age_band", "group", "language", "kind")
NO_BALANCE = "none"
BALANCE_CHOICES = (*BALANCE_FIELDS, NO_BALANCE)

AGE_BANDS = ("under_18", "18_24", "25_39", "40_59", "60_plus")
GENDERS = ("woman", "man", "non_binary", "other")
GROUPS = (
    "disability",
    "ethnic_or_religious_minority",
    "indigenous",
    "migrant",
    "refugee_or_displaced",
    "rural_or_remote",
    "older_person",
    "youth",
    "lgbtqi",
    "living_in_poverty",
    "other",
)

# ISO 3166-1 alpha-2: the officially assigned codes (249), so that "ZZ" or "UK" is refused.
ISO_COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
