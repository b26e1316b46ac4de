"""The environment variables the code reads, found in the code itself (not a hand-kept list):
every `from_env(SettingsClass, prefix=...)` call with the class's fields, and every variable
read by name (`environ.get("NAME")`, `env["NAME"]`, ...) in services/ and shared/. The
development launcher and the embedded servers are left out (they never run in a deployment)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_DEPLOYED = {"services/launcher.py", "shared/embedded.py", "services/__main__.py"}
ENV_NAMES = {"environ", "env", "environment"}
# Read in a loop over names (shared/runtime.py connect_nats): named here.
READ_INDIRECTLY = {"NATS_USER", "NATS_PASSWORD", "NATS_CREDS"}


def _sources() -> list[Path]:
    files = [*sorted((ROOT / "services").rglob("*.py")), *sorted((ROOT / "shared").rglob("*.py"))]
    return [f for f in files if str(f.relative_to(ROOT)) not in NOT_DEPLOYED]


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def settings_classes() -> dict[str, tuple[str, list[str]]]:
    """Class name -> (prefix, variables) for every settings class read with from_env."""
    classes: dict[str, str] = {}  # name -> module defining it
    calls: dict[str, str] = {}  # name -> prefix
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, _module(path))
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "from_env"
                and node.args
                and isinstance(node.args[0], ast.Name)
            ):
                prefix = next(
                    (
                        k.value.value
                        for k in node.keywords
                        if k.arg == "prefix" and isinstance(k.value, ast.Constant)
                    ),
                    "",
                )
                calls[node.args[0].id] = str(prefix)
    found: dict[str, tuple[str, list[str]]] = {}
    for name, prefix in calls.items():
        cls = getattr(importlib.import_module(classes[name]), name)
        found[name] = (prefix, [f"{prefix}{f}".upper() for f in cls.__struct_fields__])
    return found


def variables_read_by_name() -> set[str]:
    """Upper-case string keys read from an environment mapping by name."""
    names: set[str] = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            target, key = None, None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("get", "setdefault", "pop") and node.args:
                    target, key = node.func.value, node.args[0]
            elif isinstance(node, ast.Subscript):
                target, key = node.value, node.slice
            if target is None or not isinstance(key, ast.Constant):
                continue
            owner = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if owner in ENV_NAMES and isinstance(key.value, str) and key.value.isupper():
                names.add(key.value)
    return names


def all_variables() -> set[str]:
    found = {v for _, variables in settings_classes().values() for v in variables}
    return found | variables_read_by_name() | READ_INDIRECTLY
