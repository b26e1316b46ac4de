"""Provider deliveries beyond the one signed POST per webhook, and the pages a resident comes
back to from a provider's hosted page with a signed address (Paytrail).

- `GET /api/v1/payments/callbacks/{provider}` and `.../{provider}/{topic}`: callbacks made as
  signed GET requests (Paytrail's payment and refund callbacks: `checkout-*` query parameters
  and `signature`); `POST .../{provider}/{topic}`: deliveries of another kind (Paytrail's
  reports). Signed POST webhooks keep their address, `/api/v1/payments/webhooks/{provider}`.
  Each is passed on to `payment.v1.webhook` as it came (raw body, headers without the
  caller's credentials, raw query, method, topic): the payment service's provider
  verifies it where it signs it, so adding a provider needs nothing here.
- `GET /pay/{provider}/{payment_id}/return`: the provider's redirect back (its signed query
  is the same news as its callback: applied once, whichever comes first), then the receipt,
  or a page to try again or cancel the order.
- `POST /pay/{provider}/{payment_id}/retry`: a new attempt for the same order.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, Router, get, post
from litestar.params import PathParameter, QueryParameter
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from services.gateway.auth import principal_of
from services.gateway.clients import Call
from services.gateway.errors import problem
from services.gateway.openapi import documented_errors
from services.gateway.routes.operation import call_opt
from services.gateway.routes.who import ANYONE, SIGNED_IN
from services.gateway.web.forms import no_longer_payable
from services.gateway.web.render import page
from shared.contracts import payment as contracts
from shared.errors import Conflict, ServiceError, ValidationFailed

WEBHOOK = Call("payment.v1.webhook", contracts.WebhookRequest, contracts.WebhookAck)
GET_PAYMENT = Call("payment.v1.get", contracts.GetPaymentRequest, contracts.PaymentView)
START = Call("payment.v1.start", contracts.StartPaymentRequest, contracts.PaymentView)

# The caller's credentials are never passed on to a provider's code.
NOT_PASSED_ON = frozenset({"authorization", "cookie", "x-api-key", "proxy-authorization"})
CALLBACK_DOC = (
    "Who may call: the payment provider (signed by it: the payment service verifies the "
    "signature where the provider puts it, here in the query). A forged signature is refused "
    "(400 naming it); every other delivery is acknowledged, also a repeated one."
)


async def deliver(
    request: Request[Any, Any, Any], provider: str, topic: str = ""
) -> contracts.WebhookAck:
    """Pass a provider's delivery on as it came; a bad signature is 400 naming it (as the
    provider's API names it), the one answer that is not 2xx for a well-formed delivery."""
    raw = await request.body() if request.method == "POST" else b""
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("the webhook body is not UTF-8", field="") from None
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in NOT_PASSED_ON}
    try:
        return await WEBHOOK(
            request,
            contracts.WebhookRequest(
                provider=provider,
                body=body,
                headers=headers,
                query=request.scope.get("query_string", b"").decode("latin-1"),
                method="POST" if request.method == "POST" else "GET",
                topic=topic,
            ),
        )
    except ServiceError as exc:
        if isinstance(exc, ValidationFailed) and exc.details.get("reason") == "invalid_signature":
            name = str(exc.details.get("signature_name") or "signature")
            raise problem(400, "invalid_signature", exc.message, field=name) from None
        if exc.field == "body":
            exc.details["field"] = ""
        raise


@get(
    ["/payments/callbacks/{provider:str}", "/payments/callbacks/{provider:str}/{topic:str}"],
    guards=ANYONE.guards(),
    summary="The payment provider's callback (signed GET)",
    description=CALLBACK_DOC,
    # Paytrail signs every `checkout-*` parameter and may add new ones: all are taken.
    opt={**call_opt(WEBHOOK, ANYONE), "query_prefixes": ("checkout-",)},
    **documented_errors(public=True, method="GET"),
)
async def callback(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    topic: Annotated[str, PathParameter()] = "",
    signature: Annotated[
        str | None,
        QueryParameter(
            description="The provider's signature of its `checkout-*` parameters (Paytrail)"
        ),
    ] = None,
) -> contracts.WebhookAck:
    return await deliver(request, provider, topic)


@post(
    "/payments/callbacks/{provider:str}/{topic:str}",
    guards=ANYONE.guards(),
    summary="The payment provider's delivery of another kind (e.g. a report)",
    description=CALLBACK_DOC.replace("here in the query", "a header or the query"),
    status_code=200,
    opt=call_opt(WEBHOOK, ANYONE),
    **documented_errors(public=True, method="POST"),
)
async def delivery(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    topic: Annotated[str, PathParameter()],
    id: Annotated[
        str | None,
        QueryParameter(description="Which delivery it is, as our callback address named it"),
    ] = None,
) -> contracts.WebhookAck:
    return await deliver(request, provider, topic)


def payment_left(
    request: Request[Any, Any, Any],
    provider: str,
    payment: contracts.PaymentView,
    resume_url: str = "",
) -> Response[str]:
    """A payment not completed at the provider: back to its page while it is open there
    (`resume_url`), again after a decline, or cancel the order; the receipt once paid. A
    payment cancelled or expired ended its order too: that is said, with the order to follow,
    and nothing to cancel."""
    return page(
        request,
        "payment_left.html",
        provider=provider,
        payment_id=payment.payment_id,
        order_id=payment.order_id,
        order_number=payment.order_number,
        state=payment.state,
        succeeded=payment.state == "succeeded",
        declined=payment.state == "failed" and payment.failure_reason == "declined",
        ended=payment.state in ("cancelled", "expired"),  # and with it the order
        resume_url=resume_url if payment.state == "pending" else "",
    )


async def _payment(request: Request[Any, Any, Any], payment_id: uuid.UUID) -> contracts.PaymentView:
    return await GET_PAYMENT(request, contracts.GetPaymentRequest(payment_id=payment_id))


@get(
    "/pay/{provider:str}/{payment_id:uuid}/return",
    guards=ANYONE.guards(),
    summary="Back from a provider's hosted page with its signed result (its redirect URL)",
    include_in_schema=False,
    opt=call_opt(WEBHOOK, ANYONE),
)
async def provider_return(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    payment_id: Annotated[uuid.UUID, PathParameter()],
) -> Response[str] | Redirect:
    """The signed result is applied first (also for a payer whose session has ended): it is
    the same news as the provider's callback, applied once. Then the receipt, or the choice
    to try again or cancel the order."""
    if request.scope.get("query_string"):
        try:
            await deliver(request, provider)
        except Conflict:
            pass  # e.g. another amount than asked: recorded for finance; the order shows it
        except ProblemDetailsException:  # a forged or altered return address
            return page(request, "error.html", status_code=400, code="invalid_return")
    here = f"/pay/{quote(provider)}/{payment_id}/return"
    if principal_of(request) is None:
        return Redirect(path=f"/sign-in?next={quote(here, safe='')}", status_code=303)
    payment = await _payment(request, payment_id)
    if payment.state in ("succeeded", "pending") or payment.provider != provider:
        return Redirect(path=f"/orders/{payment.order_id}", status_code=303)
    return payment_left(request, provider, payment)


@post(
    "/pay/{provider:str}/{payment_id:uuid}/retry",
    guards=SIGNED_IN.guards(),
    summary="Try paying an order again after a failed attempt",
    include_in_schema=False,
    status_code=303,
    opt=call_opt(START, SIGNED_IN),
)
async def retry(
    request: Request[Any, Any, Any],
    provider: Annotated[str, PathParameter()],
    payment_id: Annotated[uuid.UUID, PathParameter()],
) -> Redirect:
    failed = await _payment(request, payment_id)
    try:
        started = await START(
            request,
            contracts.StartPaymentRequest(
                order_id=failed.order_id, idempotency_key=f"retry-{payment_id}"
            ),
        )
    except ServiceError as exc:
        notice = no_longer_payable(exc)  # the order's page says why, not an error page
        if notice is None:
            raise
        return Redirect(path=f"/orders/{failed.order_id}?done={notice}", status_code=303)
    return Redirect(path=started.redirect_url or f"/orders/{failed.order_id}", status_code=303)


def routes() -> list[ControllerRouterHandler]:
    return [
        Router("/api/v1", route_handlers=[callback, delivery], tags=["payment"]),
        Router("/", route_handlers=[provider_return, retry]),
    ]
