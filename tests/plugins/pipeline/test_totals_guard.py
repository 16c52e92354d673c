"""A quote's or an order's totals come from its lines: a write of a total outside the quote and order code
(core's write path as the API and imports use it) is refused with a message, nothing stored; the line
editor, a new version and accepting still write them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.markers import hookimpl
from voronka.plugins.pipeline import quotes, totals_guard
from voronka.plugins.pipeline.models import Order, Quote


class _Guard:
    """What pipeline's ``before_save`` hook (hooks.py) does for quotes and orders."""

    @hookimpl
    def before_save(self, session: Any, record: Any, changes: dict[str, Any], actor_id: int | None = None) -> None:
        totals_guard.before_save(session, record, changes)


@pytest.fixture
def guarded(pipeline: Any) -> Iterator[Any]:
    """The guard on the app's hooks (also when hooks.py calls it already: a second refusal changes nothing)."""
    host = pipeline.runtime.host
    guard = _Guard()
    host.pm.register(guard, name="core:pipeline-totals-test")
    host._callers.clear()
    try:
        yield pipeline
    finally:
        host.pm.unregister(guard)
        host._callers.clear()


LINE = quotes.LineInput(None, "Laptop", 2000, 50_000, 1000, 2000)


def _quote(p: Any, lines: list[quotes.LineInput] | None = None) -> int:
    customer = p.organisation("Zorya")
    with write_transaction(p.runtime.sessions) as session:
        return quotes.create_quote(session, p.kind("quote"), actor=p.uid("sales"), customer_id=customer,
                                   currency="EUR", owner={"owner_user_id": p.uid("sales")}, lines=lines).id  # fmt: skip


def test_totals_written_directly_are_refused_and_nothing_is_stored(guarded: Any) -> None:
    p = guarded
    quote_id = _quote(p, [LINE])
    before = p.get(Quote, quote_id)
    assert before.total_minor == 108_000  # 2 × 500.00, 10 % off, 20 % tax
    with pytest.raises(ValidationError) as refused:
        p.save("quote", quote_id, {"total_minor": 1, "note": "cheaper"})
    assert "worked out from its lines" in refused.value.errors["total_minor"]
    after = p.get(Quote, quote_id)
    assert (after.total_minor, after.note, after.version) == (108_000, before.note, before.version)


def test_a_new_quote_with_totals_but_no_lines_is_refused(guarded: Any) -> None:
    p = guarded
    customer = p.organisation("Zorya")
    values = {"number": "Q-X-1", "revision": 1, "customer_id": customer, "currency": "EUR", "status": "draft",
              "owner_user_id": p.uid("sales")}  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        p.save("quote", None, {**values, "subtotal_minor": 500, "total_minor": 500})
    assert set(refused.value.errors) == {"subtotal_minor", "total_minor"}
    assert p.save("quote", None, {**values, "total_minor": 0}) > 0  # zero: what no lines add up to


def test_the_line_editor_new_versions_and_orders_still_write_totals(guarded: Any) -> None:
    p = guarded
    quote_id = _quote(p)
    with write_transaction(p.runtime.sessions) as session:
        quotes.update_draft(session, p.kind("quote"), quote_id, actor=p.uid("sales"), expected_version=None,
                            lines=[LINE, LINE])  # fmt: skip
    assert p.get(Quote, quote_id).total_minor == 216_000
    with write_transaction(p.runtime.sessions) as session:
        quotes.send(session, p.kind("quote"), quote_id, actor=p.uid("sales"))
    with write_transaction(p.runtime.sessions) as session:
        copy = quotes.new_version(session, p.kind("quote"), quote_id, actor=p.uid("sales")).id
    assert p.get(Quote, copy).total_minor == 216_000
    with write_transaction(p.runtime.sessions) as session:
        quotes.send(session, p.kind("quote"), copy, actor=p.uid("sales"))
    with write_transaction(p.runtime.sessions) as session:
        order = quotes.accept(session, p.runtime.record_kinds, copy, actor=p.uid("sales"))
        order_id = order.id
    assert p.get(Order, order_id).total_minor == 216_000
    with pytest.raises(ValidationError) as refused:
        p.save("order", order_id, {"tax_minor": 0})
    assert "accepted quote" in refused.value.errors["tax_minor"]
    assert p.get(Order, order_id).tax_minor == 36_000
    p.save("order", order_id, {"note": "deliver on Monday"})  # other fields stay writable
    assert p.get(Order, order_id).note == "deliver on Monday"
