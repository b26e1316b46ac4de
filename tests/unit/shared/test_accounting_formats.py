"""Accounting dimensions are refused on input when outside their format (pattern, length)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from shared.contracts import accounting
from shared.contracts.booking import ResourceUpsert
from shared.contracts.cart import (
    AccountingDimensions,
    AccountingEntry,
    GisProduct,
    Merchant,
    SetAccountingRequest,
    UpsertGisProductRequest,
    UpsertMerchantRequest,
)
from shared.errors import ValidationFailed
from shared.messaging import decode_request

FORGING = 'KM";=HYPERLINK("https://evil.example")\nFORGED;99.00'

# dimension type: (values the city uses, values refused)
FORMATS: dict[Any, tuple[list[str], list[str]]] = {
    accounting.CompanyCode: (["0853", "T100"], ["", "853", "08530", "0853\n", "=1+1", "08 3"]),
    accounting.SalesOrganisation: (["", "T853"], ["T85", "t853", "T853\n"]),
    accounting.GlAccount: (["320010", "1", "1234567890"], ["", "32001A", "12345678901", "1\n"]),
    accounting.ProfitCentre: (["1110", "PC-SPORT"], ["", "-1110", "=A1", "ABCDEFGHIJK", "1\n"]),
    accounting.InternalOrder: (
        ["", "IO-LIIK-2026", "IO-KIRJ-MAKSUT", "T-853.01.02"],
        ["-IO", "@IO", "io-liik", "IO\nFORGED", "A" * 25],
    ),
    accounting.SapVatCode: (["V255", "V0", "S3"], ["", "V2550", "v255", "+V0", "V0\r"]),
    accounting.CostCentre: (
        ["LIIK-2110", "KM-AINEISTOT", "library"],
        ["", "*", "-KM", "=1+2", "+KM", "@KM", "\tKM", "KM;X", "K M", FORGING, "K" * 21],
    ),
    accounting.CostCentreOrAny: (["*", "library", "LIIK-HALLIT"], ["", "**", "=1", "KM\n"]),
    accounting.OptionalCostCentre: (["", "LIIK-2150"], ["*", "-1", FORGING]),
    accounting.VatRateCode: (["general", "reduced_13_5", "zero"], ["", "General", "=1", "x\n"]),
    accounting.OptionalVatRateCode: (["", "zero"], ["Zero", "zero\n"]),
    accounting.MerchantId: (["sports", "gis", "library"], ["", "Gis", "=1", "gis\n", "1gis"]),
}


@pytest.mark.parametrize(
    ("kind", "value", "accepted"),
    [
        (kind, value, ok)
        for kind, (good, bad) in FORMATS.items()
        for ok, values in ((True, good), (False, bad))
        for value in values
    ],
)
def test_each_dimension_accepts_its_format_only(kind: Any, value: str, accepted: bool) -> None:
    if accepted:
        assert msgspec.convert(value, kind) == value
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(value, kind)


DIMENSIONS = {"company_code": "0853", "gl_account": "320010", "profit_centre": "1510"}


@pytest.mark.parametrize(
    ("request_type", "body", "field"),
    [
        (
            UpsertMerchantRequest,
            {"merchant": {"id": "gis", "name_fi": "K", "business_id": "1", "cost_centre": FORGING}},
            "merchant.cost_centre",
        ),
        (
            SetAccountingRequest,
            {
                "entry": {
                    "merchant_id": "gis",
                    "cost_centre": "KM",
                    "valid_from": "2026-01-01",
                    "dimensions": {**DIMENSIONS, "vat_code": "V255", "gl_account": "=1+1"},
                }
            },
            "entry.dimensions.gl_account",
        ),
        (
            UpsertGisProductRequest,
            {
                "product": {
                    "id": "p",
                    "name_fi": "P",
                    "formats": ["PDF"],
                    "licences": [],
                    "pricing": {"kind": "fixed"},
                    "cost_centre": "@KM",
                }
            },
            "product.cost_centre",
        ),
        (
            ResourceUpsert,
            {
                "unit_id": "6f1c2f8e-0d7a-4c57-9a57-2a8d2c0c4a11",
                "name": {"fi": "Sali"},
                "kind": "space",
                "cost_centre": "LIIK\r\n2110",
            },
            "cost_centre",
        ),
    ],
)
def test_a_request_writing_a_bad_dimension_is_refused_naming_it(
    request_type: type[Any], body: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_request(msgspec.json.encode(body), request_type)
    assert refused.value.field == field


def test_the_demo_dimensions_fit_their_formats() -> None:
    from services.cart import demo as cart_demo

    for merchant in cart_demo.MERCHANTS:
        msgspec.convert(msgspec.to_builtins(merchant), Merchant)
    for product in cart_demo.PRODUCTS:
        msgspec.convert(msgspec.to_builtins(product), GisProduct)
    for merchant_id, centre, product_id, gl, profit, order, vat in cart_demo.DIMENSIONS:
        entry = {
            "merchant_id": merchant_id,
            "cost_centre": centre,
            "product": product_id,
            "valid_from": "2026-01-01",
            "dimensions": {
                "company_code": "0853",
                "sales_organisation": "T853",
                "gl_account": gl,
                "profit_centre": profit,
                "internal_order": order,
                "vat_code": vat,
            },
        }
        msgspec.convert(entry, AccountingEntry)
    msgspec.convert({**DIMENSIONS, "vat_code": "V0"}, AccountingDimensions)
    from services.booking import demo as booking_demo

    for resource in booking_demo.RESOURCES:
        msgspec.convert(resource[12], accounting.OptionalCostCentre)
