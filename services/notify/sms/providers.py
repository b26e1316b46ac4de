"""The SMS provider the settings ask for: the HTTP gateway when NOTIFY_SMS_URL is set, else
the development provider (kept in `dev_sms`, nothing leaves the machine)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import asyncpg

from services.notify.settings import NotifySettings
from services.notify.sms.base import SmsProvider
from services.notify.sms.http import HttpSmsGateway
from services.notify.sms.recording import RecordingSms
from shared.settings import SettingsError

log = logging.getLogger(__name__)


def provider_for(settings: NotifySettings, pool: asyncpg.Pool) -> SmsProvider:
    if not settings.sms_url:
        log.info("no NOTIFY_SMS_URL: SMS are kept in notify.dev_sms, not sent")
        return RecordingSms(pool)
    url = urlsplit(settings.sms_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise SettingsError("NOTIFY_SMS_URL: an http(s) URL of the SMS gateway")
    if url.username or url.password:
        raise SettingsError("NOTIFY_SMS_URL: credentials go in NOTIFY_SMS_USER/_PASSWORD/_TOKEN")
    if settings.sms_user and not settings.sms_password:
        raise SettingsError("NOTIFY_SMS_PASSWORD: needed with NOTIFY_SMS_USER")
    return HttpSmsGateway(
        settings.sms_url,
        user=settings.sms_user,
        password=settings.sms_password,
        token=settings.sms_token,
        timeout_s=settings.sms_timeout_s,
    )
