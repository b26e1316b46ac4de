"""The resources search with its places field emptied (the browser sends `places=`) answered
"Places: Please check" on an error page, the rest of the search gone: an empty field is one
place, as when the page is first opened."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from services.gateway.web import resident
from shared.contracts import booking as bk
from tests.unit.gateway.test_web_cancel_refund import signed_in_as_aino


class Search:
    """booking's search: no hits; remembers the places it was asked for."""

    def __init__(self) -> None:
        self.places: list[int] = []

    async def call(self, subject: str, body: dict[str, Any], reply: type, ctx: Any) -> Any:
        assert subject.endswith(".search"), subject
        self.places.append(body["places"])
        return bk.SearchReply(hits=[])


@pytest.mark.parametrize("places", ["", "%20"])
def test_the_search_with_the_places_field_emptied_searches_for_one_place(places: str) -> None:
    app = Litestar(
        route_handlers=[resident.resources], middleware=[signed_in_as_aino], logging_config=None
    )
    app.state.services = search = Search()
    with TestClient(app) as web:
        page = web.get(f"/resources?service=culture&kind=&day=&places={places}&lang=en")
    assert page.status_code == 200, page.text
    assert search.places == [1]
    assert '<option value="culture" selected>' in page.text  # the rest of the search is kept


def test_a_number_of_places_still_counts() -> None:
    app = Litestar(
        route_handlers=[resident.resources], middleware=[signed_in_as_aino], logging_config=None
    )
    app.state.services = search = Search()
    with TestClient(app) as web:
        assert web.get("/resources?places=4").status_code == 200
    assert search.places == [4]
