"""The GIS shop through the gateway with the real cart and payment services: a product's file
is named by the id its upload got, never by a path; buyers download it byte for byte from an
absolute link; the public catalogue shows no file reference; a made-to-order file delivered
by a clerk answers with the line (and replays it); a symlink planted in the store, or a secret
inside the storage directory, is never served."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.cart.app import build as build_cart
from services.cart.settings import CartSettings
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings, SettingsError
from tests.integration.gateway.conftest import GatewayClient, bearer
from tests.integration.gateway.services import cart_settings_storage, gateway_before_services

ATTACKS = ("/etc/hostname", "../dev-issuer-key.pem", "demo/../../../../etc/hostname")


@pytest.fixture
async def suite(
    hosted: Any, common_settings: CommonSettings, tmp_path: Path
) -> AsyncIterator[GatewayClient]:
    async with gateway_before_services(hosted, common_settings, tmp_path, booking=False) as client:
        yield client


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"k-{uuid.uuid4()}"}


async def record_of(client: GatewayClient, clerk: dict[str, str], product_id: str) -> dict:
    reply = await client.get("/api/v1/gis/products/records", headers=clerk)
    assert reply.status_code == 200, reply.text
    (found,) = [p for p in reply.json()["products"] if p["id"] == product_id]
    return found


async def buy(client: GatewayClient, me: dict[str, str], product: dict[str, Any]) -> dict:
    """Add, check out and pay on the local provider's page; the paid order."""
    added = await client.post("/api/v1/cart/gis-products", json=product, headers=me)
    assert added.status_code == 201, added.text
    order = (await client.post("/api/v1/cart/checkout", headers={**me, **key()})).json()
    started = await client.post(
        "/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    )
    assert started.status_code == 201, started.text
    payment_id = started.json()["payment_id"]
    paid = await client.post(f"/pay/local/{payment_id}", data={"decision": "pay"}, headers=me)
    assert paid.status_code == 200, paid.text
    for _ in range(100):
        seen = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()
        if seen["state"] in ("paid", "fulfilled"):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"order stayed {seen['state']}")


GUIDE_MAP = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "a walking route for a school class",
    "licence_accepted": True,
}
PLAN = GUIDE_MAP | {"product_id": "detailed-plan", "format": "DWG", "licence_type": "internal use"}


async def test_a_product_file_is_an_uploaded_id_and_downloads_byte_for_byte(
    suite, tmp_path: Path
) -> None:
    client = suite
    clerk = await bearer(client, "clerk-gis")
    product = {
        k: v for k, v in (await record_of(client, clerk, "guide-map")).items() if k != "file"
    }
    for attack in ATTACKS:
        refused = await client.put(
            "/api/v1/gis/products",
            json={"product": product | {"ready_file": attack}},
            headers={**clerk, **key()},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "product.ready_file", refused.text

    content = bytes(range(256)) * 8 + b"\x00end"  # binary, within the test's 4 kB body limit
    body = {"file_name": "opaskartta_2027.pdf", "content_b64": base64.b64encode(content).decode()}
    uploaded = await client.post("/api/v1/gis/files", json=body, headers={**clerk, **key()})
    assert uploaded.status_code == 201, uploaded.text
    file = uploaded.json()
    assert file["size_bytes"] == len(content)
    assert "/" not in file["file_id"]
    saved = await client.put(
        "/api/v1/gis/products",
        json={"product": product | {"ready_file": file["file_id"]}},
        headers={**clerk, **key()},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["file"]["file_name"] == "opaskartta_2027.pdf"

    catalogue = await client.get("/api/v1/gis/products")
    assert catalogue.status_code == 200
    assert all("ready_file" not in p and "file" not in p for p in catalogue.json()["products"])
    assert file["file_id"] not in catalogue.text
    assert str(tmp_path) not in catalogue.text

    me = await bearer(client, "resident-turku")
    order = await buy(client, me, GUIDE_MAP)
    (link,) = order["downloads"]
    assert link["url"] == f"http://testserver/api/v1/downloads/{link['token']}"  # absolute
    downloaded = await client.get(link["url"])
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == content
    assert downloaded.headers["content-length"] == str(len(content))
    assert "attachment" in downloaded.headers["content-disposition"]


async def test_a_symlink_planted_in_the_store_is_not_served(suite, tmp_path: Path) -> None:
    client = suite
    me = await bearer(client, "resident-turku")
    order = await buy(client, me, GUIDE_MAP)
    (link,) = order["downloads"]
    secret = tmp_path / "dev-issuer-key.pem"
    secret.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot for buyers\n")
    stored = [
        p for p in (Path(cart_settings_storage(tmp_path)) / "files").rglob("*") if p.is_file()
    ]
    for path in stored:  # every file of the store now points at the secret
        path.unlink()
        path.symlink_to(secret)
    refused = await client.get(link["url"])
    assert refused.status_code == 410, refused.text
    assert b"PRIVATE KEY" not in refused.content


async def test_a_clerk_delivers_a_made_to_order_file_and_the_reply_replays(suite) -> None:
    client = suite
    clerk = await bearer(client, "clerk-gis")
    me = await bearer(client, "resident-turku")
    order = await buy(client, me, PLAN)
    queue = (await client.get("/api/v1/gis/queue", headers=clerk)).json()["items"]
    (item,) = [i for i in queue if i["order_id"] == order["order_id"]]
    path = f"/api/v1/gis/queue/{item['line_id']}/file"
    body = {"file_name": "asemakaava_853.dwg", "content_b64": base64.b64encode(b"AC1032").decode()}
    first_key = key()
    delivered = await client.post(path, json=body, headers={**clerk, **first_key})
    assert delivered.status_code == 201, delivered.text  # 500 before: OrderView was declared
    assert delivered.json()["state"] == "fulfilled"
    assert delivered.json()["line"]["line_id"] == item["line_id"]
    again = await client.post(path, json=body, headers={**clerk, **first_key})
    assert again.status_code == 201, again.text
    assert again.json() == delivered.json()
    other = await client.post(path, json=body, headers={**clerk, **key()})
    assert other.status_code == 409, other.text  # delivered already
    seen = (await client.get(f"/api/v1/orders/{order['order_id']}", headers=me)).json()
    (link,) = seen["downloads"]
    assert (await client.get(link["url"])).content == b"AC1032"


def test_no_process_serves_files_from_a_directory_holding_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    storage = data / "gis"
    storage.mkdir(parents=True)
    production = CommonSettings(env="production", data_dir=str(data))
    gateway = GatewaySettings(oidc_issuer="https://login.turku.example", gis_storage_dir=str(data))
    with pytest.raises(SettingsError, match="holds the data directory"):
        create_app(production, gateway)
    creds = storage / "cart.creds"
    monkeypatch.setenv("NATS_CREDS", str(creds))
    gateway = GatewaySettings(
        oidc_issuer="https://login.turku.example", gis_storage_dir=str(storage)
    )
    with pytest.raises(SettingsError, match=r"cart\.creds lies inside the file storage"):
        create_app(production, gateway)
    # A Koha fully configured, else production refuses the settings before the storage.
    koha = {"koha_version": "23.11", "koha_library_id": "MAIN"}
    cart = CartSettings(
        library_adapter="koha", download_secret="s3cret", storage_dir=str(storage), **koha
    )
    infra = type("Infra", (), {"settings": production, "pool": None, "requester": None})()
    with pytest.raises(SettingsError, match=r"cart\.creds lies inside the file storage"):
        build_cart(infra, cart)  # type: ignore[arg-type]
    monkeypatch.delenv("NATS_CREDS")
    key_inside = CartSettings(
        library_adapter="koha", download_secret="s3cret", storage_dir=str(data), **koha
    )
    with pytest.raises(SettingsError, match=r"dev-issuer-key\.pem lies inside"):
        build_cart(infra, key_inside)  # type: ignore[arg-type]
