"""`make bench-files`: a large GIS file through the gateway, both ways, with memory watched.

Starts an embedded PostgreSQL and NATS and the services as processes (as `make run` does, with
demo data; bench/bench_journey.py's `start`), then:

  upload    a GIS clerk POSTs a BENCH_FILES_MB (200) MB file to /api/v1/gis/files as a
            streamed body (chunked, 1 MB pieces); the gateway streams it into the NATS Object
            Store and cart registers the object's id, size and SHA-256
  buy       the clerk names it as the guide map's ready file; a resident buys the guide map
            (cart, checkout, the local provider's page) and waits for its download link
  download  the resident GETs the link; the gateway streams the file out of the store

and prints `name: value` lines: file_mb, upload_s, upload_mb_per_s, download_s,
download_mb_per_s, download_matches (the SHA-256 of what came back equals what was sent), and
for the gateway and cart (each process tree: granian's workers too) rss_before_mb (the largest
VmRSS of its processes before the upload), peak_rss_mb (the largest VmHWM, the kernel's
high-water mark, afterwards) and rss_growth_mb (peak minus before: an upper bound of what the
transfers cost; the file's size would show up here if it were held whole); the same for
nats-server (it keeps the file).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_journey  # noqa: E402
from bench.bench_journey import Suite, start, wait_healthy  # noqa: E402
from bench.common import descendants, run_suite  # noqa: E402

FILE_MB = int(os.environ.get("BENCH_FILES_MB", "200"))
# Every service /health waits for (notify too), started as bench_journey starts its own.
SERVICES = bench_journey.SERVICES
PIECE = 1024 * 1024
GUIDE_MAP = {
    "product_id": "guide-map",
    "format": "PDF",
    "licence_type": "CC BY 4.0",
    "purpose_of_use": "benchmark",
    "licence_accepted": True,
}


def status_kb(pid: int, field: str) -> int:
    """`VmRSS` / `VmHWM` of a process in kB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def largest_mb(root: int, field: str) -> float:
    return max((status_kb(pid, field) for pid in descendants([root])), default=0) / 1024


async def body(digest: Any) -> AsyncIterator[bytes]:
    block = os.urandom(PIECE)
    for n in range(FILE_MB):
        piece = n.to_bytes(8, "big") + block[8:]  # no two pieces alike
        digest.update(piece)
        yield piece


async def expect(response: aiohttp.ClientResponse, status: int) -> Any:
    if response.status != status:
        raise RuntimeError(
            f"{response.method} {response.url}: {response.status} {await response.text()}"
        )
    return await response.json()


async def upload(
    http: aiohttp.ClientSession, url: str, clerk: dict[str, str]
) -> tuple[dict, float, str]:
    digest = hashlib.sha256()
    headers = {
        **clerk,
        "Content-Type": "application/octet-stream",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    started = time.perf_counter()
    async with http.post(
        f"{url}/api/v1/gis/files",
        params={"file_name": "ortokuva_2027.tif"},
        data=body(digest),
        headers=headers,
    ) as response:
        file = await expect(response, 201)
    return file, time.perf_counter() - started, digest.hexdigest()


async def buy(
    http: aiohttp.ClientSession, url: str, clerk: dict[str, str], me: dict[str, str], file_id: str
) -> str:
    """The file as the guide map's ready file, bought and paid by a resident: its link."""
    async with http.get(f"{url}/api/v1/gis/products/records", headers=clerk) as response:
        records = await expect(response, 200)
    (guide,) = [p for p in records["products"] if p["id"] == "guide-map"]
    product = {k: v for k, v in guide.items() if k != "file"} | {"ready_file": file_id}
    posting = {**clerk, "Idempotency-Key": uuid.uuid4().hex}
    async with http.put(
        f"{url}/api/v1/gis/products", json={"product": product}, headers=posting
    ) as response:
        await expect(response, 200)
    async with http.post(f"{url}/api/v1/cart/gis-products", json=GUIDE_MAP, headers=me) as response:
        await expect(response, 201)
    async with http.post(
        f"{url}/api/v1/cart/checkout", headers={**me, "Idempotency-Key": uuid.uuid4().hex}
    ) as response:
        order = await expect(response, 201)
    async with http.post(
        f"{url}/api/v1/payments", json={"order_id": order["order_id"]}, headers=me
    ) as response:
        page = (await expect(response, 201))["redirect_url"]
    async with http.post(page, data={"decision": "pay"}, headers={**me, "Origin": url}) as response:
        if response.status != 200:
            raise RuntimeError(f"pay: {response.status}")
    for _ in range(600):
        async with http.get(f"{url}/api/v1/orders/{order['order_id']}", headers=me) as response:
            seen = await expect(response, 200)
        if seen["downloads"]:
            return str(seen["downloads"][0]["url"])
        await asyncio.sleep(0.1)
    raise RuntimeError(f"order {order['order_id']} got no download link ({seen['state']})")


async def download(http: aiohttp.ClientSession, link: str) -> tuple[int, float, str]:
    digest, size = hashlib.sha256(), 0
    started = time.perf_counter()
    async with http.get(link) as response:
        if response.status != 200:
            raise RuntimeError(f"download: {response.status} {await response.text()}")
        async for chunk in response.content.iter_chunked(PIECE):
            digest.update(chunk)
            size += len(chunk)
    return size, time.perf_counter() - started, digest.hexdigest()


async def bench(suite: Suite, nats_pid: int) -> None:
    timeout = aiohttp.ClientTimeout(total=1800)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        await wait_healthy(suite, http)
        clerk = {"Authorization": f"Bearer {suite.issuer.sign('clerk-gis')}"}
        me = {
            "Authorization": f"Bearer {suite.issuer.sign('resident-turku', sub='demo:bench-files')}"
        }
        await asyncio.sleep(2.0)  # start-up settled
        watched = {
            "gateway": suite.procs["gateway"].pid,
            "cart": suite.procs["cart"].pid,
            "nats": nats_pid,
        }
        before = {name: largest_mb(pid, "VmRSS") for name, pid in watched.items()}
        file, upload_s, sent = await upload(http, suite.url, clerk)
        print(f"file_mb: {file['size_bytes'] / PIECE:.0f}", flush=True)
        print(f"upload_s: {upload_s:.2f}", flush=True)
        print(f"upload_mb_per_s: {FILE_MB / upload_s:.1f}", flush=True)
        print(f"upload_sha256_matches: {file['sha256'] == sent}", flush=True)
        link = await buy(http, suite.url, clerk, me, file["file_id"])
        size, download_s, received = await download(http, link)
        print(f"download_s: {download_s:.2f}", flush=True)
        print(f"download_mb_per_s: {size / PIECE / download_s:.1f}", flush=True)
        print(f"download_matches: {size == file['size_bytes'] and received == sent}", flush=True)
        for name, pid in watched.items():
            peak = largest_mb(pid, "VmHWM")
            print(f"{name}_rss_before_mb: {before[name]:.0f}", flush=True)
            print(f"{name}_peak_rss_mb: {peak:.0f}", flush=True)
            print(f"{name}_rss_growth_mb: {peak - before[name]:.0f}", flush=True)


def main() -> None:
    run_suite(
        "tcs-files-",
        start,
        lambda suite, servers: asyncio.run(bench(suite, servers[1].process.pid)),
    )


if __name__ == "__main__":
    main()
