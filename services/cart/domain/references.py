"""Finnish reference numbers (viitenumero, 7-3-1 check digit) and RF creditor references."""

from __future__ import annotations

from shared.errors import ValidationFailed

_WEIGHTS = (7, 3, 1)


def finnish_check_digit(base: str) -> int:
    """Check digit of a viitenumero base: weights 7, 3, 1 from the right, to the next ten."""
    if not base.isdigit() or not 3 <= len(base) <= 19:
        raise ValidationFailed("a reference base is 3-19 digits", field="reference")
    total = sum(int(d) * _WEIGHTS[i % 3] for i, d in enumerate(reversed(base)))
    return (10 - total % 10) % 10


def finnish_reference(base: str) -> str:
    return f"{base}{finnish_check_digit(base)}"


def is_valid_finnish_reference(reference: str) -> bool:
    digits = reference.replace(" ", "")
    if not digits.isdigit() or not 4 <= len(digits) <= 20:
        return False
    return finnish_check_digit(digits[:-1]) == int(digits[-1])


def _numeric(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text))


def rf_reference(reference: str) -> str:
    """ISO 11649 creditor reference of `reference` (e.g. a viitenumero): RF + 2 check digits."""
    body = reference.replace(" ", "").upper().lstrip("0") or "0"
    check = 98 - _numeric(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def is_valid_rf_reference(reference: str) -> bool:
    text = reference.replace(" ", "").upper()
    if not text.startswith("RF") or len(text) < 5 or not text.isalnum():
        return False
    return _numeric(text[4:] + text[:4]) % 97 == 1


def order_number(year: int, sequence: int) -> str:
    """Human-readable order number, e.g. `2026-000123`."""
    return f"{year}-{sequence:06d}"


def reference_for_order(year: int, sequence: int) -> str:
    """The viitenumero of an order: year + sequence, with the check digit."""
    return finnish_reference(f"{year}{sequence:06d}")
