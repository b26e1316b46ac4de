"""The gateway with several granian workers (WORKERS=2): a demo token signed by one worker is
accepted by every other (one development key for all), checked on fresh connections."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import start_suite, stop_suite


def test_tokens_from_one_worker_are_valid_on_the_others() -> None:
    suite = start_suite({"WORKERS": "2"})
    try:
        refused = 0
        for _ in range(12):
            with httpx.Client(base_url=suite.url, timeout=10) as one:  # a new connection
                token = one.post("/dev-issuer/token", json={"user": "resident-turku"}).json()
            for _ in range(3):
                with httpx.Client(base_url=suite.url, timeout=10) as other:
                    response = other.get(
                        "/api/v1/reservations",
                        headers={"Authorization": f"Bearer {token['access_token']}"},
                    )
                refused += response.status_code == 401
        assert refused == 0
        key_file = suite.data_dir / "dev-issuer-key.pem"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    finally:
        stop_suite(suite)
