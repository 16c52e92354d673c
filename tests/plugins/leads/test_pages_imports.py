"""Leads' CSV import through core's import service (plugins/leads/lead_imports.py): campaign by name or
tracking code, owner queue by team name, channel by key or label, consent; bad rows reported and not
half-written; duplicates by e-mail, phone, name + company."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from voronka.core.db import write_transaction
from voronka.core.errors import ValidationError
from voronka.core.imports import create_import, run_import, start_import
from voronka.core.models_imports import Import, ImportRow
from voronka.plugins.leads import lead_imports
from voronka.plugins.leads.models import Lead


@pytest.fixture
def app(make_app: Any) -> Any:
    return make_app(run_jobs_in_server=False)


def run(leads: Any, text: str, duplicates: str = "skip", user: str = "admin") -> Import:
    runtime = leads.runtime
    with write_transaction(runtime.sessions) as session:
        viewer = leads.viewer(user)
        imp = create_import(session, runtime.record_kinds, viewer, "lead", "leads.csv", text.encode())
        start_import(session, runtime.record_kinds, imp, viewer, mapping=list(imp.mapping), duplicates=duplicates,
                     dry_run=False)  # fmt: skip
        import_id = imp.id
    return run_import(runtime.sessions, runtime.record_kinds, import_id)


def outcomes(leads: Any, import_id: int) -> dict[int, tuple[str, str]]:
    with leads.runtime.sessions() as session:
        found = session.scalars(select(ImportRow).where(ImportRow.import_id == import_id).order_by(ImportRow.row))
        return {r.row: (r.outcome, r.message) for r in found}


def all_leads(leads: Any) -> dict[str, Lead]:
    with leads.runtime.sessions() as session:
        found = {lead.email or lead.name: lead for lead in session.scalars(select(Lead))}
        for lead in found.values():
            session.expunge(lead)
        return found


def test_a_csv_with_good_and_bad_rows(leads: Any) -> None:
    campaign = leads.campaign("Spring webinar", "spring", channel="leads.campaign")
    done = run(leads,
               "first_name,last_name,email,phone,campaign,queue,channel,consent\n"
               "Olena,Koval,olena@example.com,067 123 45 67,SPRING,Inbound sales,Web site form,yes\n"
               "Ivan,Petrenko,ivan@example.com,,Spring webinar,,leads.referral,no\n"
               "Bad,Mail,not-an-address,,,,,\n"
               "No,Campaign,nc@example.com,,Autumn,,,\n"
               "No,Queue,nq@example.com,,,Nobody team,,\n"
               "Bad,Consent,bc@example.com,,,,,maybe\n")  # fmt: skip
    results = outcomes(leads, done.id)
    assert (done.created, done.failed) == (2, 4), results
    assert "no campaign “Autumn”" in results[5][1]
    assert "no team called “Nobody team”" in results[6][1]
    found = all_leads(leads)
    olena, ivan = found["olena@example.com"], found["ivan@example.com"]
    assert olena.campaign_id == campaign == ivan.campaign_id
    assert olena.owner_team_id == leads.team_id("Inbound sales") and olena.owner_user_id is None
    assert olena.channel == "leads.web_form" and ivan.channel == "leads.referral"
    assert olena.marketing_consent is True and ivan.marketing_consent is False
    assert olena.phone_key == "+380671234567"
    assert not any(e in found for e in ("not-an-address", "nc@example.com", "nq@example.com", "bc@example.com"))


def test_duplicates_by_email_phone_and_name_with_company(leads: Any) -> None:
    first = leads.lead("Olena", "Koval", email="olena@example.com", phone="067 123 45 67", company="Sonyakh")
    with leads.runtime.sessions() as session:
        assert lead_imports.duplicates(session, {"email": " OLENA@example.com"}) == [first]
        assert lead_imports.duplicates(session, {"phone": "+380671234567"}) == [first]
        assert lead_imports.duplicates(session, {"first_name": "Olena", "last_name": "Koval",
                                                 "company": "«Sonyakh»"}) == [first]  # fmt: skip
        assert lead_imports.duplicates(session, {"first_name": "Olena", "last_name": "Koval"}) == []
        assert lead_imports.duplicates(session, {"email": "junk", "phone": "12"}) == []
    done = run(leads, "first_name,email\nOlena,olena@example.com\nNew,new@example.com\n")
    assert (done.created, done.skipped) == (1, 1)


def test_parse_channel_reads_keys_and_labels() -> None:
    assert lead_imports.parse_channel("Phone / contact centre") == "leads.phone"
    assert lead_imports.parse_channel("referral") == "leads.referral"
    assert lead_imports.parse_channel("partner.expo") == "partner.expo"
    with pytest.raises(ValidationError):
        lead_imports.parse_channel("Somewhere else")


def test_a_file_without_a_channel_column_imports_leads_from_the_import_channel(leads: Any) -> None:
    done = run(leads, "first_name,last_name,email\nMarta,Shevchuk,marta@example.com\n")
    assert (done.created, done.failed) == (1, 0)
    assert all_leads(leads)["marta@example.com"].channel == "leads.import"
