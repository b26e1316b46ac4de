"""`make texts`: keep the web pages' catalogues (services/gateway/locale) complete.

    python -m services.gateway.web.texts_tool          # move new texts in, write web.pot, check
    python -m services.gateway.web.texts_tool check    # only check (exit 1 listing problems)

New texts may be written into `i18n._T` as `"key": ("fi", "sv", "en")` (the old form, handy
in a branch); this moves them into the three `web.po` files and empties `_T`. The extraction
template `web.pot` lists every key with the places that use it; a key used by a template or a
page module but missing from the catalogues, or a text missing in Finnish or Swedish, is a
problem (tests/unit/gateway/test_web_catalogues.py runs the same check).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from services.gateway.web.catalogue import LANGUAGES, LOCALE_DIR, po_path, read

WEB = Path(__file__).resolve().parent
TEMPLATES = WEB.parent / "templates"
I18N = WEB / "i18n.py"
_TEMPLATE_USE = re.compile(r"\bt\('([a-z0-9_.]+)'\)")
_PYTHON_USE = re.compile(r"\bt\(\s*\w+,\s*\"([a-z0-9_.]+)\"\)")
_STAGED = re.compile(r"(_T: dict\[str, tuple\[str, str, str\]\] = \{\n)(.*?)(\n\}\n)", re.DOTALL)
HEADER = {
    "fi": "Finnish texts of the web pages.",
    "sv": "Swedish texts of the web pages.",
    "en": "English texts of the web pages: the source (msgid); msgctxt is the key.",
}


def _new_catalog(lang: str | None) -> Catalog:
    return Catalog(
        locale=lang,
        domain="web",
        project="turku-web",
        header_comment=f"# {HEADER.get(lang or 'en', 'Template of the web pages texts.')}",
        fuzzy=False,
    )


def _write(catalog: Catalog, path: Path, lineno: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, sort_output=False, include_lineno=lineno)


def merge(entries: Mapping[str, tuple[str, str, str]], directory: Path = LOCALE_DIR) -> None:
    """Write `entries` (key -> fi, sv, en) into the catalogues; a key already there is
    replaced (its text changed), a new one appended."""
    for index, lang in enumerate(LANGUAGES):
        path = po_path(lang, directory)
        catalog = read(lang, directory) if path.exists() else _new_catalog(lang)
        for key, texts in entries.items():
            english = texts[2]
            old = next((m for m in catalog if m.context == key), None)
            if old is not None:
                catalog.delete(old.id, context=key)
            catalog.add(english, "" if lang == "en" else texts[index], context=key)
        _write(catalog, path)


def used_keys(templates: Path = TEMPLATES, modules: Path = WEB) -> dict[str, list[tuple[str, int]]]:
    """Every literal key a template or a page module names (`t(KEY)`, `t(lang, KEY)`)."""
    found: dict[str, list[tuple[str, int]]] = {}
    sources = [(p, _TEMPLATE_USE) for p in sorted(templates.rglob("*.html"))]
    sources += [(p, _PYTHON_USE) for p in sorted(modules.glob("*.py"))]
    for path, pattern in sources:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for key in pattern.findall(line):
                where = str(path.relative_to(WEB.parent.parent.parent))
                found.setdefault(key, []).append((where, number))
    return found


def extract(directory: Path = LOCALE_DIR) -> None:
    """web.pot: every message of the source catalogue, with the places a key is used."""
    source = read("en", directory)
    uses = used_keys()
    template = _new_catalog(None)
    for message in source:
        if message.context:
            template.add(
                message.id,
                "",
                locations=uses.get(str(message.context), []),
                context=message.context,
            )
    _write(template, directory / "web.pot", lineno=False)  # files only: fewer merge conflicts


def problems(directory: Path = LOCALE_DIR, staged: Mapping[str, object] | None = None) -> list[str]:
    """What keeps the catalogues from serving every page in every language."""
    found: list[str] = []
    source = {str(m.context): m for m in read("en", directory) if m.context}
    for lang in ("fi", "sv"):
        catalog = {str(m.context): m for m in read(lang, directory) if m.context}
        for key, message in source.items():
            other = catalog.get(key)
            if other is None or not other.string or other.fuzzy:
                found.append(f"{lang}: no text for {key!r}")
            elif other.id != message.id:
                found.append(f"{lang}: {key!r} translates {other.id!r}, not {message.id!r}")
        found += [
            f"{lang}: {key!r} is not in the English source"
            for key in catalog.keys() - source.keys()
        ]
    if staged is None:
        from services.gateway.web import i18n

        staged = i18n._T  # staged texts are served too, until `make texts` moves them
    known = source.keys() | set(staged)
    for key, where in sorted(used_keys().items()):
        if key not in known:
            found.append(f"{key!r} used at {where[0][0]}:{where[0][1]} has no text")
    return found


def move_staged(i18n_path: Path = I18N, directory: Path = LOCALE_DIR) -> int:
    """Texts written into `i18n._T` go into the catalogues; `_T` is left empty."""
    from services.gateway.web import i18n

    known = {str(m.context) for m in read("en", directory) if m.context}
    staged = {k: v for k, v in i18n._T.items() if k not in known}  # the catalogue's text wins
    if not staged:
        return 0
    merge(staged, directory)
    source = i18n_path.read_text(encoding="utf-8")
    emptied, count = _STAGED.subn(
        lambda m: m.group(1) + "    # key: (fi, sv, en)" + m.group(3), source
    )
    if count != 1:
        raise SystemExit(f"{i18n_path}: the `_T` table was not found; move its texts by hand")
    i18n_path.write_text(emptied, encoding="utf-8")
    return len(staged)


def main(argv: list[str]) -> int:
    if argv[:1] != ["check"]:
        moved = move_staged()
        extract()
        print(f"{moved} new texts moved into {LOCALE_DIR}; web.pot written")
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
