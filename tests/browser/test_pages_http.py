"""The pages as plain HTTP (no browser needed): language negotiation, strict-CSP-safe markup,
every form a real POST."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.conftest import Suite

PAGES = ["/", "/sign-in", "/resources", "/gis"]


@pytest.mark.parametrize(
    ("accept", "lang"), [("sv-FI,sv;q=0.9", "sv"), ("en-US,en;q=0.8", "en"), ("de-DE", "fi")]
)
async def test_language_follows_accept_language(web_suite: Suite, accept: str, lang: str) -> None:
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        response = await client.get("/", headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    assert response.headers["content-language"] == lang


async def test_the_language_switch_sets_a_cookie_and_returns_to_the_page(web_suite: Suite) -> None:
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        switched = await client.get("/lang/en?next=/gis")
        assert switched.status_code == 303
        assert switched.headers["location"] == "/gis"
        page = await client.get("/gis")
    assert '<html lang="en">' in page.text


async def test_the_switch_never_redirects_off_site(web_suite: Suite) -> None:
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        response = await client.get("/lang/en?next=//evil.example/")
    assert response.headers["location"] == "/"


async def test_markup_works_under_the_strict_csp(web_suite: Suite) -> None:
    """No inline scripts, styles or handlers: the gateway's CSP allows only our own files."""
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        for path in PAGES:
            response = await client.get(path)
            html = response.text
            assert "script-src 'self'" in response.headers["content-security-policy"]
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
            assert " style=" not in html, path
            assert "<style" not in html, path
            assert not re.search(r"\son[a-z]+=", html), path
            for form in re.findall(r"<form[^>]*>", html):
                assert 'method="post"' in form or 'method="get"' in form, (path, form)


async def test_a_signed_out_post_is_sent_to_sign_in(web_suite: Suite) -> None:
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        response = await client.post("/checkout", data={"key": "x"})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in")


@pytest.mark.parametrize(
    ("accept", "words"),
    [("fi-FI", "Sivua ei löytynyt"), ("sv-FI", "Sidan hittades inte"), ("en-GB", "Page not found")],
)
async def test_an_unknown_address_is_a_page_in_the_visitors_language(
    web_suite: Suite, accept: str, words: str
) -> None:
    headers = {"Accept": "text/html,*/*;q=0.8", "Accept-Language": accept}
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        response = await client.get("/no/such/page", headers=headers)
        api = await client.get("/api/v1/no-such-thing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text
    assert '"status"' not in response.text  # no raw JSON
    assert api.status_code == 404  # the API keeps answering problem+json
    assert api.headers["content-type"].startswith("application/problem+json")


async def test_a_bad_value_in_a_page_address_names_the_field_on_a_page(web_suite: Suite) -> None:
    headers = {"Accept": "text/html", "Accept-Language": "sv-FI"}
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        response = await client.get("/resources?places=abc", headers=headers)
        emptied = await client.get("/resources?places=", headers=headers)
    assert response.status_code == 422  # the page's own check (an emptied field is one place)
    assert emptied.status_code == 200, emptied.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "Platser" in response.text  # the field, named in Swedish
    assert response.text.count("validation_failed") == 1  # the data attribute only


async def test_a_refused_form_comes_back_to_its_page_without_a_referer(web_suite: Suite) -> None:
    """Every POST form names its page, so the error is answered on the form even when the
    browser sends no Referer (Referrer-Policy: no-referrer, a privacy extension)."""
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        signed_in = await client.post(
            "/dev-issuer/sign-in", data={"user": "resident-turku", "next": "/library"}
        )
        assert signed_in.status_code == 303
        page = await client.get("/library")
        assert page.status_code == 200, page.text[:300]
        forms = re.findall(r'<form[^>]*method="post"[^>]*>\s*<input[^>]*>', page.text)
        assert forms
        assert all('name="return_to" value="/library"' in f for f in forms)
        refused = await client.post(
            "/library/card", data={"card_number": "12", "pin": "1", "return_to": "/library"}
        )
        assert refused.status_code == 303
        assert refused.headers["location"] == "/library"
        again = await client.get("/library")
    assert 'data-field="card_number"' in again.text
    assert 'value="12"' in again.text  # the input kept; never the PIN


async def test_a_return_to_off_site_is_never_followed(web_suite: Suite) -> None:
    async with httpx.AsyncClient(base_url=web_suite.url) as client:
        await client.post("/dev-issuer/sign-in", data={"user": "resident-turku", "next": "/"})
        refused = await client.post(
            "/library/card",
            data={"card_number": "12", "pin": "1", "return_to": "//evil.example/"},
        )
    assert not refused.headers.get("location", "").startswith("//")
