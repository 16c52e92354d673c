"""Keep the gettext catalogs in step with the code: ``python -m voronka.web.translations extract|check``.

Messages are extracted from the shell's templates and from web/ and core/ Python (``_()``, ``gettext``);
``extract`` merges them into every language's ``voronka.po`` (keeping existing translations, marking new ones
untranslated); ``check`` lists messages a language does not translate yet.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from voronka.core.i18n import LANGUAGES

WEB = Path(__file__).resolve().parent
LOCALE = WEB / "locale"
JINJA = "jinja2.ext:babel_extract"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def extract_messages(roots: list[Path]) -> Catalog:
    """All translatable messages under ``roots`` (templates and Python)."""
    catalog = Catalog(project="voronka")
    method_map = [("**/templates/**.html", JINJA), ("**.py", "python")]
    options = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
    for root in roots:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(root), method_map, options, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
        ):
            if filename.startswith(("assets", "static")):
                continue
            catalog.add(message, None, [(f"{root.name}/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def source_roots() -> list[Path]:
    roots = [WEB]
    core = Path(__import__("voronka.core", fromlist=["x"]).__file__).resolve().parent
    roots.append(core)
    # the built-in plugins share the catalogue; a partner's plugin ships its own
    roots.append(Path(__import__("voronka.plugins", fromlist=["x"]).__file__).resolve().parent)
    return roots


def po_path(lang: str, locale_dir: Path = LOCALE) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / "voronka.po"


def load(lang: str, locale_dir: Path = LOCALE) -> Catalog:
    path = po_path(lang, locale_dir)
    if not path.is_file():
        return Catalog(locale=lang, project="voronka")
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def missing(lang: str, roots: list[Path] | None = None, locale_dir: Path = LOCALE) -> list[str]:
    """Messages found in the code that ``lang``'s catalog leaves untranslated (or fuzzy)."""
    template = extract_messages(roots or source_roots())
    catalog = load(lang, locale_dir)
    gaps = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, message.context)
        untranslated = found is None or not found.string or found.fuzzy
        if untranslated or (isinstance(found.string, tuple) and not all(found.string)):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def update(roots: list[Path] | None = None, locale_dir: Path = LOCALE) -> None:
    template = extract_messages(roots or source_roots())
    for lang in LANGUAGES:
        if lang == "en":
            continue
        catalog = load(lang, locale_dir)
        catalog.update(template, no_fuzzy_matching=True)
        path = po_path(lang, locale_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            write_po(fh, catalog, width=110, omit_header=False, sort_output=True, ignore_obsolete=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        update()
        return 0
    if command == "check":
        status = 0
        for lang in LANGUAGES:
            if lang == "en":
                continue
            gaps = missing(lang)
            for gap in gaps:
                print(f"{lang}: untranslated: {gap}")
            status = status or (1 if gaps else 0)
        return status
    print("usage: python -m voronka.web.translations extract|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
