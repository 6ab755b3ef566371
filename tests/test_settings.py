"""ClosureSettings details not covered by the client tests."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from otrs_closure import ClosureSettings, InputError

BASE = {"username": "u", "password": "p", "owner_login": "agente.mesa"}


@pytest.mark.parametrize(
    ("given", "root", "path", "webservice"),
    [
        (
            "https://mesa.example.gob.mx",
            "https://mesa.example.gob.mx",
            "/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST",
            "GenericTicketConnectorREST",
        ),
        (
            "https://mesa.example.gob.mx/otrs/nph-genericinterface.pl/Webservice/MesaREST/",
            "https://mesa.example.gob.mx",
            "/otrs/nph-genericinterface.pl/Webservice/MesaREST",
            "MesaREST",
        ),
        (
            "http://127.0.0.1:8080/znuny/nph-genericinterface.pl/Webservice/Mesa%20REST",
            "http://127.0.0.1:8080",
            "/znuny/nph-genericinterface.pl/Webservice/Mesa%20REST",
            "Mesa REST",
        ),
        (
            "https://h.mx/otrs/nph-genericinterface.pl/WebserviceID/3",
            "https://h.mx",
            "/otrs/nph-genericinterface.pl/WebserviceID/3",
            "GenericTicketConnectorREST",
        ),
    ],
)
def test_a_whole_web_service_url_is_split(given: str, root: str, path: str, webservice: str) -> None:
    s = ClosureSettings(base_url=given, **BASE)  # type: ignore[arg-type]
    assert (s.base_url, s.webservice) == (root, webservice)
    assert s.service_url == root + path


def test_explicit_gi_path_wins_over_the_split() -> None:
    s = ClosureSettings(
        base_url="https://h.mx/otrs/nph-genericinterface.pl/Webservice/A",  # type: ignore[arg-type]
        gi_path="/custom/nph-genericinterface.pl/Webservice/B",
        **BASE,
    )
    assert s.service_url == "https://h.mx/custom/nph-genericinterface.pl/Webservice/B"


def test_settings_are_frozen_and_mask_the_password() -> None:
    s = ClosureSettings.build(base_url="https://h.mx", password="Canary-991", username="u", owner_login="o")
    assert "Canary-991" not in repr(s) and "Canary-991" not in str(s.model_dump())
    with pytest.raises(ValidationError):
        s.base_url = "https://other.mx"  # type: ignore[misc]


def test_build_names_the_field() -> None:
    with pytest.raises(InputError) as info:
        ClosureSettings.build(base_url="ftp://h.mx", **BASE)
    assert info.value.field == "base_url"
