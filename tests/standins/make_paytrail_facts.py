"""Writes `paytrail_spec_facts.json` from Paytrail's published API documentation (the public
repository paytrail/api-documentation: `docs/paytrail-api.yaml`, the OpenAPI document, and
`docs/README.md`, the reference it belongs to): the headers, parameters, required fields,
limits and enum values of the endpoints the payment service uses, the callback parameters and
statuses, and the test credentials, so that the stand-in can be compared with them
(tests/integration/payment/test_paytrail_standin_spec.py) without the documents in the repo.

    python -m tests.standins.make_paytrail_facts REPO_GIT_DIR COMMIT

Where the OpenAPI document and the reference disagree, both are kept and the stricter one is
what the stand-in must follow (e.g. `items` is required by the OpenAPI document, optional in
the reference). Facts read from the reference's prose are checked to be there, word for word.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
FACTS = HERE / "paytrail_spec_facts.json"

ENDPOINTS = [
    ("post", "/payments"),
    ("get", "/payments/{transactionId}"),
    ("post", "/payments/{transactionId}/refund"),
    ("get", "/settlements"),
    ("post", "/payments/report"),
    ("post", "/settlements/{settlementId}/payments/report"),
]
# Sentences of the reference the stand-in relies on (each must be found as written).
PROSE = {
    "test_merchant": "Merchant ID: `375917`",
    "test_secret": "Secret key: `SAIPPUAKAUPPIAS`",
    "content_type": "`application/json; charset=utf-8`",
    "signature_header": "The signature is transmitted in the `signature` HTTP header.",
    "signature_payload": "All `checkout-` headers in alphabetical order.",
    "body_or_empty": "HTTP body in exactly the same format as it will be sent, or empty string",
    "callbacks_signed": "Return and callback URL parameters are also signed",
    "callbacks_get": "The callback is called with `HTTP GET`",
    "callbacks_repeat": "The URLs may be called multiple times.",
    "filter_checkout": "filter parameters by name (include all that begin with `checkout-`)",
    "transaction_id_header": "The transaction id needs to be sent on checkout-transaction-id",
    "callback_urls_https": "These URLs must use HTTPS.",
    "redirect_max": "Maximum length of success and cancel url is 300 characters",
    "amount_matches_items": "Must match the total sum of items and must be more than zero.",
    "vat_one_decimal": "Values between 0 and 100 are allowed with one number in decimal part.",
    "nonce_unique": "Duplicate nonces may be rejected",
    "refund_async": "Refund operation is asynchronous.",
    "refund_pending": "Status `pending` indicates that the refund request has been received",
    "report_signed": "When validating report signature, body must be in raw body format",
    "settlements_max": "Maximum of 100 settlement IDs are returned",
    "refund_callbacks_get": "The callback is called with `HTTP GET` and with the same query",
}
# Response fields the reference documents beyond the OpenAPI document's schema.
REFERENCE_RESPONSE_FIELDS = {
    "POST /payments 201": ["reference", "customProviders"],
    "GET /settlements 200": ["settlementReference"],
}


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        target: Any = spec
        for part in path:
            target = target[part]
        node = target
    if "allOf" in node:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in node["allOf"]:
            part = _resolve(spec, part)
            merged["properties"].update(part.get("properties") or {})
            merged["required"] += list(part.get("required") or [])
        return merged
    return node


LIMITS = ("type", "format", "maxLength", "minimum", "maximum", "pattern", "enum")


def _tree(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """name -> {required, type, limits..., children | items}."""
    schema = _resolve(spec, schema)
    required = set(schema.get("required") or [])
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        prop = _resolve(spec, prop)
        node: dict[str, Any] = {"required": name in required}
        node.update({k: prop[k] for k in LIMITS if k in prop})
        if prop.get("type") == "array" and "items" in prop:
            item = _resolve(spec, prop["items"])
            if item.get("properties") and depth < 4:
                node["items"] = _tree(spec, item, depth + 1)
            else:
                node["item"] = {k: item[k] for k in LIMITS if k in item}
        elif prop.get("properties") and depth < 4:
            node["children"] = _tree(spec, prop, depth + 1)
        out[name] = node
    missing = sorted(required - set(out))
    if missing:
        out["__required_not_in_properties__"] = missing
    return out


def _endpoint(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    op = spec["paths"][path][method]
    params: dict[str, Any] = {"header": {}, "path": {}, "query": {}}
    for p in op.get("parameters") or []:
        schema = _resolve(spec, p.get("schema") or {})
        params[p["in"]][p["name"]] = {
            "required": bool(p.get("required")),
            **{k: schema[k] for k in LIMITS if k in schema},
        }
    body = None
    content = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
    if content:
        body = _tree(spec, content["schema"])
    responses: dict[str, Any] = {}
    for status, response in (op.get("responses") or {}).items():
        response = _resolve(spec, response)
        schema = ((response.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is None:
            responses[str(status)] = None
            continue
        schema = _resolve(spec, schema)
        if schema.get("type") == "array":
            responses[str(status)] = {"array_of": _tree(spec, schema["items"])}
        else:
            responses[str(status)] = _tree(spec, schema)
    callbacks = {}
    for name, callback in (op.get("callbacks") or {}).items():
        for _url, methods in callback.items():
            for cb_method, cb in methods.items():
                body_content = cb["requestBody"]["content"]
                schema = body_content.get("application/json", {}).get("schema")
                callbacks[name] = {
                    "method": cb_method.upper(),
                    "content_types": sorted(body_content),
                    "json": _tree(spec, schema) if schema else None,
                }
    return {
        "parameters": params,
        "body": body,
        "responses": responses,
        "callbacks": callbacks,
    }


def _table_fields(readme: str, heading: str) -> list[str]:
    """The first column of the first table after `heading` (backticks removed)."""
    start = readme.index(heading)
    fields = []
    in_table = False
    for line in readme[start:].splitlines()[1:]:
        if line.startswith("|"):
            cell = line.split("|")[1].strip()
            if set(cell) <= {"-", " "} or cell.lower() in ("field", "status", "id"):
                in_table = True
                continue
            fields.append(cell.strip("`"))
            in_table = True
        elif in_table:
            break
    return fields


def facts(yaml_text: str, readme: str, commit: str) -> dict[str, Any]:
    spec = yaml.safe_load(yaml_text)
    for key, sentence in PROSE.items():
        if sentence not in readme and sentence not in yaml_text:
            raise SystemExit(f"the documentation no longer says {key!r}: {sentence!r}")
    callback_params = _table_fields(readme, "The query string parameters are listed below.")
    statuses = _table_fields(readme, "The currently possible payment statuses are:")
    schemas = spec["components"]["schemas"]
    return {
        "source": {
            "repository": "paytrail/api-documentation",
            "commit": commit,
            "paths": ["docs/paytrail-api.yaml", "docs/README.md"],
            "openapi_version": spec["info"]["version"],
            "server": spec["servers"][0]["url"],
        },
        "prose": PROSE,
        "test_credentials": {"merchant": "375917", "secret": "SAIPPUAKAUPPIAS"},
        "algorithms": schemas["AddCardFormRequest"]["properties"]["checkout-algorithm"]["enum"],
        "endpoints": {
            f"{method.upper()} {path}": _endpoint(spec, method, path) for method, path in ENDPOINTS
        },
        "reference_response_fields": REFERENCE_RESPONSE_FIELDS,
        "callback_parameters": callback_params,
        "payment_statuses": [s.strip("`") for s in statuses],
        "refund_statuses": schemas["RefundResponse"]["properties"]["status"]["enum"],
        "error": _tree(spec, schemas["Error"]),
        "report_row": _tree(spec, schemas["PaymentReportCallbackJSON"]),
        "payment_method_groups": schemas["PaymentMethodGroupData"]["properties"]["id"]["enum"],
    }


def main(repo: str, commit: str) -> None:
    def show(path: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", repo, "show", f"{commit}:{path}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    found = facts(show("docs/paytrail-api.yaml"), show("docs/README.md"), commit)
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise SystemExit("give the full commit id")
    FACTS.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FACTS}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
