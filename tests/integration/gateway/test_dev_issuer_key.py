"""One development signing key for every gateway worker (WORKERS>1) and across restarts:
a token from one worker is valid on another. Tests and other environments get a fresh key."""

from __future__ import annotations

import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from services.gateway.app import create_app
from services.gateway.dev_issuer import DevIssuer
from services.gateway.settings import GatewaySettings
from shared.settings import CommonSettings


def worker_kid(key_file: str) -> str:
    """What one granian worker's issuer uses (run in its own process)."""
    return DevIssuer("http://x/dev-issuer", "aud", key_file=Path(key_file)).kid


def development(data_dir: Path) -> CommonSettings:
    return CommonSettings(env="development", data_dir=str(data_dir))


async def test_a_token_from_one_worker_is_valid_on_another(tmp_path: Path) -> None:
    settings = GatewaySettings(dev_issuer=True)
    first = create_app(development(tmp_path), settings)
    second = create_app(development(tmp_path), settings)  # another worker, or a restart
    token = first.state.dev_issuer.sign("resident-turku")
    principal = await second.state.authenticator.verifier.verify(token)
    assert principal.subject == "demo:resident-turku"
    key_file = tmp_path / "dev-issuer-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key_file.read_bytes()


def test_workers_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    key_file = str(tmp_path / "keys" / "dev-issuer-key.pem")
    with ProcessPoolExecutor(4) as pool:
        kids = set(pool.map(worker_kid, [key_file] * 8))
    assert len(kids) == 1
    assert [p.name for p in (tmp_path / "keys").iterdir()] == ["dev-issuer-key.pem"]


def test_a_loose_key_file_is_tightened(tmp_path: Path) -> None:
    key_file = tmp_path / "dev-issuer-key.pem"
    kid = worker_kid(str(key_file))
    key_file.chmod(0o644)
    assert worker_kid(str(key_file)) == kid
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_tests_get_a_fresh_key_per_app(tmp_path: Path) -> None:
    common = CommonSettings(env="test", data_dir=str(tmp_path))
    settings = GatewaySettings(dev_issuer=True)
    assert create_app(common, settings).state.dev_issuer.kid != (
        create_app(common, settings).state.dev_issuer.kid
    )
    assert not (tmp_path / "dev-issuer-key.pem").exists()
