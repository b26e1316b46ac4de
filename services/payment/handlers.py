"""`payment.v1.*` operations: decode -> use case -> reply.

`CONTRACT` is what each operation takes and replies; `operations()` binds the use cases to it,
checking their annotations at start-up (shared/operations.py)."""

from __future__ import annotations

from typing import Any

from services.payment import personal_data
from services.payment.anomalies import Anomalies
from services.payment.desk import DeskPayments
from services.payment.refunds import Refunds
from services.payment.reporting import Reporting
from services.payment.service import Payments
from shared.contracts import audit as a
from shared.contracts import desk as d
from shared.contracts import invoicing as i
from shared.contracts import payment as c
from shared.contracts import season as s
from shared.messaging import Operation
from shared.operations import ServiceContract

CONTRACT = ServiceContract(
    "payment",
    {
        "start": (c.StartPaymentRequest, c.PaymentView),
        "get": (c.GetPaymentRequest, c.PaymentView),
        "webhook": (c.WebhookRequest, c.WebhookAck),
        "local_decide": (c.LocalDecideRequest, c.PaymentView),
        "cancel": (c.CancelPaymentRequest, c.PaymentView),
        "refund": (c.RefundRequest, c.RefundView),
        "settlement": (c.SettlementRequest, c.SettlementReport),
        "erp_export": (c.ErpExportRequest, c.ErpExport),
        "erp_preview": (c.ErpPreviewRequest, c.ErpPreview),
        "reconcile": (c.ReconcileRequest, c.ReconciliationReport),
        "list_anomalies": (c.ListAnomaliesRequest, c.AnomalyList),
        "resolve_anomaly": (c.ResolveAnomalyRequest, c.AnomalyView),
        # organisations as customers and their invoices (issue 19)
        "save_organisation": (i.SaveOrganisationRequest, i.OrganisationView),
        "list_organisations": (i.ListOrganisationsRequest, i.OrganisationList),
        "list_invoices": (i.ListInvoicesRequest, i.InvoiceList),
        "import_invoice_payments": (i.ImportInvoicePaymentsRequest, i.InvoicePaymentImport),
        "invoice_season_month": (s.InvoiceSeasonMonthRequest, i.InvoiceView),
        "get_organisation": (i.GetOrganisationRequest, i.OrganisationView),
        "get_invoice": (i.GetInvoiceRequest, i.InvoiceView),
        # the service desk (issue 19)
        "desk_pay": (d.DeskPayRequest, c.PaymentView),
        "desk_invoice": (d.DeskInvoiceRequest, i.InvoiceView),
        "desk_receipt": (d.DeskReceiptRequest, d.DeskReceipt),
        "create_payment_link": (d.PaymentLinkCreate, d.PaymentLink),
        "payment_link": (d.PaymentLinkRef, d.PaymentLinkView),
        "pay_by_link": (d.PaymentLinkRef, c.PaymentView),
        "pay_by_link_local": (d.PaymentLinkDecide, c.PaymentView),
        # residents' data rights (GDPR): internal, the audit service's only
        "personal_data": (a.PersonalDataRequest, a.PersonalData),
        "erase_personal_data": (a.ErasePersonalDataRequest, a.ErasedCounts),
        "stale_customers": (a.StalePersonalDataRequest, a.StaleCustomers),
    },
)

# Operations that change nothing: a database connection lost under one is tried once more.
READS = frozenset(
    {
        "get",
        "list_anomalies",
        "list_organisations",
        "list_invoices",
        "get_organisation",
        "get_invoice",
        "erp_preview",
        "desk_receipt",
        "payment_link",
    }
)
# Operations that only show data (the audit trail records a staff member's call as a view;
# reconcile may ask the provider for reports, but shows what it finds).
VIEWS = frozenset(
    {
        "settlement",
        "reconcile",
        "personal_data",
        "stale_customers",
        "list_organisations",
        "list_invoices",
        "get_organisation",
        "get_invoice",
    }
)


def operations(
    payments: Payments, refunds: Refunds, reporting: Reporting, anomalies: Anomalies
) -> list[Operation[Any]]:
    personal = personal_data.operations(payments.pool)
    desk = DeskPayments(payments)
    return CONTRACT.bind(
        {
            "start": payments.start,
            "get": payments.get,
            "webhook": payments.webhook,
            "local_decide": payments.local_decide,
            "cancel": payments.cancel,
            "refund": refunds.staff_refund,
            "settlement": reporting.settlement,
            "erp_export": reporting.erp_export,
            "erp_preview": reporting.erp_preview,
            "reconcile": reporting.reconcile,
            "list_anomalies": anomalies.list_anomalies,
            "resolve_anomaly": anomalies.resolve,
            "save_organisation": payments.invoicing.save_organisation,
            "list_organisations": payments.invoicing.list_organisations,
            "list_invoices": payments.invoicing.list_invoices,
            "import_invoice_payments": payments.invoicing.import_payments,
            "invoice_season_month": payments.invoice_season_month,
            "get_organisation": payments.invoicing.get_organisation,
            "get_invoice": payments.invoicing.get_invoice,
            "desk_pay": desk.pay,
            "desk_invoice": desk.invoice,
            "desk_receipt": desk.receipt,
            "create_payment_link": desk.create_link,
            "payment_link": desk.link,
            "pay_by_link": desk.pay_by_link,
            "pay_by_link_local": desk.pay_by_link_local,
            "personal_data": personal.personal_data,
            "erase_personal_data": personal.erase_personal_data,
            "stale_customers": personal.stale_customers,
        },
        reads=READS,
    )
