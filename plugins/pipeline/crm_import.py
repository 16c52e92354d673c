"""The "CRM Sales Opportunities" data set (Maven Analytics: accounts, products, sales teams, sales pipeline)
into Voronka through core's import service, file by file, as an admin would with the import pages.

Order: teams (the regional offices), users (agents and their managers, with their office), the manager
hierarchy, organisations (accounts.csv as it is), products (products.csv as it is, prices in USD), then
deals (sales_pipeline.csv as it is, read by the :data:`SOURCE` row source). Each step is one core import
(``create_import`` → ``start_import`` → ``run_import``): the same rules, audit and per-row messages as an
upload. Users, teams and links need files in core's shape (a username column); :func:`people_files`
writes them from sales_teams.csv.

The row source turns a sales_pipeline.csv row into a deal: the stage before it closed (Engaging when it has
an engage date) entered on the engage date, then won or lost on the close date (two stays in its history),
the close value in USD (``options["currency"]``), the agent as owner, the account as customer and the
product into the deal's product field (by name after each batch, or, when ``options["products"]`` gives the
catalogue by name, with the deal itself: one write fewer per deal; a name not in it is noted on the row).
``options["stages"]`` maps the file's stage words to stages of the default pipeline (default
:data:`~.deal_imports.DEFAULT_STAGE_MAP`).

What is wrong in the files is reported, never mended: :func:`check` lists it (a product spelt two ways, a
sector or country that looks misspelt, deals with no account) and the imports carry it on the rows (a deal
with no account: a note, imported without a customer; an unknown product: the deal has no product).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.imports import create_import, open_file, run_import, start_import
from voronka.core.imports_csv import Row, open_csv
from voronka.core.models_imports import Import
from voronka.core.search_keys import search_key
from voronka.core.security.users import load_user

from . import deal_imports
from .models import Product

SOURCE = "crm_pipeline"
COLUMNS = ("opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date",
           "close_value")  # fmt: skip
HEADER = ["Name", "Owner", "Customer", "Product", "Stage", "Stage entered", "Expected close", "Outcome", "Amount",
          "Currency", "Description"]  # fmt: skip
MAPPING = ["name", "owner_user_id", "customer_id", deal_imports.PRODUCT_FIELD, "stage_id", "stage_entered_at",
           "expected_close", "outcome", "amount_minor", "amount_currency", "description"]  # fmt: skip
INDUSTRIES = ("agriculture", "construction", "consulting", "education", "employment", "energy", "entertainment",
              "finance", "healthcare", "hospitality", "insurance", "logistics", "manufacturing", "marketing",
              "media", "medical", "real estate", "retail", "services", "software", "technology",
              "telecommunications", "transportation")  # fmt: skip
"""Sector words a file's sectors are checked against: a value close to one of them but not it is reported."""
MANAGER_SINCE = "2016-01-01"
"""The hierarchy's start: before the file's first deal (2016-10-20), so every deal is under its manager."""


# -- the row source ------------------------------------------------------------------------------------------


class SalesPipelineFile:
    """sales_pipeline.csv as rows for the opportunity kind (see the module's docstring)."""

    def __init__(self, data: bytes, options: dict[str, Any]):
        self.csv, _decoded = open_csv(data, str(options.get("encoding") or ""), "")
        index = {name.strip().casefold(): n for n, name in enumerate(self.csv.header)}
        missing = [c for c in COLUMNS if c not in index]
        if missing:
            raise ValidationError({"file": _("This is not a sales pipeline file: it has no %(columns)s column.")
                                   % {"columns": ", ".join(missing)}})  # fmt: skip
        self.index = index
        self.stages = {str(k).casefold(): str(v) for k, v in (options.get("stages") or {}).items()}
        self.currency = str(options.get("currency") or "USD").upper()
        self.header = list(HEADER)
        self.mapping = list(MAPPING)
        self.delimiter = self.csv.delimiter
        products = options.get("products")
        self.products: dict[str, int] | None = None
        if isinstance(products, dict):  # the catalogue, given by the caller: the product goes in with the deal
            self.products = {search_key(str(name)): int(pid) for name, pid in products.items()}
            self.spelled = {deal_imports._compact(str(name)): str(name) for name in products}
            self.mapping[MAPPING.index(deal_imports.PRODUCT_FIELD)] = f"cf.{deal_imports.PRODUCT_FIELD}"

    def _stage(self, word: str) -> str:
        return self.stages.get(word.casefold(), word)

    def rows(self, skip: int = 0) -> Iterator[Row]:
        for row in self.csv.rows(skip):
            if row.error:
                yield row
                continue
            yield self._deal(row)

    def _deal(self, row: Row) -> Row:
        cell = {name: row.cells[n].strip() for name, n in self.index.items() if name in COLUMNS}
        stage = cell["deal_stage"]
        engaged, closed = cell["engage_date"], cell["close_date"]
        outcome = ""
        if stage.casefold() in ("won", "lost"):
            outcome = f"{stage.casefold()} {closed}" if closed else ""
            stage = self._stage("Engaging") if engaged else self._stage("Prospecting")
            if not closed:  # nothing says when: the row's stage as it is
                stage = self._stage(cell["deal_stage"])
        else:
            stage = self._stage(stage)
        account, product = cell["account"], cell["product"]
        name = f"{product} · {account}" if account else f"{product} · {cell['opportunity_id']}"
        notes = [] if account else [_("The file names no account: the deal is imported without a customer.")]
        if self.products is not None:
            product, problem = self._product(product)
            notes += [problem] if problem else []
        cells = [name, cell["sales_agent"], account, product, stage, engaged, closed, outcome, cell["close_value"],
                 self.currency, f"CRM {cell['opportunity_id']}"]  # fmt: skip
        return Row(row.number, cells, note=" ".join(notes))

    def _product(self, name: str) -> tuple[str, str]:
        """The product field's cell ("product:7") for a name in the catalogue; else empty and why."""
        assert self.products is not None
        product_id = self.products.get(search_key(name))
        if product_id is not None:
            return f"product:{product_id}", ""
        near = self.spelled.get(deal_imports._compact(name))
        if near:
            return "", _("There is no product “%(name)s” (the catalogue spells it “%(near)s”); the deal has no "
                         "product.") % {"name": name, "near": near}  # fmt: skip
        return "", _("There is no product “%(name)s”; the deal has no product.") % {"name": name}

    def count(self) -> int:
        return self.csv.count()


def open_sales_pipeline(data: bytes, options: dict[str, Any]) -> SalesPipelineFile:
    return SalesPipelineFile(data, options)


SOURCES = {SOURCE: open_sales_pipeline}


# -- the report ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something wrong in a file: which file and column, the value, how many rows, what it looks like."""

    file: str
    column: str
    value: str
    rows: int
    message: str


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def check(folder: Path) -> list[Finding]:
    """What the files get wrong: spellings that differ between files or from the usual word, deals that
    name no account or an account the accounts file lacks. Nothing here changes what is imported."""
    accounts = _read(folder / "accounts.csv")
    products = _read(folder / "products.csv")
    deals = _read(folder / "sales_pipeline.csv")
    found: list[Finding] = []
    catalogue = {p["product"]: p["product"] for p in products}
    compact = {deal_imports._compact(name): name for name in catalogue}
    for value, n in sorted(Counter(d["product"] for d in deals).items()):
        if value in catalogue:
            continue
        near = compact.get(deal_imports._compact(value))
        message = (_("“%(value)s” is spelt “%(near)s” in products.csv") % {"value": value, "near": near} if near
                   else _("“%(value)s” is not in products.csv") % {"value": value})  # fmt: skip
        found.append(Finding("sales_pipeline.csv", "product", value, n, message))
    for value, n in sorted(Counter(a["sector"] for a in accounts).items()):
        near = difflib.get_close_matches(value.casefold(), INDUSTRIES, n=1, cutoff=0.8)
        if near and near[0] != value.casefold():
            message = _("“%(value)s” looks like a misspelling of “%(near)s”") % {"value": value, "near": near[0]}
            found.append(Finding("accounts.csv", "sector", value, n, message))
    countries = _country_names()
    for value, n in sorted(Counter(a["office_location"] for a in accounts).items()):
        near = difflib.get_close_matches(value, countries, n=1, cutoff=0.85)
        if value and value not in countries and near:
            message = _("“%(value)s” looks like a misspelling of “%(near)s”") % {"value": value, "near": near[0]}
            found.append(Finding("accounts.csv", "office_location", value, n, message))
    names = {a["account"] for a in accounts}
    empty = sum(1 for d in deals if not d["account"])
    if empty:
        found.append(Finding("sales_pipeline.csv", "account", "", empty, _("deals that name no account")))
    for value, n in sorted(Counter(d["account"] for d in deals if d["account"] and d["account"] not in names).items()):
        found.append(Finding("sales_pipeline.csv", "account", value, n, _("not in accounts.csv")))
    return found


def _country_names() -> list[str]:
    try:
        from babel import Locale
    except ImportError:  # pragma: no cover - babel comes with the stack
        return []
    return sorted(Locale("en").territories.values())


# -- running it ----------------------------------------------------------------------------------------------


def username_for(name: str) -> str:
    """ "Anna Snelling" → "anna.snelling"."""
    return ".".join(name.casefold().split())


def people_files(folder: Path) -> dict[str, bytes]:
    """The teams, users and manager links of sales_teams.csv in core's import shape."""
    rows = _read(folder / "sales_teams.csv")
    offices = sorted({r["regional_office"] for r in rows})
    people: dict[str, tuple[str, str]] = {}
    for r in rows:
        people.setdefault(r["manager"], ("manager", r["regional_office"]))
        people.setdefault(r["sales_agent"], ("sales", r["regional_office"]))

    def as_csv(header: list[str], lines: list[list[str]]) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)
        return out.getvalue().encode()

    return {
        "teams": as_csv(["name"], [[o] for o in offices]),
        "users": as_csv(["username", "name", "roles", "teams", "language"],
                        [[username_for(n), n, role, office, "en"] for n, (role, office) in people.items()]),
        "managers": as_csv(["user", "manager", "from"],
                           [[username_for(r["sales_agent"]), username_for(r["manager"]), MANAGER_SINCE] for r in rows]),
    }  # fmt: skip


ORGANISATION_MAPPING = {"account": "name", "sector": "industry", "subsidiary_of": "subsidiary_of"}
PRODUCT_MAPPING = {"product": "name", "series": "category", "sales_price": "price_usd"}


@dataclass
class CrmImport:
    """The finished imports by step (users, teams, managers, organisations, products, deals) and the report."""

    imports: dict[str, Import] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def run_step(runtime: Any, user_id: int, target: str, filename: str, data: bytes, *, mapping: Any = None,
             source: str = "", options: dict[str, Any] | None = None,
             target_seconds: float | None = None) -> Import:  # fmt: skip
    """One core import from draft to done, in this process (``mapping``: a list, or a dict by column name
    applied to the file's header; None keeps the suggestion)."""
    kinds = runtime.record_kinds
    with write_transaction(runtime.sessions) as session:
        user = load_user(session, user_id)
        imp = create_import(session, kinds, user, target, filename, data, source=source, options=options)
        chosen = list(imp.mapping)
        if isinstance(mapping, dict):
            chosen = [mapping.get(column, "") for column in open_file(imp, kinds).header]
        elif mapping is not None:
            chosen = list(mapping)
        start_import(session, kinds, imp, user, mapping=chosen, duplicates="skip", dry_run=False)
        import_id = imp.id
    return run_import(runtime.sessions, kinds, import_id, target_seconds=target_seconds)


def import_crm(
    runtime: Any,
    user_id: int,
    folder: Path,
    *,
    stages: dict[str, str] | None = None,
    currency: str = "USD",
    target_seconds: float | None = None,
) -> CrmImport:
    """The whole data set, step by step, as admin ``user_id``; what :func:`check` finds comes along.
    ``target_seconds`` sizes the batches (core's default keeps SQLite writers waiting at most 80 ms)."""
    result = CrmImport(findings=check(folder))
    step = functools.partial(run_step, runtime, user_id, target_seconds=target_seconds)
    people = people_files(folder)
    for target in ("teams", "users", "managers"):
        result.imports[target] = step(target, f"{target}.csv", people[target])
    accounts = (folder / "accounts.csv").read_bytes()
    result.imports["organisations"] = step("organisation", "accounts.csv", accounts, mapping=ORGANISATION_MAPPING)
    products = (folder / "products.csv").read_bytes()
    result.imports["products"] = step("product", "products.csv", products, mapping=PRODUCT_MAPPING)
    with write_transaction(runtime.sessions) as session:
        deal_imports.ensure_product_field(session, runtime.record_kinds)
        catalogue = dict(session.execute(select(Product.name, Product.id).where(Product.deleted_at.is_(None))).all())
    options: dict[str, Any] = {"currency": currency, "products": catalogue, **({"stages": stages} if stages else {})}
    deals = (folder / "sales_pipeline.csv").read_bytes()
    result.imports["deals"] = step("opportunity", "sales_pipeline.csv", deals, source=SOURCE, options=options)
    return result


__all__ = ["SOURCE", "SOURCES", "CrmImport", "Finding", "check", "import_crm", "open_sales_pipeline",
           "people_files", "run_step"]  # fmt: skip
