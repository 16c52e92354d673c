"""Leads' extension points (hook API of the leads plugin, version 1.0).

Other plugins add capture channels, what a qualified lead can become, data a qualification script may read
and things a script step may do. A plugin that does not require leads (pipeline) answers these hooks with
``@hookimpl(optionalhook=True)`` and returns **plain data** — dicts with the keys documented here, holding
strings, numbers and callables — so it never imports leads (DESIGN §3). Leads reads them into its own
dataclasses (:mod:`voronka.plugins.leads.contract`) and reports a malformed answer naming the plugin.

Keys are namespaced by plugin: ``pipeline.opportunity``, ``telephony.call``.
"""

from __future__ import annotations

from typing import Any

from voronka.core.markers import hookspec

HOOK_API_VERSION = "1.0"


@hookspec
def lead_channels() -> list[dict[str, Any]]:
    """The capture channels you add, as dicts: ``{"key": "telephony.call", "label": "Phone call",
    "description": "…"}``. Called when leads lists channels (forms, filters, the channel report); a lead
    keeps its channel key even after the plugin that added it is disabled (the report shows the key)."""


@hookspec
def qualification_outcomes() -> list[dict[str, Any]]:
    """What a qualified lead can become, as dicts::

        {"key": "pipeline.opportunity", "label": "Opportunity", "kind": "opportunity",
         "after": ("leads.organisation", "leads.person"),   # outcomes created before this one, if chosen
         "default": True,                                    # ticked by default on the qualify screen
         "fields": fields(session) -> [(target, label), …],  # mapping targets: fields and custom.<key>
         "defaults": {target: source, …},                    # built-in mapping (sources: lead.<field>,
                                                             #   lead.custom.<key>, answer.<step>)
         "create": create(ctx) -> record_id}

    ``create`` runs inside the qualification's single transaction through the core write path (so rules,
    audit and events apply) and returns the new record's id; raising rolls back the whole qualification
    and the lead stays open and intact. ``ctx`` has ``session``, ``actor`` (the user), ``lead`` (a dict of
    the lead's fields, ``custom`` and ``channel``), ``values`` (this outcome's mapped values, target →
    value), ``answers`` (step key → answer), ``created`` (outcome key → ``(kind, id)`` of the outcomes
    already made in this qualification, e.g. the organisation an opportunity belongs to) and ``kinds`` (the
    app's registered record kinds, to save through ``voronka.core.writes.save``)."""


@hookspec
def qualification_lookups() -> list[dict[str, Any]]:
    """Data a qualification script may read to branch on, as dicts::

        {"key": "pipeline.open_deals", "label": "Open deals of this organisation",
         "type": "bool" | "number" | "text",
         "run": run(session, lead) -> value}

    ``run`` is called through the system scope (it may look beyond what the user can see: "is this an
    existing customer?" must be answered even when the customer belongs to someone else), with ``lead``
    a dict of the lead's fields; it returns a value of its ``type`` and must not write."""


@hookspec
def qualification_actions() -> list[dict[str, Any]]:
    """What a script step may do, as dicts::

        {"key": "leads.create_task", "label": "Create a task",
         "params": [(name, label, type), …],      # what the script author fills in; type: text|int|user|team
         "phase": "inside" | "after",             # in the answer's transaction, or after commit (outbox)
         "run": run(ctx, params) -> None}

    ``ctx`` is as for outcomes (``session``, ``actor``, ``lead``, ``answers``) plus ``lead_id``. An
    ``inside`` action that raises rolls the answer back and shows its message; an ``after`` action is
    delivered through the outbox (event ``leads.action``) at least once, so it must be idempotent."""
