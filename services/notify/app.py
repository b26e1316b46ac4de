"""Composition root of the notification service: settings -> pool -> NATS -> consumers and
the senders."""

from __future__ import annotations

from pathlib import Path

from services.notify import webhook_metrics
from services.notify.consumers import consumers
from services.notify.desk_contacts import DeskContacts
from services.notify.details import BookingDetails
from services.notify.handlers import operations
from services.notify.mailer import Mailer, SmtpConfig
from services.notify.order_mail import OrderMails
from services.notify.reminder_handlers import ReminderSettings
from services.notify.reminder_handlers import operations as reminder_operations
from services.notify.reminders import DEV_SMS, FINISHED_REMINDERS, Reminders
from services.notify.render import Writer
from services.notify.sender import EmailTransport, MessageSender
from services.notify.service import Notifications
from services.notify.settings import NotifySettings
from services.notify.sms.providers import provider_for
from services.notify.sms.sender import SmsTransport
from services.notify.texts import load
from services.notify.webhook_handlers import webhook_operations
from services.notify.webhook_sender import WebhookSender
from services.notify.webhooks import WEBHOOK_DELIVERIES, Webhooks, webhook_consumer
from shared.runtime import Infra, ServiceDefinition, run_until_signalled
from shared.settings import CommonSettings, from_env, gateway_url

NAME = "notify"
VERSION = "0.1.0"
MIGRATIONS = Path(__file__).parent / "migrations"


def smtp_config(settings: NotifySettings) -> SmtpConfig:
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_start_tls,
        use_tls=settings.smtp_use_tls,
        timeout_s=settings.smtp_timeout_s,
    )


def build(infra: Infra, settings: NotifySettings | None = None) -> ServiceDefinition:
    settings = settings or from_env(NotifySettings, prefix="NOTIFY_")
    settings.retry_delays()  # a wrong NOTIFY_RETRY_DELAYS_S stops the start, naming it
    writer, translations = Writer(gateway_url()), load()
    details = BookingDetails(infra.requester, settings.details_ttl_s)
    mails = EmailTransport(
        infra.pool,
        Mailer(smtp_config(settings), keep=settings.concurrency),
        writer,
        details,
        translations,
        settings,
        order_mails=OrderMails(writer, translations, infra.requester),
    )
    texts = SmsTransport(
        provider_for(settings, infra.pool), details, translations, settings.sms_sender
    )
    email = MessageSender(infra.pool, mails, settings)
    sms = MessageSender(infra.pool, texts, settings)
    reminders = Reminders(infra.pool, settings.reminder_hours, settings.reminder_interval_s)
    webhooks = Webhooks(infra.pool, allow_insecure=settings.webhook_insecure(infra.settings.env))
    desk = DeskContacts(infra.requester, infra.pool)  # cart asked before each batch's transaction
    return ServiceDefinition(
        name=NAME,
        version=VERSION,
        operations=operations(Notifications(infra.pool))
        + reminder_operations(ReminderSettings(infra.pool, details, settings.reminder_hours))
        + webhook_operations(webhooks),
        consumers=[*consumers(desk, desk.prepare), webhook_consumer()],
        background=[email.run, sms.run, reminders.run, WebhookSender(infra.pool, settings).run],
        retention=[FINISHED_REMINDERS, DEV_SMS, WEBHOOK_DELIVERIES],
        metrics=[webhook_metrics.collector(infra.pool)],
    )


def main() -> None:
    run_until_signalled(NAME, build, from_env(CommonSettings), migrations=MIGRATIONS)
