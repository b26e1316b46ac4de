"""Payment providers by name: the built-ins and any package's `turku.payment_providers` entry
points (`name = "module:Class"`). A provider class has a `name`, its `capabilities`, its
`webhook_auth` (where its deliveries carry their signature: the gateway passes every delivery
on as it came, so a new provider needs no change there) and a `from_settings(settings, pool)`
constructor; `PAYMENT_PROVIDER` chooses one."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, cast

import asyncpg

from services.payment.providers.base import Capabilities, Provider, WebhookAuth
from services.payment.settings import PaymentSettings

GROUP = "turku.payment_providers"
# Also in pyproject.toml's entry points; listed here so that a stale installed metadata (an
# editable install made before a provider was added) still finds them.
BUILT_IN: dict[str, str] = {
    "local": "services.payment.providers.local:LocalProvider",
    "stripe": "services.payment.providers.stripe:StripeProvider",
    "paytrail": "services.payment.providers.paytrail:PaytrailProvider",
    "invoice": "services.payment.providers.invoice:InvoiceProvider",
    "desk": "services.payment.providers.desk:DeskProvider",
}
TEST_ONLY = frozenset({"local"})
# Providers every installation has beside the configured online one (issue 19), never the
# configured one: invoices (the city's own books) and the service desk (cash or terminal).
ALWAYS = ("invoice", "desk")


class ProviderClass(Protocol):
    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    webhook_auth: ClassVar[WebhookAuth]

    @classmethod
    def from_settings(cls, settings: PaymentSettings, pool: asyncpg.Pool) -> Provider: ...


def registered() -> dict[str, str]:
    """Provider name -> "module:Class", the built-ins first, then the entry points."""
    found = dict(BUILT_IN)
    for point in entry_points(group=GROUP):
        found[point.name] = point.value
    return found


def provider_class(name: str) -> ProviderClass:
    target = registered().get(name)
    if target is None:
        known = ", ".join(sorted(registered()))
        raise ValueError(f"payment provider {name!r} is not registered (known: {known})")
    module, _, attr = target.partition(":")
    cls: Any = getattr(importlib.import_module(module), attr)
    if (
        getattr(cls, "name", None) != name
        or not isinstance(getattr(cls, "capabilities", None), Capabilities)
        or not isinstance(getattr(cls, "webhook_auth", None), WebhookAuth)
    ):
        raise ValueError(f"{target} is not a payment provider named {name!r}")
    return cast(ProviderClass, cls)


def build_providers(
    settings: PaymentSettings, pool: asyncpg.Pool, *, production: bool
) -> dict[str, Provider]:
    """The configured provider, plus the local test provider outside production (its checkout
    page and the payments begun with it keep working when the configuration changes), plus
    the invoice."""
    if settings.provider in ALWAYS:
        raise ValueError(f"PAYMENT_PROVIDER={settings.provider} is not an online payment provider")
    names = [settings.provider]
    if not production and "local" not in names:
        names.append("local")
    names += [name for name in ALWAYS if name not in names]
    if settings.provider in ALWAYS:
        raise ValueError(f"PAYMENT_PROVIDER={settings.provider} takes no money online")
    if production and settings.provider in TEST_ONLY:
        raise ValueError(f"PAYMENT_PROVIDER={settings.provider} is a test provider")
    return {name: provider_class(name).from_settings(settings, pool) for name in names}
