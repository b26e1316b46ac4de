"""The hash chain: every change, removal or reordering of an entry is found."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.audit.domain.chain import GENESIS, entry_hash, verify
from services.audit.domain.pseudonyms import key_ref, pseudonym


def chain(n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    previous = GENESIS
    for seq in range(1, n + 1):
        row: dict[str, Any] = {
            "seq": seq,
            "entry_id": uuid.uuid4(),
            "recorded_at": datetime(2026, 12, 5, 12, 0, seq, 123456, tzinfo=UTC),
            "service": "booking",
            "action": "booking.v1.set_prices",
            "kind": "change",
            "outcome": "ok",
            "actor": "staff-sports",
            "actor_kind": "user",
            "actor_roles": ["staff"],
            "object_type": "resource",
            "object_id": "r1",
            "person": None,
            "request_id": f"req{seq}",
            "client_address": "10.0.0.1",
            "before": None,
            "after": {"done": True},
            "changes": {"rules": [{"amount_cents": 100 * seq}]},
            "prev_hash": previous,
        }
        row["hash"] = entry_hash(previous, row)
        previous = row["hash"]
        rows.append(row)
    return rows


def test_an_untouched_chain_verifies() -> None:
    check = verify(chain(5))
    assert (check.ok, check.checked, check.last_seq) == (True, 5, 5)


def test_a_changed_field_breaks_the_chain_at_that_entry() -> None:
    for field, value in (
        ("actor", "someone"),
        ("changes", {"rules": []}),
        ("recorded_at", datetime(2026, 1, 1, tzinfo=UTC)),
        ("client_address", None),
    ):
        rows = chain(5)
        rows[2][field] = value
        check = verify(rows)
        assert (check.ok, check.first_bad_seq) == (False, 3), field


def test_a_removed_or_reordered_entry_breaks_the_chain() -> None:
    rows = chain(5)
    del rows[1]
    assert verify(rows).first_bad_seq == 3
    rows = chain(5)
    rows[1], rows[2] = rows[2], rows[1]
    assert not verify(rows).ok


def test_a_rehashed_entry_no_longer_fits_the_next_one() -> None:
    rows = chain(4)
    rows[1]["actor"] = "someone"
    rows[1]["hash"] = entry_hash(rows[1]["prev_hash"], rows[1])  # forger recomputes its hash
    check = verify(rows)
    assert (check.ok, check.first_bad_seq) == (False, 3)
    assert check.problem == "does not follow the entry before it"


def test_pseudonyms_depend_on_the_persons_key_and_never_show_the_subject() -> None:
    one, other = b"k" * 32, b"q" * 32
    assert pseudonym(one, "resident-aino") == pseudonym(one, "resident-aino")
    assert pseudonym(one, "resident-aino") != pseudonym(other, "resident-aino")
    assert "aino" not in pseudonym(one, "resident-aino")
    assert key_ref(b"p" * 32, "resident-aino") != key_ref(b"x" * 32, "resident-aino")
