"""Formats of the accounting dimensions (the city's ERP is SAP), one type per dimension.

Every request that writes a dimension (the merchant registry, accounting dimensions, GIS
products, booking resources) uses these types, so a value outside its format is refused where
it is written (400 at the gateway, `validation_failed` at the service) and the OpenAPI document
shows the pattern. They also keep formula text and line breaks out of finance's CSV files.

Python's `$` also matches before a final newline; the patterns end with a lookahead that
nothing follows instead (valid in JSON Schema's ECMA-262 dialect too).
"""

from __future__ import annotations

from typing import Annotated

import msgspec


def _whole(body: str) -> str:
    """A pattern the whole value must match (no trailing newline either)."""
    return rf"^(?:{body})(?![\s\S])"


_CENTRE = r"[0-9A-Za-z][0-9A-Za-z_-]{0,19}"

# SAP company code (BUKRS): 4 letters or digits, e.g. "0853".
CompanyCode = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"[0-9A-Z]{4}"),
        max_length=4,
        description="SAP company code: 4 capital letters or digits (e.g. 0853)",
    ),
]
# SAP sales organisation (VKORG): 4 letters or digits, or none.
SalesOrganisation = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"(?:[0-9A-Z]{4})?"),
        max_length=4,
        description="SAP sales organisation: 4 capital letters or digits, or empty",
    ),
]
# SAP G/L account (SAKNR): up to 10 digits.
GlAccount = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"[0-9]{1,10}"),
        max_length=10,
        description="G/L account: 1-10 digits (e.g. 320010)",
    ),
]
# SAP profit centre (PRCTR): up to 10 capital letters, digits, - and _.
ProfitCentre = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"[0-9A-Z][0-9A-Z_-]{0,9}"),
        max_length=10,
        description=(
            "Profit centre: 1-10 capital letters, digits, - and _ starting with a letter or "
            "digit (e.g. 1110)"
        ),
    ),
]
# Internal order (AUFNR, 12) or project / WBS element (POSID, 24), or none.
InternalOrder = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"(?:[0-9A-Z][0-9A-Z._/-]{0,23})?"),
        max_length=24,
        description=(
            "Internal order or project (WBS element): up to 24 capital letters, digits and "
            ". _ / - (starting with a letter or digit), or empty"
        ),
    ),
]
# SAP tax code (MWSKZ) as the city's ERP names them: e.g. V255, V135, V0.
SapVatCode = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"[0-9A-Z]{1,4}"),
        max_length=4,
        description="ERP VAT (tax) code: 1-4 capital letters or digits (e.g. V255)",
    ),
]
# The city's cost centres: e.g. LIIK-2110, KM-AINEISTOT, library.
CostCentre = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(_CENTRE),
        max_length=20,
        description=(
            "Cost centre: 1-20 letters, digits, - and _ starting with a letter or digit "
            "(e.g. LIIK-2110)"
        ),
    ),
]
# A cost centre, or `*` for every cost centre of the merchant (registry and accounting).
CostCentreOrAny = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(rf"\*|{_CENTRE}"),
        max_length=20,
        description="A cost centre (see CostCentre), or * for any",
    ),
]
# A resource's cost centre; empty: its merchant's default (`*`) dimensions apply.
OptionalCostCentre = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(rf"(?:{_CENTRE})?"),
        max_length=20,
        description="A cost centre (see CostCentre), or empty for the merchant's default",
    ),
]
# A merchant (department) of the cart's registry: e.g. sports, library, gis.
MerchantId = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"[a-z][a-z0-9_]{0,31}"),
        max_length=32,
        description="Merchant id: 1-32 small letters, digits and _ starting with a letter",
    ),
]
# The code of a VAT rate in the cart's registry (general, reduced_13_5, reduced_10, zero).
VatRateCode = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"[a-z0-9_]{1,32}"),
        max_length=32,
        description="VAT rate code: 1-32 small letters, digits and _ (e.g. reduced_13_5)",
    ),
]
OptionalVatRateCode = Annotated[
    str,
    msgspec.Meta(
        pattern=_whole(r"[a-z0-9_]{0,32}"),
        max_length=32,
        description="VAT rate code (see VatRateCode), or empty",
    ),
]
