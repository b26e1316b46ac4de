"""What the Koha stand-in declares of Koha's REST API, per version, and how it checks a
request against it the way Koha's OpenAPI layer does (400 `{errors: [...], status}`).

Written from each version's `api/v1/swagger` (see koha_swagger_facts.json, which a test holds
this table to): the stand-in must never take what that version's Koha refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

VERSIONS = ("22.11", "23.05", "23.11", "24.05", "24.11", "25.05")

# Field types as the facts file names them.
STRING, NUMBER, INTEGER_LIST, NULLABLE_STRING = "string", "number", "array<integer>", "string|null"
DATE = "string(date)"


@dataclass(frozen=True)
class Fields:
    """A body or form schema: required and allowed fields with their types."""

    required: frozenset[str]
    types: dict[str, str]
    additional_properties: bool = False

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(self.types)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # a template: /api/v1/patrons/{patron_id}/account
    success: int
    auth: bool = True
    permissions: dict[str, str] = field(default_factory=dict)  # flag -> "1" (all) or a sub
    body: Fields | None = None
    form: Fields | None = None
    query: frozenset[str] = frozenset()
    list: bool = False

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when `method path` is this route, else None."""
        if method != self.method:
            return None
        want, got = self.path.strip("/").split("/"), path.strip("/").split("/")
        if len(want) != len(got):
            return None
        params = {}
        for w, g in zip(want, got, strict=True):
            if w.startswith("{"):
                if not g.isdigit():  # patron_id is an integer in Koha's spec
                    return None
                params[w[1:-1]] = g
            elif w != g:
                return None
        return params


def routes(version: str) -> list[Route]:
    if version not in VERSIONS:
        raise ValueError(f"no Koha {version} stand-in")
    token = Route(
        "POST",
        "/api/v1/oauth/token",
        200,
        auth=False,
        form=Fields(
            frozenset({"grant_type"}),
            {"grant_type": STRING, "client_id": STRING, "client_secret": STRING},
            additional_properties=True,  # formData: parameters not named are not looked at
        ),
    )
    if version in ("22.11", "23.05"):
        validation = Route(
            "POST",
            "/api/v1/auth/password/validation",
            204,
            permissions={"borrowers": "1"},
            body=Fields(frozenset({"userid", "password"}), {"userid": STRING, "password": STRING}),
        )
    else:
        validation = Route(
            "POST",
            "/api/v1/auth/password/validation",
            201,
            permissions={"borrowers": "1" if version == "23.11" else "api_validate_password"},
            body=Fields(
                frozenset({"password"}),
                {"identifier": STRING, "userid": STRING, "password": STRING},
            ),
        )
    patrons = Route(
        "GET",
        "/api/v1/patrons",
        200,
        permissions={"borrowers": "1"},
        query=frozenset(
            {"cardnumber", "userid", "surname", "firstname", "library_id", "category_id"}
            | {"_match", "_order_by", "_page", "_per_page", "q"}
        ),
        list=True,
    )
    account = Route(
        "GET",
        "/api/v1/patrons/{patron_id}/account",
        200,
        permissions={"borrowers": "edit_borrowers", "updatecharges": "remaining_permissions"},
    )
    credits = Route(
        "POST",
        "/api/v1/patrons/{patron_id}/account/credits",
        201,
        permissions={"updatecharges": "remaining_permissions"},
        body=Fields(
            frozenset({"amount"}),
            {
                "credit_type": STRING,
                "amount": NUMBER,
                "library_id": NULLABLE_STRING,
                "account_lines_ids": INTEGER_LIST,
                "payment_type": STRING,
                "date": DATE,
                "description": STRING,
                "note": STRING,
            },
        ),
    )
    return [token, validation, patrons, account, credits]


def _type_ok(value: Any, kind: str) -> bool:
    if kind == STRING:
        return isinstance(value, str)
    if kind == DATE:
        return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
    if kind == NULLABLE_STRING:
        return value is None or isinstance(value, str)
    if kind == NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == INTEGER_LIST:
        return isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
    raise ValueError(kind)


def schema_errors(fields: Fields, given: Any, where: str) -> list[dict[str, str]]:
    """What Koha's OpenAPI validation would say of `given` (empty: it passes)."""
    if not isinstance(given, dict):
        return [{"message": "Expected object.", "path": f"/{where}"}]
    errors = []
    for name in sorted(fields.required - set(given)):
        errors.append({"message": "Missing property.", "path": f"/{where}/{name}"})
    unknown = sorted(set(given) - fields.allowed)
    if unknown and not fields.additional_properties:
        errors.append(
            {"message": f"Properties not allowed: {', '.join(unknown)}.", "path": f"/{where}"}
        )
    for name, value in given.items():
        kind = fields.types.get(name)
        if kind is not None and not _type_ok(value, kind):
            errors.append({"message": f"Expected {kind}.", "path": f"/{where}/{name}"})
    if "amount" in given and _type_ok(given["amount"], NUMBER) and given["amount"] < 0:
        errors.append({"message": "0 > minimum(0)", "path": f"/{where}/amount"})
    return errors


def query_errors(route: Route, query: dict[str, list[str]]) -> list[dict[str, str]]:
    errors = []
    for name in sorted(set(query) - route.query):  # stricter than Koha, which ignores them
        errors.append({"message": "Unknown query parameter.", "path": f"/{name}"})
    for name in ("_page", "_per_page"):
        if name in query and not query[name][0].lstrip("-").isdigit():
            errors.append({"message": "Expected integer.", "path": f"/{name}"})
    match = query.get("_match", ["contains"])[0]
    if match not in ("contains", "exact", "starts_with", "ends_with"):
        errors.append({"message": "Not in enum list.", "path": "/_match"})
    return errors


def permitted(route: Route, granted: set[str]) -> bool:
    """Koha's x-koha-authorization: each flag's whole module, or the named sub-permission."""
    return all(
        flag in granted or (sub != "1" and f"{flag}:{sub}" in granted)
        for flag, sub in route.permissions.items()
    )
