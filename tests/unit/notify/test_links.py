"""Every e-mail's link leads to a page the gateway serves (a resident following it from
their mail must not land on a 404)."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from services.gateway.web import resident, waitlist
from services.notify.render import DEFAULT_LINK, LINKS, SUBJECTS


def web_pages() -> set[str]:
    paths: set[str] = set()
    for module in (resident, waitlist):
        for handler in module.ROUTES:
            if isinstance(handler, HTTPRouteHandler) and "GET" in (handler.http_methods or ()):
                paths.update(handler.paths)
    return paths


def test_every_mail_links_to_a_page_of_the_web_app() -> None:
    pages = web_pages()
    for kind in SUBJECTS:
        path, _ = LINKS.get(kind, DEFAULT_LINK)
        assert path in pages, (kind, path)
