"""Every environment variable the code reads (every settings class read with `from_env`, every
variable read by name; found in the code, tests/deploy/inventory.py) is listed in
deploy/services.env.example, so an operator sees it; and no deployment file sets a variable
that nothing reads (a typo would silently leave a default in force)."""

import re
from pathlib import Path

from tests.deploy.inventory import all_variables, settings_classes

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LISTED = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def _listed() -> set[str]:
    return set(LISTED.findall((DEPLOY / "services.env.example").read_text(encoding="utf-8")))


def test_every_settings_class_is_found() -> None:
    found = settings_classes()
    assert {"CommonSettings", "GatewaySettings", "BookingSettings", "CartSettings"} <= set(found)
    assert found["CartSettings"][0] == "CART_"
    assert "CART_DOWNLOAD_SECRET" in found["CartSettings"][1]


def test_every_variable_the_code_reads_is_in_the_env_example() -> None:
    missing = all_variables() - _listed()
    assert not missing, f"add to deploy/services.env.example: {sorted(missing)}"


def test_env_example_lists_only_variables_the_code_reads() -> None:
    unknown = _listed() - all_variables()
    assert not unknown, f"no code reads: {sorted(unknown)}"


def test_production_values_are_set_in_the_env_example() -> None:
    text = (DEPLOY / "services.env.example").read_text(encoding="utf-8")
    for required in ("ENV=production", "OIDC_ISSUER=", "CART_DOWNLOAD_SECRET=", "PUBLIC_URL="):
        assert re.search(rf"^{required}", text, re.MULTILINE), required
