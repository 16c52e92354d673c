"""Leads' own capture channels (answers to ``lead_channels``); other plugins add theirs."""

from __future__ import annotations

from typing import Any

from voronka.core.i18n import N_

OWN: tuple[tuple[str, str, str], ...] = (
    ("leads.web_form", N_("Web site form"), N_("The public form on the company's web site or a landing page.")),
    ("leads.phone", N_("Phone / contact centre"), N_("A call taken in the contact centre.")),
    ("leads.email", N_("E-mail"), N_("Mail from an unknown sender to a sales mailbox.")),
    ("leads.campaign", N_("Marketing campaign"), N_("A response to a marketing campaign.")),
    ("leads.import", N_("Import"), N_("A list imported from a file.")),
    ("leads.api", N_("API / integration"), N_("Sent by another system with an API key.")),
    ("leads.referral", N_("Referral"), N_("Recommended by a customer or a partner.")),
    ("leads.manual", N_("Entered by hand"), N_("Typed in by a sales person.")),
)

WEB_FORM, PHONE, EMAIL, CAMPAIGN, IMPORT, API, REFERRAL, MANUAL = (key for key, _label, _help in OWN)


def own_channels() -> list[dict[str, Any]]:
    return [{"key": key, "label": label, "description": help_text} for key, label, help_text in OWN]
