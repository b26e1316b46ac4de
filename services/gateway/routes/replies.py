"""Replies of routes in another form than the service's JSON: text documents (CSV, iCalendar)
and links made absolute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from litestar import Request, Response


class CsvReport(Protocol):
    """A reply carrying a CSV document."""

    @property
    def csv(self) -> str: ...


def text_media_type(media_type: str) -> str:
    """A text media type without its charset: Litestar adds `; charset=utf-8` to every
    `text/*` reply itself (given one, it answered `charset=utf-8; charset=utf-8`)."""
    return media_type.split(";", 1)[0].strip()


def csv_download(filename: str) -> Callable[[CsvReport, Request[Any, Any, Any]], Response[str]]:
    """Render a report's `csv` as a CSV file to save as `filename`."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}

    def render(reply: CsvReport, _: Request[Any, Any, Any]) -> Response[str]:
        return Response(reply.csv, media_type="text/csv", headers=headers)

    return render


def absolute_url(request: Request[Any, Any, Any], link: str | None) -> str | None:
    """A link the services give relative to the gateway (`/pay/local/...`) made absolute from
    PUBLIC_URL (or the gateway's own address): clients get URLs they can follow as such."""
    if not link or not link.startswith("/") or link.startswith("//"):
        return link
    base: str = request.app.state.gateway_settings.base_url
    return base + link
