"""The contracts package is a leaf: message types only, importing nothing but msgspec, the
standard library and other modules of `shared.contracts` (never asyncpg, nats, `services` or
another shared module that does). Checked twice: statically over every file's imports, and by
importing the package in a fresh interpreter and looking at what it loaded."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = ROOT / "shared" / "contracts"
PACKAGE = "shared.contracts"
ALLOWED_THIRD_PARTY = frozenset({"msgspec"})


def allowed(module: str) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY or top == "__future__":
        return True
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def contract_modules() -> list[str]:
    return sorted(
        PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"
        for path in CONTRACTS.glob("*.py")
    )


def imported_by(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (functions and TYPE_CHECKING blocks too);
    relative imports resolved against shared.contracts."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = PACKAGE.rsplit(".", node.level - 1)[0] if node.level > 1 else PACKAGE
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            if module in ("shared", "shared.contracts"):  # `from shared import events`
                names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_no_contracts_file_imports_anything_but_msgspec_and_the_standard_library() -> None:
    files = sorted(CONTRACTS.glob("*.py"))
    assert len(files) >= 5, files
    offending = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_by(path) if not allowed(m))
        for path in files
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_importing_the_contracts_loads_no_other_package() -> None:
    """A fresh interpreter (this worktree first on its path) imports msgspec (with what msgspec
    itself loads), then every contracts module: whatever that loaded beyond must be the
    standard library or the contracts themselves."""
    script = (
        "import importlib, json, sys\n"
        "import msgspec, msgspec.json, msgspec.structs\n"
        "before = set(sys.modules)\n"
        f"names = {contract_modules()!r}\n"
        "for name in names: importlib.import_module(name)\n"
        "print(json.dumps({'file': sys.modules['shared.contracts'].__file__,\n"
        "                  'loaded': sorted(set(sys.modules) - before)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    assert Path(report["file"]).resolve().parent == CONTRACTS  # this tree's, not another's
    extra = [m for m in report["loaded"] if not allowed(m) and m != "shared"]
    assert extra == []
    assert "asyncpg" not in report["loaded"]
    assert "nats" not in report["loaded"]
