"""The acceptance sweep (issue 17): every resident and staff page of the web app, taken from
the gateway's route table, in fi / sv / en at 390 px and 1280 px.

On each: the page answers, `<html lang>` is right, nothing scrolls sideways at 390 px, and in fi
and sv no text is the English text of a translation key; axe-core is run once per page (fi, 390
px) and, with SCREENSHOTS=1, one screenshot per page x language x width is saved. All findings
are listed at once.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from services.booking import demo
from services.gateway.web import web_router
from services.gateway.web.i18n import LANGUAGES, t, text_keys
from tests.browser.conftest import axe_violations, screenshot, sign_in
from tests.e2e.conftest import Suite

WIDTHS = (390, 1280)
# Not pages: downloads, redirects, feeds, or a page reached only from a form with its own data.
NOT_PAGES = {
    "/lang/{code:str}",
    "/calendar/{token:str}",
    "/reservations/{reservation_id:str}/ics",
    "/staff/insights.csv",
    "/finance/settlement.csv",
    "/finance/reconciliation",  # a JSON download
    "/book",  # needs a held slot: covered by test_journey
    "/orders/{order_id:str}",  # needs a paid order: covered by test_journey
    "/reservations/{reservation_id:str}/cancel",  # needs a reservation: test_journey
    "/staff/reservations/{reservation_id:str}/cancel",
    "/staff/desk/receipts/{payment_id:str}",  # needs a desk payment: test_desk
    "/pay/link/{token:str}",  # needs a payment link: test_desk
    "/static/web/{file_path:path}",  # the pages' static files
    # need a webhook subscription (and a delivery): test_notify_pages
    "/staff/webhooks/{subscription_id:str}",
    "/staff/webhooks/{subscription_id:str}/deliveries/{delivery_id:str}/replay",
    "/staff/webhooks/{subscription_id:str}/stop",
    # need an organisation or an invoice: test_invoice_pages
    "/staff/organisations/{organisation_id:str}",
    "/finance/invoices/{invoice_id:str}",
    "/finance/invoices/{invoice_id:str}/credit",
    "/invoices/{invoice_id:uuid}",
}
PATH_VALUES = {"{resource_id:str}": str(demo.RESOURCE_SPORTS_HALL)}
# Who sees a page (the default: a resident for /..., the sports clerk for /staff...).
USER_FOR = {
    "/staff/library": "clerk-library",
    "/staff/gis": "clerk-gis",
    "/finance": "finance",
    "/finance/erp-preview": "finance",
    "/staff/audit": "admin",
    "/finance/invoices": "finance",
    "/finance/invoice-payments": "finance",
}


def web_pages() -> list[str]:
    """Every GET page of the web app's route table (the router the gateway mounts), path values
    filled in."""
    paths = {
        route.path
        for route in web_router().routes
        if isinstance(route, HTTPRoute) and "GET" in route.methods
    }
    pages = []
    for path in sorted(paths - NOT_PAGES):
        for placeholder, value in PATH_VALUES.items():
            path = path.replace(placeholder, value)
        assert "{" not in path, f"{path}: a new page with a path value, add it to PATH_VALUES"
        pages.append(path)
    return pages


def user_for(path: str) -> str:
    if path in USER_FOR:
        return USER_FOR[path]
    return "clerk-sports" if path.startswith("/staff") else "resident-turku"


def english_only() -> set[str]:
    """English texts that differ from both their Finnish and Swedish text (and are words)."""
    texts = [tuple(t(lang, key) for lang in LANGUAGES) for key in text_keys()]
    return {
        en
        for fi, sv, en in texts
        if en not in (fi, sv) and "{" not in en and len(en) >= 4 and re.search(r"[a-z]{3}", en)
    }


# The innermost elements that reach past the right edge (what makes a page scroll sideways).
TOO_WIDE = """() => [...document.body.querySelectorAll('*')]
    .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .filter(el => ![...el.children].some(
        c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 1))
    .slice(0, 4)
    .map(el => `${el.tagName.toLowerCase()}.${el.className} ${el.textContent.trim().slice(0, 25)}`)
"""

TEXTS = """() => {
    const out = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const el = walker.currentNode.parentElement;
        if (el && !['SCRIPT', 'STYLE'].includes(el.tagName) && !el.closest('[lang=en]'))
            out.push(walker.currentNode.textContent.trim());
    }
    for (const el of document.querySelectorAll('[aria-label],[placeholder],[title],[alt]'))
        for (const a of ['aria-label', 'placeholder', 'title', 'alt'])
            if (el.getAttribute(a)) out.push(el.getAttribute(a).trim());
    out.push(document.title.trim());
    return out;
}"""


async def page_problems(
    page: Any, where: str, lang: str, width: int, english: set[str], axe: bool = False
) -> list[str]:
    """What is wrong with the page as shown: its language, sideways scrolling (at any width:
    the audit trail's table widened the page at 1280 px), English left in a fi/sv page, and
    axe's findings (in fi at 390 px, or when `axe`)."""
    found: list[str] = []
    if await page.get_attribute("html", "lang") != lang:
        found.append(f"{where}: html lang is not {lang}")
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        wide = await page.evaluate(TOO_WIDE)
        found.append(f"{where}: {overflow} px too wide: {wide}")
    if lang != "en":
        left = sorted({s for s in await page.evaluate(TEXTS) if s in english})
        if left:
            found.append(f"{where}: untranslated {left}")
    if axe or (lang == "fi" and width == 390):
        violations = await axe_violations(page)
        if violations:
            found.append(f"{where}: axe {violations}")
    return found


def test_the_sweep_finds_every_page() -> None:
    pages = web_pages()
    assert "/staff/insights" in pages
    assert "/" in pages
    assert f"/staff/resources/{demo.RESOURCE_SPORTS_HALL}" in pages
    assert not any(p.endswith(".csv") for p in pages)


# every page x 3 languages x 2 widths: minutes on a loaded machine, more as pages are added
@pytest.mark.timeout(900)
async def test_every_page_in_every_language_and_width(browser: Any, web_suite: Suite) -> None:
    pages = web_pages()
    by_user: dict[str, list[str]] = {}
    for path in pages:
        by_user.setdefault(user_for(path), []).append(path)
    english = english_only()
    problems: list[str] = []
    for lang in LANGUAGES:
        for width in WIDTHS:
            context = await browser.new_context(
                base_url=web_suite.url,
                locale={"fi": "fi-FI", "sv": "sv-FI", "en": "en-GB"}[lang],
                bypass_csp=True,
                viewport={"width": width, "height": 900},
            )
            context.set_default_timeout(10_000)
            page = await context.new_page()
            for user, paths in by_user.items():
                await sign_in(page, user)
                for path in paths:
                    where = f"{path} [{lang} {width}px {user}]"
                    response = await page.goto(path)
                    if response is None or response.status != 200:
                        problems.append(f"{where}: status {response and response.status}")
                        continue
                    problems += await page_problems(page, where, lang, width, english)
                    name = path.strip("/").replace("/", "-")[:40] or "home"
                    await screenshot(page, f"sweep-{name}-{lang}-{width}")
            await context.close()
    assert problems == [], "\n".join(problems)
