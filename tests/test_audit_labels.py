"""The label knowledge the audit adds to ``otrs_closure.note``: which labels each kind's
template writes (and which only it writes), the kind a set of labels shows, and values
typed under their label."""

from __future__ import annotations

import pytest

from otrs_closure import NoteTemplates


def test_fields_and_distinctive_fields_come_from_the_templates() -> None:
    t = NoteTemplates()
    assert t.fields("service_request") == ("description",)
    assert t.fields("user_onboarding") == ("description", "access_url", "login", "password")
    assert t.distinctive_fields("user_onboarding") == ("access_url", "login", "password")
    assert t.distinctive_fields("incident") == ("problem", "solution")
    assert t.distinctive_fields("service_request") == ()
    assert t.fields("no such kind") == ()


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"description"}, "service_request"),
        ({"password"}, "user_onboarding"),
        ({"description", "login", "access_url"}, "user_onboarding"),
        ({"solution"}, "incident"),
        ({"problem", "description"}, "incident"),
        ({"problem", "solution", "login"}, "incident"),  # more of the incident's own labels
        ({"reference"}, None),
        (set(), None),
    ],
)
def test_the_kind_a_set_of_labels_shows(fields: set[str], kind: str | None) -> None:
    assert NoteTemplates().kind_of(fields) == kind


def test_a_site_with_a_kind_of_its_own() -> None:
    t = NoteTemplates(templates={**NoteTemplates().templates, "equipment": "{label_description}: {description}\n"
                                 "{label_reference}: {reference}"})  # fmt: skip
    assert t.distinctive_fields("equipment") == ("reference",)
    assert t.kind_of({"description"}) == "service_request"


@pytest.mark.parametrize(
    ("body", "entries"),
    [
        ("Login de acceso al Sistema:\nmgarcia", [("login", "mgarcia")]),
        ("Login de acceso al Sistema:\n\nmgarcia", [("login", "")]),  # not across a blank line
        ("Login de acceso al Sistema:\nContraseña de acceso al Sistema: x", [("login", ""), ("password", "x")]),
        ("Login de acceso al Sistema:\nReferencia interna: 42", [("login", "")]),  # another field's line
        ("Login de acceso al Sistema:\nhttps://x.example.com", [("login", "https://x.example.com")]),
        ("**Login de acceso al Sistema:** mgarcia", [("login", "mgarcia")]),
        ("Login de acceso al Sistema: **", [("login", "")]),
        ("Texto libre\nLogin de acceso al Sistema = mgarcia\nmás texto", [("login", "mgarcia")]),
    ],
)
def test_values_as_people_type_them(body: str, entries: list[tuple[str, str]]) -> None:
    assert NoteTemplates().reader().entries(body) == entries
