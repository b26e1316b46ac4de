"""Writes `stripe_spec_facts.json` from Stripe's published OpenAPI document (stripe/openapi,
`openapi/spec3.json` or `.yaml`): the parameters, required fields and enum values of the
endpoints and objects the payment service uses, so that the stand-in can be compared with them
(tests/integration/payment/test_stripe_standin_spec.py) without the 4 MB document in the repo.

    python -m tests.standins.make_stripe_facts SPEC_FILE COMMIT
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FACTS = HERE / "stripe_spec_facts.json"

ENDPOINTS = [
    ("post", "/v1/checkout/sessions"),
    ("get", "/v1/checkout/sessions/{session}"),
    ("post", "/v1/checkout/sessions/{session}/expire"),
    ("get", "/v1/payment_intents/{intent}"),
    ("post", "/v1/refunds"),
    ("get", "/v1/refunds/{refund}"),
    ("get", "/v1/balance_transactions"),
    ("get", "/v1/payouts"),
]
OBJECTS = [
    "checkout.session",
    "payment_intent",
    "charge",
    "refund",
    "balance_transaction",
    "payout",
    "dispute",
    "event",
]
ENUMS = {
    "checkout.session": ["status", "payment_status", "mode"],
    "payment_intent": ["status"],
    "refund": ["reason"],
    "charge": ["status"],
    "balance_transaction": ["type"],
    "dispute": ["status", "reason"],
    "payout": ["status", "type"],
}


def _params(schema: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """A parameter tree: name -> {"required": bool, "enum"?: [...], "children"?: {...}}."""
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    out: dict[str, Any] = {}
    for name, prop in props.items():
        node: dict[str, Any] = {"required": name in required}
        if "anyOf" in prop:  # e.g. a string or "" to unset: the first object or array form
            prop = next((p for p in prop["anyOf"] if p.get("type") in ("object", "array")), prop)
        if prop.get("enum"):
            node["enum"] = sorted(prop["enum"])
        item = prop.get("items") if prop.get("type") == "array" else None
        if item and item.get("enum"):
            node["enum"] = sorted(item["enum"])
        inner = item if item else prop
        if depth < 4 and inner.get("properties"):
            node["children"] = _params(inner, depth + 1)
        for key in ("maxLength", "type"):
            if key in prop:
                node[key] = prop[key]
        out[name] = node
    return out


def _query_param(param: dict[str, Any]) -> dict[str, Any]:
    schema = param["schema"]
    forms = schema.get("anyOf", [schema])
    node: dict[str, Any] = {"required": bool(param.get("required"))}
    shape = next((f for f in forms if f.get("properties")), None)
    if shape is not None:
        node["children"] = _params(shape)
    if schema.get("enum"):
        node["enum"] = sorted(schema["enum"])
    return node


def facts(spec: dict[str, Any], commit: str) -> dict[str, Any]:
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    endpoints = {}
    for method, path in ENDPOINTS:
        op = paths[path][method]
        if method == "get":
            query = [p for p in op.get("parameters", []) if p["in"] == "query"]
            tree = {p["name"]: _query_param(p) for p in query}
        else:
            body = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
            tree = _params(body)
        endpoints[f"{method.upper()} {path}"] = tree
    objects = {}
    for name in OBJECTS:
        schema = schemas[name]
        props = schema["properties"]
        objects[name] = {
            "required": sorted(schema.get("required") or []),
            "properties": sorted(props),
            "enums": {
                k: sorted(props[k]["enum"]) for k in ENUMS.get(name, []) if "enum" in props[k]
            },
        }
    errors = schemas["api_errors"]
    limit = next(
        p for p in paths["/v1/balance_transactions"]["get"]["parameters"] if p["name"] == "limit"
    )
    session_post = paths["/v1/checkout/sessions"]["post"]["requestBody"]["content"]
    expires = session_post["application/x-www-form-urlencoded"]["schema"]["properties"][
        "expires_at"
    ]
    return {
        "source": {
            "repository": "stripe/openapi",
            "commit": commit,
            "api_version": spec["info"]["version"],
        },
        "endpoints": endpoints,
        "objects": objects,
        "error": {
            "properties": sorted(errors["properties"]),
            "types": sorted(errors["properties"]["type"]["enum"]),
            "required": sorted(errors.get("required") or []),
        },
        "list": {"limit_description": limit.get("description", "")},
        "checkout_session_expires_at": expires.get("description", ""),
        "refund_status_description": schemas["refund"]["properties"]["status"]["description"],
    }


def main() -> None:
    spec_file, commit = Path(sys.argv[1]), sys.argv[2]
    if spec_file.suffix in (".yaml", ".yml"):
        import yaml

        spec = yaml.load(
            spec_file.read_text(),
            Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),  # noqa: S506 - a safe loader
        )
    else:
        spec = json.loads(spec_file.read_text())
    FACTS.write_text(json.dumps(facts(spec, commit), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
