"""Composition root of the payment service: settings -> providers -> use cases -> wiring."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from services.payment import metrics
from services.payment.anomalies import Anomalies
from services.payment.consumers import consumers
from services.payment.handlers import VIEWS, operations
from services.payment.providers.local import LocalProvider
from services.payment.providers.registry import build_providers
from services.payment.refunds import Refunds
from services.payment.reporting import Reporting
from services.payment.service import Payments
from services.payment.settings import PaymentSettings
from shared.contracts.common import RequestContext
from shared.contracts.payment import WebhookRequest
from shared.errors import Unavailable
from shared.retention import Retention
from shared.runtime import Infra, ServiceDefinition, every, run_until_signalled
from shared.settings import CommonSettings, from_env

# The local provider's webhook deliveries, once delivered or given up (RETENTION_..._DAYS).
LOCAL_WEBHOOK_DELIVERIES = Retention(
    "local_webhook_deliveries",
    "local_webhook_deliveries",
    "finished_at",
    7.0,
    where="state <> 'pending'",
)

NAME = "payment"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def builder(settings: PaymentSettings) -> Callable[[Infra], ServiceDefinition]:
    def build(infra: Infra) -> ServiceDefinition:
        settings.check(infra.settings)
        providers = build_providers(settings, infra.pool, production=infra.settings.is_production)
        provider = providers[settings.provider]
        local = providers.get("local")
        refunds = Refunds(
            infra.pool, providers, unconfirmed_after_s=settings.refund_unconfirmed_after_s
        )
        payments = Payments(
            infra.pool,
            provider,
            providers,
            infra.requester,
            refunds,
            local_enabled="local" in providers,
            close_margin=timedelta(seconds=settings.close_margin_s),
            sweep_interval=timedelta(seconds=settings.sweep_interval_s),
            invoice_terms_days=settings.invoice_terms_days,
        )

        async def deliver(body: bytes, signature: str) -> None:
            req = WebhookRequest(provider="local", body=body.decode(), signature=signature)
            await payments.webhook(req, RequestContext())

        if isinstance(local, LocalProvider):
            local.deliver = deliver
        reporting = Reporting(infra.pool, provider, providers, infra.requester)
        anomalies = Anomalies(infra.pool)
        background = [
            every(settings.sweep_interval_s, payments.sweep_expired),
            every(settings.sweep_interval_s, refunds.retry_pending),
        ]
        if settings.season_invoice_interval_s > 0:
            background.append(
                every(
                    settings.season_invoice_interval_s,
                    payments.invoice_ended_months,
                    name="season month invoicing",
                    transient=(Unavailable,),  # booking or cart not answering for a while
                )
            )
        if isinstance(local, LocalProvider):  # webhooks not acknowledged yet, each after its pause
            background.append(
                every(
                    min(settings.local_webhook_backoff_s, settings.sweep_interval_s),
                    local.redeliver_due,
                    name="local webhook redelivery",
                )
            )
        definition = ServiceDefinition(
            name=NAME,
            version=VERSION,
            operations=operations(payments, refunds, reporting, anomalies),
            consumers=consumers(refunds),
            background=background,
            metrics=metrics.collectors(infra.pool),
            retention=[LOCAL_WEBHOOK_DELIVERIES],
            views=VIEWS,
        )
        definition.payments = payments  # type: ignore[attr-defined]  # for tests and tools
        definition.local = local  # type: ignore[attr-defined]
        return definition

    return build


def build(infra: Infra) -> ServiceDefinition:
    return builder(from_env(PaymentSettings, prefix="PAYMENT_"))(infra)


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
