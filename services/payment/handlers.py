"""`payment.v1.*` operations: decode -> use case -> reply."""

from __future__ import annotations

from typing import Any

from services.payment.anomalies import Anomalies
from services.payment.refunds import Refunds
from services.payment.reporting import Reporting
from services.payment.service import Payments
from shared.contracts.payment import (
    CancelPaymentRequest,
    ErpExportRequest,
    GetPaymentRequest,
    ListAnomaliesRequest,
    LocalDecideRequest,
    ReconcileRequest,
    RefundRequest,
    ResolveAnomalyRequest,
    SettlementRequest,
    StartPaymentRequest,
    WebhookRequest,
)
from shared.messaging import Operation


def operations(
    payments: Payments, refunds: Refunds, reporting: Reporting, anomalies: Anomalies
) -> list[Operation[Any]]:
    return [
        Operation("start", StartPaymentRequest, payments.start),
        Operation("get", GetPaymentRequest, payments.get, read_only=True),
        Operation("webhook", WebhookRequest, payments.webhook),
        Operation("local_decide", LocalDecideRequest, payments.local_decide),
        Operation("cancel", CancelPaymentRequest, payments.cancel),
        Operation("refund", RefundRequest, refunds.staff_refund),
        Operation("settlement", SettlementRequest, reporting.settlement),
        Operation("erp_export", ErpExportRequest, reporting.erp_export),
        Operation("reconcile", ReconcileRequest, reporting.reconcile),
        Operation("list_anomalies", ListAnomaliesRequest, anomalies.list_anomalies, read_only=True),
        Operation("resolve_anomaly", ResolveAnomalyRequest, anomalies.resolve),
    ]
