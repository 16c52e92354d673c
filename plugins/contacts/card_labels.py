"""Words the card shows for field names and write sources (history, details), translated when shown."""

from __future__ import annotations

from voronka.core.i18n import N_

SOURCE_LABELS = {"form": N_("Form"), "bulk": N_("Bulk action"), "import": N_("Import"), "api": N_("API")}
FIELD_LABELS = {
    "": N_("Contact"),
    "name": N_("Name"),
    "first_name": N_("First name"),
    "middle_name": N_("Middle name"),
    "last_name": N_("Last name"),
    "job_title": N_("Job title"),
    "birthday": N_("Birthday"),
    "legal_name": N_("Legal name"),
    "registration_no": N_("Registration no."),
    "industry": N_("Industry"),
    "description": N_("Description"),
    "primary_email": N_("Primary e-mail"),
    "primary_phone": N_("Primary phone"),
    "city": N_("City"),
    "country": N_("Country"),
    "do_not_contact": N_("Do not contact"),
    "marketing_consent": N_("Marketing consent"),
    "consent_at": N_("Consent given"),
    "consent_source": N_("Consent source"),
    "owner_user_id": N_("Owner"),
    "owner_team_id": N_("Team"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "web": N_("Web site"),
    "messenger": N_("Messenger"),
    "address": N_("Address"),
    "attachment": N_("Attachment"),
}
