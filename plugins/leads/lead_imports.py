"""Leads' CSV import (core's import service) and duplicate candidates.

Core maps columns to the lead's fields; these targets replace the ones that would need ids or keys nobody
has in a spreadsheet (the kind's ``import_targets``):

- **campaign** (``campaign_id``): a campaign by its tracking code or its name (case and spacing do not
  matter); an unknown one fails the row, nothing is guessed.
- **queue** (``owner_team_id``): the owner queue by team name.
- **channel**: a channel key (``leads.web_form``) or the label of one of leads' own channels
  ("Web site form"); rows without one get the import channel (see the note in the report: core's import
  has no per-kind default yet, so it is set when the column is mapped and empty cells fall back to the
  write rules' default).
- **consent** (``marketing_consent``, with ``consent_at``/``consent_text``): yes/no, when, the wording.

:func:`duplicates` is the lead kind's matcher (system scope): the same e-mail, the same phone, or the same
name at the same company.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from voronka.core.errors import ValidationError
from voronka.core.i18n import gettext as _
from voronka.core.imports_targets import Lookups, Target, parse_bool
from voronka.core.search_keys import search_key

from . import channels, lead_duplicates
from .models import Campaign

CHANNEL_ALIASES = ("channel", "source", "канал", "джерело")


def duplicates(session: Any, values: dict[str, Any]) -> list[int]:
    """Ids of leads that may be the same inquiry (system scope), for core's import and the lead form."""
    return [lead_id for lead_id, _reason in lead_duplicates.lead_matches(session, values)]


class CampaignNames:
    """Campaigns by tracking code or name, read once per import (a company has tens of them, not millions)."""

    def __init__(self, session: Session):
        self.codes: dict[str, int] = {}
        self.names: dict[str, int] = {}
        rows = session.execute(
            select(Campaign.id, Campaign.tracking_code, Campaign.name).where(Campaign.deleted_at.is_(None))
        )
        for campaign_id, code, name in rows:
            self.codes[(code or "").strip().casefold()] = campaign_id
            self.names.setdefault(search_key(name), campaign_id)

    def __call__(self, text: str) -> int:
        raw = " ".join(text.split())
        found = self.codes.get(raw.casefold()) or self.names.get(search_key(raw))
        if found is None:
            raise ValidationError(
                _("There is no campaign “%(name)s” (write its name or tracking code).") % {"name": raw[:100]}
            )
        return found


def parse_channel(text: str) -> str:
    """A channel key as written, or the label of one of leads' own channels (either language)."""
    raw = " ".join(text.split())
    labels = {}
    for key, label, _help in channels.OWN:
        labels[label.casefold()] = key
        labels[_(label).casefold()] = key
        labels[key.removeprefix("leads.").casefold()] = key
    if raw.casefold() in labels:
        return labels[raw.casefold()]
    if "." in raw and raw == raw.lower() and len(raw) <= 60 and " " not in raw:
        return raw
    raise ValidationError(
        _("“%(text)s” is not a channel; write a channel key such as leads.web_form.") % {"text": raw[:60]}
    )


def lead_targets(session: Any, lookups: Lookups) -> list[Target]:
    """Import columns beyond the lead's own fields (campaign by name or code, owner queue by name)."""
    return [
        Target("campaign_id", _("Campaign (name or tracking code)"), CampaignNames(session),
               aliases=("campaign", "кампанія", "utm_campaign_name", "tracking code")),
        Target("owner_team_id", _("Owner queue (team name)"), lookups.team,
               aliases=("queue", "черга", "team", "команда")),
        Target("channel", _("Channel"), parse_channel, aliases=CHANNEL_ALIASES),
        Target("marketing_consent", _("Marketing consent (yes/no)"), parse_bool,
               aliases=("consent", "згода", "opt-in", "opt in", "gdpr")),
    ]  # fmt: skip
