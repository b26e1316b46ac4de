"""Settings of the audit service (`AUDIT_*`)."""

from __future__ import annotations

import msgspec


class AuditSettings(msgspec.Struct, frozen=True, kw_only=True):
    # Residents' data (GDPR): a resident none of whose records in booking, cart or payment is
    # newer than this many days has their personal data erased (pseudonymised) by the
    # retention job. Accounting records stay (without the person) as the Accounting Act asks.
    retention_personal_days: int = 3 * 365
    # How often the retention job runs (0 = never), and how many residents one round erases.
    retention_interval_s: float = 3600.0
    retention_batch: int = 200
    # On the first start (no durable consumer yet): record the events the EVENTS stream still
    # holds (up to 30 days), or only those published from then on.
    follow_history: bool = True
