"""At 390 px the cart's table and a resource's price table (staff) are read without sideways
scrolling and without a word or a time broken inside ("Verollin en", "Pois ta", "Brutt o",
"00 :0 0"): the cart keeps its amount and Remove buttons whole, the price table becomes one
card per rule, as do staff's view of an order and the GIS catalogue; a card's labels are whole
words too. Checked in fi / sv / en at 390 and 1280 px (screenshots with SCREENSHOTS=1)."""

from __future__ import annotations

from typing import Any

from services.booking import demo
from services.gateway.web.audit import AuditPage, EntryRow
from tests.browser.conftest import ARTIFACTS, SCREENSHOTS, screenshot, sign_in
from tests.browser.matrix import CASES, context_for
from tests.browser.test_invoice_pages import GIS_PRODUCT, api
from tests.browser.test_journey import visit
from tests.browser.test_sweep import TOO_WIDE
from tests.e2e.conftest import Suite
from tests.unit.gateway.web_page import render

# Words (and times such as 00:00–24:00) inside `selector` that the browser laid out on more
# than one line: a word broken in the middle.
BROKEN_WORDS = """(selector) => {
    const broken = [];
    const clipped = (el) => {  // visually hidden (a stacked table's header row, a label)
        for (let e = el; e; e = e.parentElement) {
            if (getComputedStyle(e).clipPath !== 'none') return true;
        }
        return false;
    };
    for (const root of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        while (walker.nextNode()) {
            const node = walker.currentNode;
            const el = node.parentElement;
            // an id in <code> (a file's) is no word: it breaks anywhere rather than widen
            if (clipped(el) || el.closest('code') || !el.getClientRects().length) continue;
            for (const m of node.data.matchAll(/[^\\s\\u2013-]{2,}/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const tops = new Set([...range.getClientRects()]
                    .filter(r => r.width > 0).map(r => Math.round(r.top)));
                if (tops.size > 1) broken.push(m[0]);
            }
        }
    }
    // A card's labels (a stacked table's `td::before`, its data-label): laid out again in a
    // probe of the same width and font, each word whole and the label no taller than its
    // cell (a longer one runs into the next cell).
    for (const td of document.querySelectorAll(`${selector} td[data-label]`)) {
        const before = getComputedStyle(td, '::before');
        if (before.position !== 'absolute' || !td.getClientRects().length) continue;
        const probe = document.createElement('div');
        for (const p of ['width', 'fontFamily', 'fontSize', 'fontWeight', 'fontStyle',
                         'letterSpacing', 'lineHeight', 'overflowWrap', 'wordBreak', 'hyphens',
                         'whiteSpace']) {
            probe.style[p] = before[p];
        }
        Object.assign(probe.style, {position: 'absolute', left: '0', top: '0'});
        probe.textContent = td.dataset.label;
        document.body.append(probe);
        const text = probe.firstChild;
        for (const m of text.data.matchAll(/[^\\s\\u2013-]{2,}/g)) {
            const range = document.createRange();
            range.setStart(text, m.index);
            range.setEnd(text, m.index + m[0].length);
            const tops = new Set([...range.getClientRects()]
                .filter(r => r.width > 0).map(r => Math.round(r.top)));
            if (tops.size > 1) broken.push(`${m[0]} (a label)`);
        }
        const below = parseFloat(before.top) + probe.getBoundingClientRect().height;
        if (below > td.getBoundingClientRect().height + 1) {
            broken.push(`${td.dataset.label} (a label taller than its cell)`);
        }
        probe.remove();
    }
    return broken;
}"""


async def readable(page: Any, selector: str, width: int) -> list[str]:
    problems = [f"broken inside: {w}" for w in await page.evaluate(BROKEN_WORDS, selector)]
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    if overflow > 0:
        problems.append(f"{overflow} px too wide at {width}: {await page.evaluate(TOO_WIDE)}")
    return problems


async def a_paid_order(page: Any) -> dict[str, Any]:
    """An order of resident-kaarina's with one GIS line, paid (through the API)."""
    kaarina = await api(page, "resident-kaarina")
    # Other tests on this suite leave lines in her cart: the order is to hold this line alone.
    for line in (await (await page.request.get("/api/v1/cart", headers=kaarina)).json())["lines"]:
        line_url = f"/api/v1/cart/lines/{line['line_id']}"
        removed = await page.request.delete(line_url, headers=kaarina)
        assert removed.status == 200, await removed.text()
    added = await page.request.post("/api/v1/cart/gis-products", data=GIS_PRODUCT, headers=kaarina)
    assert added.status == 201, await added.text()
    order: dict[str, Any] = await (
        await page.request.post("/api/v1/cart/checkout", headers=kaarina)
    ).json()
    assert len(order["lines"]) == 1, order
    started = await page.request.post(
        "/api/v1/payments", data={"order_id": order["order_id"]}, headers=kaarina
    )
    assert started.status == 201, await started.text()
    decided = await page.request.post(
        f"/api/v1/payments/{(await started.json())['payment_id']}/local-decision",
        data={"decision": "pay"},
        headers=kaarina,
    )
    assert decided.status == 201, await decided.text()
    return order


async def test_the_cart_reads_whole_words_at_every_width(browser: Any, web_suite: Suite) -> None:
    context = await context_for(browser, web_suite.url, "fi", 1280)
    page = await context.new_page()
    kaarina = await api(page, "resident-kaarina")
    before = await page.request.get("/api/v1/cart", headers=kaarina)
    assert before.status == 200, await before.text()
    added = await page.request.post("/api/v1/cart/gis-products", data=GIS_PRODUCT, headers=kaarina)
    assert added.status == 201, await added.text()
    ours = {line["line_id"] for line in (await added.json())["lines"]} - {
        line["line_id"] for line in (await before.json())["lines"]
    }
    await sign_in(page, "resident-kaarina", "/cart")
    problems: list[str] = []
    try:
        for lang, width in CASES:
            await page.set_viewport_size({"width": width, "height": 900})
            await visit(page, f"/cart?lang={lang}")
            assert await page.locator("table:has(form[action$='/remove']) tbody tr").count() >= 1
            found = await readable(page, "table:has(form[action$='/remove'])", width)
            problems += [f"cart [{lang} {width}px]: {p}" for p in found]
            await screenshot(page, f"narrow-cart-{lang}-{width}")
    finally:
        for line_id in ours:
            await page.request.delete(f"/api/v1/cart/lines/{line_id}", headers=kaarina)
        await context.close()
    assert problems == [], "\n".join(problems)


async def test_a_resources_price_table_reads_whole_words_and_times(
    browser: Any, web_suite: Suite
) -> None:
    context = await context_for(browser, web_suite.url, "fi", 1280)
    page = await context.new_page()
    await sign_in(page, "clerk-sports", "/staff")
    problems: list[str] = []
    for lang, width in CASES:
        await page.set_viewport_size({"width": width, "height": 900})
        await visit(page, f"/staff/resources/{demo.RESOURCE_SWIMMING_LANE}?lang={lang}")
        assert await page.locator("#price-table tbody tr").count() >= 1
        found = await readable(page, "#price-table", width)
        problems += [f"prices [{lang} {width}px]: {p}" for p in found]
        await screenshot(page, f"narrow-prices-{lang}-{width}")
        if SCREENSHOTS:  # the table itself too: the page is long
            shot = ARTIFACTS / f"narrow-price-table-{lang}-{width}.png"
            await page.locator("#price-table").screenshot(path=str(shot))
    await context.close()
    assert problems == [], "\n".join(problems)


async def test_the_staff_view_of_an_order_reads_whole_words_with_its_refund_forms(
    browser: Any, web_suite: Suite
) -> None:
    """The order page as staff see it has a refund form per line: at 390 px its first column
    was one letter wide and the page scrolled sideways; each line is now a card."""
    context = await context_for(browser, web_suite.url, "fi", 1280)
    page = await context.new_page()
    order = await a_paid_order(page)
    await sign_in(page, "admin", "/staff")
    problems: list[str] = []
    for lang, width in CASES:
        await page.set_viewport_size({"width": width, "height": 900})
        await visit(page, f"/orders/{order['order_id']}?lang={lang}")
        table = "table:has(form[action*='/refund'])"
        assert await page.locator(f"{table} tbody tr").count() == 1
        problems += [f"order [{lang} {width}px]: {p}" for p in await readable(page, table, width)]
        await screenshot(page, f"narrow-staff-order-{lang}-{width}")
    await context.close()
    assert problems == [], "\n".join(problems)


async def test_the_gis_product_table_reads_whole_words(browser: Any, web_suite: Suite) -> None:
    """Staff's GIS catalogue (/staff/gis) lists every product with its formats, licences,
    price and ready file: at 390 px its six columns broke words inside ("Myynniss ä"); each
    product is now a card of labelled cells, as the other staff tables are."""
    context = await context_for(browser, web_suite.url, "fi", 1280)
    page = await context.new_page()
    await sign_in(page, "admin", "/staff")
    problems: list[str] = []
    for lang, width in CASES:
        await page.set_viewport_size({"width": width, "height": 900})
        await visit(page, f"/staff/gis?lang={lang}")
        table = "#gis-products"
        assert await page.locator(f"{table} tbody tr").count() >= 1
        problems += [f"gis [{lang} {width}px]: {p}" for p in await readable(page, table, width)]
        await screenshot(page, f"narrow-staff-gis-{lang}-{width}")
        if SCREENSHOTS:  # the table itself too: the page is long
            shot = ARTIFACTS / f"narrow-gis-table-{lang}-{width}.png"
            await page.locator(table).screenshot(path=str(shot))
    await context.close()
    assert problems == [], "\n".join(problems)


# A reader's browser whose own fonts are wider than chromium's defaults here (Liberation,
# Times New Roman's metrics): the DejaVu fonts fontconfig picks for serif and sans-serif.
WIDE_FONTS = {"standard": "DejaVu Serif", "serif": "DejaVu Serif", "sansSerif": "DejaVu Sans"}


async def test_the_printable_receipt_reads_whole_words(browser: Any, web_suite: Suite) -> None:
    """The printable receipt (/api/v1/orders/{id}/receipt.html, cart's page) at 390 px, read
    with chromium's own fonts and with wider ones: it had no style of its own and its line
    table's last heading ("Återbetalning") was cut at the edge in Swedish."""
    context = await context_for(browser, web_suite.url, "fi", 1280)
    page = await context.new_page()
    order = await a_paid_order(page)
    await sign_in(page, "resident-kaarina", "/")
    cdp = await context.new_cdp_session(page)
    problems: list[str] = []
    for fonts in ("default", "wide"):
        if fonts == "wide":
            await cdp.send("Page.setFontFamilies", {"fontFamilies": WIDE_FONTS})
        for lang, width in CASES:
            await page.set_viewport_size({"width": width, "height": 900})
            await visit(page, f"/api/v1/orders/{order['order_id']}/receipt.html?locale={lang}")
            assert await page.locator("section.merchant table tbody tr").count() == 1
            found = await readable(page, "main", width)
            problems += [f"receipt [{lang} {width}px, {fonts} fonts]: {p}" for p in found]
            await screenshot(page, f"narrow-receipt-{lang}-{width}-{fonts}")
    await context.close()
    assert problems == [], "\n".join(problems)


async def test_the_audit_trail_scrolls_in_its_box_not_the_page(
    browser: Any, web_suite: Suite
) -> None:
    """Found trying the pages: at 1280 px the audit trail's rows (a desk customer, an order's
    id, a person's pseudonym: long words that do not wrap) made the whole page 235 px wider;
    its scroll box scrolled only at phone width. Now the table scrolls inside its box at every
    width. The page as the gateway renders it, with such rows, under the site's own CSS."""
    long_rows = [
        EntryRow(seq=n, when="07.12.2026 13:05", service="cart", action="cart.request_refund",
                 kind="staff", outcome="ok", actor="demo:clerk-sports-and-culture-department",
                 object=f"order_line 6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a{n:02d}",
                 person="p:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                 client_address="2001:db8:85a3:0:0:8a2e:370:7334", request_id=f"r{n}")
        for n in range(5)
    ]  # fmt: skip
    for lang in ("en", "fi"):
        html = render("staff/audit.html", lang, form=None,
                      view=AuditPage(rows=long_rows, older=None, verified=None))  # fmt: skip
        for width in (1280, 390):
            page = await (await context_for(browser, web_suite.url, lang, width)).new_page()
            await visit(page, "/")  # the suite's origin, so the page's /static CSS loads
            await page.set_content(html, wait_until="load")
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{lang} {width}: {overflow} px: {await page.evaluate(TOO_WIDE)}"
            box = page.locator(".table-scroll")
            assert await box.evaluate("b => b.scrollWidth > b.clientWidth")  # it scrolls itself
            await screenshot(page, f"audit-long-rows-{lang}-{width}")
            await page.context.close()


async def test_a_pages_last_button_keeps_its_distance_from_the_footer(
    browser: Any, web_suite: Suite
) -> None:
    """Found trying the pages: the booking summary's "Send the request" sat on the footer's
    line (main's bottom padding was taken by .wrap's)."""
    page = await (await context_for(browser, web_suite.url, "en", 1280)).new_page()
    await visit(page, "/")
    padding = await page.evaluate("getComputedStyle(document.querySelector('main')).paddingBottom")
    assert padding == "48px", padding  # 3rem: whatever ends the page stands clear of the footer
    await page.context.close()


async def test_a_slots_time_is_read_whole_in_the_weeks_narrow_columns(
    browser: Any, web_suite: Suite
) -> None:
    """Found trying the pages: at 1280 px the week's seven columns broke a slot's time as
    "07:00– / 08:00 · / €56.00"; the time stays on one line, the price or state after it."""
    for lang, width in (("en", 1280), ("sv", 1280), ("fi", 390)):
        page = await (await context_for(browser, web_suite.url, lang, width)).new_page()
        await visit(page, f"/resources/{demo.RESOURCE_SPORTS_HALL}?lang={lang}")
        lines = await page.eval_on_selector_all(
            ".slot .when", "spans => spans.map(s => s.getClientRects().length)"
        )
        assert lines, "no slots on the week"
        assert set(lines) == {1}, f"{lang} {width}: a slot's time on {max(lines)} lines"
        spill = await page.eval_on_selector_all(  # and each day within its own column
            ".day",
            """days => days.map(d => d.getBoundingClientRect()).filter((r, i, all) =>
                (i + 1 < all.length && all[i + 1].top === r.top && r.right > all[i + 1].left)
                || r.right > document.documentElement.clientWidth).length""",
        )
        assert spill == 0, f"{lang} {width}: {spill} days wider than their column"
        await screenshot(page, f"week-slots-{lang}-{width}")
        await page.context.close()
