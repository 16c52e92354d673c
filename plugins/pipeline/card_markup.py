"""A board card's HTML, written in Python rather than by a Jinja macro.

A board shows up to 250 cards; as a macro each cost about 40 µs (the call, two dozen escapes, a dozen
attribute look-ups), a third of a board's render. Here a card is one ``str.format`` of a fixed pattern with
its seven text fields escaped; the words it shows are looked up once per language. The markup is the one
the board's JavaScript (``static/board.js``) and CSS expect: ``article.deal-card#deal-N`` with
``data-deal``/``data-version``/``data-stage``, the name link ``#deal-name-N``, and the move and edit buttons.
"""

from __future__ import annotations

import functools
from typing import Any

from markupsafe import Markup, escape

from voronka.core import i18n
from voronka.core.i18n import gettext as _

_CARD = (
    '<article class="deal-card{classes}" id="deal-{id}" role="listitem" data-deal="{id}" data-version="{version}"'
    ' data-stage="{stage}"{drag}>\n'
    '<a class="deal-name" id="deal-name-{id}" href="/pipeline/deals/{id}">{name}</a>\n'
    "{customer}\n"
    '<div class="deal-line"><span class="money">{amount}</span>{close}</div>\n'
    '<div class="deal-line deal-foot">{owner}<span class="deal-days{days_class}">{days}{lingering}</span>'
    '<span class="deal-prob">{probability} %</span></div>\n'
    "{actions}\n"
    "</article>"
)
_CUSTOMER = '<a class="deal-customer" href="/contacts/{id}">{name}</a>'
_CLOSE = '<time datetime="{iso}" class="deal-close{overdue}">{note}{text}</time>'
_OWNER = '<span class="avatar deal-owner" title="{name}">{initials}</span>'
_ACTIONS = (
    '<div class="deal-actions"><button type="button" class="link deal-move-btn" data-move aria-haspopup="dialog"'
    ' aria-describedby="deal-name-{id}">{move}</button><button type="button" class="link deal-edit" data-edit'
    ' aria-describedby="deal-name-{id}">{edit}</button></div>'
)


@functools.lru_cache(maxsize=32)
def _words(language: str) -> dict[str, str]:
    """The card's fixed words in ``language``, escaped once."""
    return {
        "overdue": f'<span class="sr-only">{escape(_("Overdue:"))} </span>',
        "no_close": f'<span class="deal-close muted">{escape(_("no close date"))}</span>',
        "lingering": f'<span class="sr-only"> {escape(_("(longer than expected)"))}</span>',
        "move": str(escape(_("Move to…"))),
        "edit": str(escape(_("Edit"))),
    }


def card_html(c: Any, can_edit: bool) -> Markup:
    """The card of ``c`` (a :class:`~.board_query.Card`), with the drag handle and buttons for editors."""
    words = _words(i18n.current_language.get())
    if c.expected_close is not None:
        close = _CLOSE.format(iso=c.expected_close.isoformat(), overdue=" overdue" if c.overdue else "",
                              note=words["overdue"] if c.overdue else "", text=escape(c.close_text))  # fmt: skip
    else:
        close = words["no_close"]
    classes = (" is-overdue" if c.overdue else "") + (" is-lingering" if c.lingering else "")
    return Markup(
        _CARD.format(
            classes=classes,
            id=int(c.id),
            version=int(c.version),
            stage=int(c.stage_id),
            drag=' draggable="true"' if can_edit else "",
            name=escape(c.name),
            customer=_CUSTOMER.format(id=int(c.customer_id or 0), name=escape(c.customer)) if c.customer else "",
            amount=escape(c.amount_text),
            close=close,
            owner=_OWNER.format(name=escape(c.owner_name), initials=escape(c.owner_initials))
            if c.owner_initials
            else "",
            days_class=" lingering" if c.lingering else "",
            days=escape(c.days_text),
            lingering=words["lingering"] if c.lingering else "",
            probability=int(c.probability),
            actions=_ACTIONS.format(id=int(c.id), move=words["move"], edit=words["edit"]) if can_edit else "",
        )
    )
