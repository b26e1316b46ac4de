"""No network call while a database transaction of the cart is open: read from the source,
every awaited call inside an `async with ... .transaction()` block that goes to booking (NATS),
the library (HTTP) or the file store is refused. A reviewer's check, not a proof: a call made
through a helper function the block awaits is not followed."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.unit.cart.test_imports import CART, ROOT

# The cart's collaborators that leave the process, and the methods that call one of them.
COLLABORATORS = {"booking", "requester", "system", "files"}
CALLING = {"outstanding", "reprice_cart", "extend_holds", "shorten_holds", "reservation_for_cart"}


def dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return parts[::-1]


def opens_a_transaction(node: ast.AsyncWith) -> bool:
    return any(
        isinstance(item.context_expr, ast.Call)
        and dotted(item.context_expr.func)[-1:] == ["transaction"]
        for item in node.items
    )


def network_calls_in_transactions(package: Path = CART) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for block in ast.walk(tree):
            if not (isinstance(block, ast.AsyncWith) and opens_a_transaction(block)):
                continue
            for node in (n for stmt in block.body for n in ast.walk(stmt)):
                if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
                    name = dotted(node.value.func)
                    if COLLABORATORS & set(name[:-1]) or (name[-1:] and name[-1] in CALLING):
                        where = path.relative_to(package.parents[1])
                        found.append(f"{where}:{node.lineno} {'.'.join(name)}")
    return found


def test_the_cart_makes_no_network_call_inside_a_transaction() -> None:
    assert network_calls_in_transactions() == []


def test_a_call_to_booking_inside_a_transaction_is_found(tmp_path: Path) -> None:
    package = tmp_path / "services" / "cart"
    package.mkdir(parents=True)
    (package / "orders.py").write_text(
        "async def checkout(deps, conn):\n"
        "    async with deps.pool.acquire() as conn, conn.transaction():\n"
        "        await store.insert_order(conn)\n"
        "        await deps.requester.call('booking.v1.extend_holds')\n"
        "    await deps.requester.call('booking.v1.extend_holds')  # after: fine\n"
    )
    assert network_calls_in_transactions(package) == [
        "services/cart/orders.py:4 deps.requester.call"
    ]


def test_the_walk_reads_the_cart() -> None:
    assert (ROOT / "services" / "cart" / "orders" / "checkout.py").exists()
    assert len(list(CART.rglob("*.py"))) > 30
