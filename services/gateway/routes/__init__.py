"""HTTP routes of the gateway, one module per area; `api_routes()` is everything under
`/api/v1` (and the payment provider's pages)."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler


def api_routes(*, local_provider: bool = True) -> list[ControllerRouterHandler]:
    """`local_provider`: mount (and document) the local test provider's pages."""
    from services.gateway.routes import (
        audit,
        booking,
        cart,
        desk,
        insights,
        notify,
        payment,
        provider_callbacks,
        webhooks,
    )

    return [
        *booking.routes(),
        *cart.routes(),
        *payment.routes(local_provider=local_provider),
        *provider_callbacks.routes(),
        *insights.routes(),
        *audit.routes(),
        *notify.routes(),
        *desk.routes(),
        *webhooks.routes(),
    ]
