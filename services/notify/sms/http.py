"""A JSON-over-HTTP SMS gateway (the shape most Finnish and international gateways accept):

    POST NOTIFY_SMS_URL
    Authorization: Bearer NOTIFY_SMS_TOKEN          (or Basic NOTIFY_SMS_USER:_PASSWORD)
    Idempotency-Key: <message id>
    Content-Type: application/json
    {"to": "+358401234567", "from": "Turku", "text": "...", "reference": "<message id>"}

2xx: accepted. 4xx: refused for good (except 408 and 429); 5xx, a timeout or no connection:
tried again with the e-mail back-off. Neither the number nor the text is ever logged or kept
in an error: only the status."""

from __future__ import annotations

import httpx

from services.notify.mailer import SendResult
from services.notify.sms.base import Sms, http_outcome


class HttpSmsGateway:
    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = httpx.BasicAuth(user, password or "") if user and not token else None
        self.client = httpx.AsyncClient(
            headers=headers, auth=auth, timeout=timeout_s, follow_redirects=False
        )

    async def send(self, sms: Sms) -> SendResult:
        body = {
            "to": sms.to,
            "from": sms.sender,
            "text": sms.body,
            "reference": str(sms.message_id),
        }
        try:
            reply = await self.client.post(
                self.url, json=body, headers={"Idempotency-Key": str(sms.message_id)}
            )
        except httpx.TimeoutException:
            return SendResult("transient", None, "timeout")
        except httpx.HTTPError as exc:  # no connection, reset, bad URL scheme
            return SendResult("transient", None, type(exc).__name__)
        return http_outcome(reply.status_code)

    async def close(self) -> None:
        await self.client.aclose()
