"""The vCard reader on its own (no database): 2.1 quoted-printable and charsets, 3.0 and 4.0 parameters,
folding, escapes, year-less birthdays, messengers, several cards, broken cards, names from e-mail."""

from __future__ import annotations

import datetime as dt

import pytest

from voronka.plugins.contacts.vcard_export import card as export_card
from voronka.plugins.contacts.vcard_export import fold
from voronka.plugins.contacts.vcard_parse import VCardError, decode_bytes, name_from_email, parse
from voronka.plugins.contacts.vcard_source import card_values, classify


def one(text: str):
    (card,) = parse(text)
    assert card.error == ""
    return card


def test_version_2_1_quoted_printable_with_a_charset_and_soft_line_breaks():
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=9A=D0=BE=D0=B2=D0=B0=D0=BB=D0=B5=D0=BD=D0=BA=D0=BE;=D0=9E=\r\n"
        "=D0=BB=D0=B5=D0=BD=D0=B0;;;\r\n"
        "NOTE;CHARSET=WINDOWS-1251;ENCODING=QUOTED-PRINTABLE:=CF=F0=E8=E2=B3=F2\r\n"
        "TEL;WORK;VOICE:+380 44 123 4567\r\nTEL;CELL;PREF:+380501234567\r\nEMAIL;PREF;INTERNET:olena@example.com\r\n"
        "END:VCARD\r\n"
    )
    card = one(text)
    assert (card.version, card.last_name, card.first_name, card.note) == ("2.1", "Коваленко", "Олена", "Привіт")
    assert [(p.value, p.label, p.pref) for p in card.phones] == [
        ("+380501234567", "mobile", 1),
        ("+380 44 123 4567", "work", 100),
    ]
    assert card.emails[0].value == "olena@example.com"


def test_version_3_0_type_lists_groups_escapes_and_folding():
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Doe;John;Richter\\, James;Mr.;Sr.\nFN:John Doe\n"
        "ORG:Acme\\, Inc.;Sales\nitem1.EMAIL;type=INTERNET;type=WORK;type=pref:john@acme.example\n"
        'EMAIL;TYPE=HOME,INTERNET:john@home.example\nTEL;TYPE="work,voice":555-1\n'
        "ADR;TYPE=WORK:;Suite 5;1 Main St\\nBuilding 2;Springfield;IL;62701;USA\n"
        "NOTE:first line\\nsecond\\; with semicolon and a long folded\n  continuation\n"
        "X-SKYPE:john.doe\nX-TELEGRAM:@johnd\nIMPP:xmpp:john@jabber.example\nURL:http\\://acme.example\nEND:VCARD\n"
    )
    card = one(text)
    assert (card.middle_name, card.organisation, card.department) == ("Richter, James", "Acme, Inc.", "Sales")
    assert [(p.value, p.label) for p in card.emails] == [("john@acme.example", "work"), ("john@home.example", "home")]
    assert card.phones[0].label == "work"
    (address,) = card.addresses
    assert (address.street, address.city, address.region, address.postcode, address.country, address.label) == (
        "Suite 5, 1 Main St, Building 2",
        "Springfield",
        "IL",
        "62701",
        "USA",
        "work",
    )
    assert card.note == "first line\nsecond; with semicolon and a long folded continuation"
    assert [(p.value, p.label) for p in card.channel("messenger")] == [
        ("john.doe", "skype"),
        ("@johnd", "telegram"),
        ("john@jabber.example", "jabber"),
    ]
    assert card.channel("web")[0].value == "http://acme.example"


def test_version_4_0_pref_parameter_uri_phones_and_a_birthday_without_a_year():
    text = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Simon Perreault\r\nN:Perreault;Simon;;;ing. jr,M.Sc.\r\nBDAY:--0203\r\n"
        'TEL;VALUE=uri;TYPE="work,voice";PREF=2:tel:+1-418-656-9254;ext=102\r\n'
        'TEL;VALUE=uri;TYPE="work,cell,voice";PREF=1:tel:+1-418-262-6501\r\nKIND:individual\r\nEND:VCARD\r\n'
    )
    card = one(text)
    assert (card.birthday, card.birthday_no_year) == (dt.date(1604, 2, 3), True)
    assert [p.value for p in card.phones] == ["+1-418-262-6501", "+1-418-656-9254"]  # PREF=1 first
    assert card.phones[0].label == "mobile"


def test_an_organisation_card_and_a_card_named_from_its_e_mail():
    org, nameless = parse(
        "BEGIN:VCARD\nVERSION:4.0\nKIND:org\nFN:Viagenie\nORG:Viagenie\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nEMAIL;TYPE=work:olena.kovalenko+crm@example.com\nEND:VCARD\n"
    )
    assert classify(org) == "organisation" and classify(nameless) == "person"
    values, notes = card_values(nameless, "person", "UA")
    assert values["name"] == "Olena Kovalenko" and "from the e-mail address" in notes[0]
    assert name_from_email("j_doe77@x.org") == "J Doe"


def test_broken_cards_are_reported_one_by_one_and_the_rest_is_read():
    cards = parse(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Good One\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nthis line has no colon at all ###\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nNOTE:nothing to call it by\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Cut off\n"
    )
    assert [c.formatted_name for c in cards] == ["Good One", "", "", ""]
    assert "not a vCard property" in cards[1].error and "END:VCARD" in cards[3].error
    assert [classify(c) for c in cards] == ["person", "error", "error", "error"]
    assert "nothing to call it by" in cards[2].error


def test_binary_or_empty_files_are_not_vcards():
    with pytest.raises(VCardError):
        decode_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(VCardError):
        parse("name,email\nOlena,o@example.com\n")


def test_export_escapes_folds_and_reads_back():
    class Party:
        id, kind, name, first_name, middle_name, last_name = 7, "person", "Олена Коваленко", "Олена", "", "Коваленко"
        job_title, birthday, description = "Бухгалтер", dt.date(1604, 12, 24), "Line one; two, three\nnext " * 5
        primary_email, primary_phone, city, country, updated_at = "olena@example.com", "+380501234567", "", "", None

    text = export_card(Party(), [], [])
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    back = one(text)
    assert (back.first_name, back.last_name, back.title) == ("Олена", "Коваленко", "Бухгалтер")
    assert back.note == Party.description.strip() and back.birthday == dt.date(1604, 12, 24)
    assert [p.value for p in back.emails] == ["olena@example.com"]
    assert fold("x" * 80).split("\r\n") == ["x" * 75, " " + "x" * 5]
