"""The acceptance matrix of issue 17: each task in fi / sv / en at 390 px and 1280 px, one
browser context per combination (the browser and the suite are started once per session).

`Steps` gives every page a task visits the sweep's checks (language, no sideways scroll at
390 px, no English left in fi/sv, axe-core with no serious or critical violation) and, with
SCREENSHOTS=1, saves a screenshot (test-artifacts/browser, not committed); the findings are
listed at once at the end of the task."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.conftest import axe_violations, screenshot
from tests.browser.test_sweep import english_only, page_problems

LOCALES = {"fi": "fi-FI", "sv": "sv-FI", "en": "en-GB"}
CASES = [(lang, width) for lang in LOCALES for width in (390, 1280)]
CASE_IDS = [f"{lang}-{width}" for lang, width in CASES]


async def context_for(browser: Any, url: str, lang: str, width: int) -> Any:
    """A fresh visitor (own cookies) in `lang` at `width`; axe needs CSP bypassed."""
    context = await browser.new_context(
        base_url=url,
        locale=LOCALES[lang],
        bypass_csp=True,
        viewport={"width": width, "height": 900},
    )
    context.set_default_timeout(15_000)
    return context


class Steps:
    """The checks of each page of one task in one combination, collected."""

    def __init__(self, task: str, lang: str, width: int, axe: bool = True) -> None:
        self.task, self.lang, self.width, self.axe = task, lang, width, axe
        self.english = english_only()
        self.problems: list[str] = []
        self.seconds = 0.0  # spent checking (axe, screenshots): the matrix's own cost

    async def check(self, page: Any, step: str, ours: bool = True) -> None:
        started = time.monotonic()
        await self._check(page, step, ours)
        self.seconds += time.monotonic() - started

    async def _check(self, page: Any, step: str, ours: bool) -> None:
        """`ours=False`: a payment provider's own page (e.g. the Stripe or Paytrail stand-in);
        axe only, its language is the provider's. The local test provider's page is ours."""
        where = f"{self.task} {step} {page.url} [{self.lang} {self.width}px]"
        if ours:
            self.problems += await page_problems(
                page, where, self.lang, self.width, self.english, axe=self.axe
            )
        elif violations := await axe_violations(page):
            self.problems.append(f"{where}: axe {violations}")
        await screenshot(page, f"{self.task}-{step}-{self.lang}-{self.width}")

    def assert_clean(self) -> None:
        print(f"{self.task} [{self.lang} {self.width}px]: checks took {self.seconds:.1f} s")
        assert self.problems == [], "\n".join(self.problems)
