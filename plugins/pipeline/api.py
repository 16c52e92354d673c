"""What other plugins may use of pipeline (those that list pipeline in ``requires``). Plugins that only
consume pipeline's events need nothing from here: the payloads are plain data (see :mod:`.deal_events`)."""

from __future__ import annotations

from .deal_events import DEAL_LOST, DEAL_WON, PAYLOAD_KEYS, STAGE_CHANGED
from .models import LOST, OPEN, WON, Opportunity, Order, Product, Quote, Stage, StageChange
from .stages import catalogue

__all__ = [
    "DEAL_LOST",
    "DEAL_WON",
    "LOST",
    "OPEN",
    "PAYLOAD_KEYS",
    "STAGE_CHANGED",
    "WON",
    "Opportunity",
    "Order",
    "Product",
    "Quote",
    "Stage",
    "StageChange",
    "catalogue",
]
