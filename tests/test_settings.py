"""ClosureSettings details not covered by the client tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import TICKET_ID, door, new_client, service_desk
from pydantic import ValidationError

from otrs_closure import ClosureClient, ClosureSettings, InputError, ServiceRequest

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


def test_an_unknown_operation_in_the_routes_is_refused_with_a_suggestion() -> None:
    with pytest.raises(InputError, match="did you mean TicketSearch") as ei:
        ClosureSettings.from_env({"OTRS_CLOSURE_BASE_URL": "https://h.mx", "OTRS_CLOSURE_USERNAME": "u",
                                  "OTRS_CLOSURE_PASSWORD": "p", "OTRS_CLOSURE_OWNER_LOGIN": "o",
                                  "OTRS_CLOSURE_ROUTES": '{"TicketSerch": {"method": "GET", "path": "/Ticket"}}'})
    assert ei.value.field == "routes"


def test_a_misspelled_variable_is_warned_about_with_the_right_name() -> None:
    from otrs_closure import SettingsWarning

    env = {"OTRS_CLOSURE_BASE_URL": "https://h.mx", "OTRS_CLOSURE_USERNAME": "u", "OTRS_CLOSURE_PASSWORD": "p",
           "OTRS_CLOSURE_OWNER_LOGIN": "o", "OTRS_CLOSURE_READ_TIMOUT": "5",
           # not settings, and not to be warned about: the suite's and the onboarding passwords
           "OTRS_CLOSURE_TEST_BASE_URL": "x", "OTRS_CLOSURE_ONBOARDING_PASSWORD_MGARCIA": "Temporal#2026"}
    with pytest.warns(SettingsWarning) as record:
        s = ClosureSettings.from_env(env)
    assert [str(w.message) for w in record] == [
        "OTRS_CLOSURE_READ_TIMOUT is not a setting; did you mean OTRS_CLOSURE_READ_TIMEOUT?"]
    assert s.read_timeout == 60.0


@pytest.mark.parametrize("name", ["OTRS_CLOSURE_ONBOARDING_PASSWORD", "OTRS_CLOSURE_ONBOARDING_PASSWORD_MGARCIA_2"])
def test_onboarding_password_variables_are_the_documented_ones(name: str) -> None:
    from otrs_closure.settings import check_password_variable

    assert check_password_variable(name) == name


@pytest.mark.parametrize("name", ["OTRS_CLOSURE_PASSWORD", "HOME", "PATH", "OTRS_CLOSURE_ONBOARDING_PASSWORDX",
                                  "otrs_closure_onboarding_password", "Temporal#2026"])
def test_no_other_variable_may_carry_an_onboarding_password(name: str) -> None:
    from otrs_closure.settings import check_password_variable

    with pytest.raises(InputError) as ei:
        check_password_variable(name)
    assert ei.value.field == "password_env" and "Temporal" not in str(ei.value)


@pytest.mark.parametrize("server", ["otrs5", "otrs6", "otobo", "znuny65", "znuny7"])
def test_a_named_server_sets_what_would_otherwise_be_learned(server: str) -> None:
    from otrs_closure import PROFILES, ClosureClient

    client = ClosureClient(base_url="https://h.mx", username="u", password="p", owner_login="o", server=server)
    info = client.server
    assert info.profile == server and info.product == PROFILES[server].product
    assert info.article_fields == PROFILES[server].article_fields.name
    assert info.search_route == PROFILES[server].routes["TicketSearch"]
    assert info.session_header is PROFILES[server].session_header
    assert all(v.startswith("settings") for v in info.sources.values())
    with pytest.raises(InputError, match="unknown server"):
        ClosureSettings(base_url="https://h.mx", server="otrs7", **BASE)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["otrs-closure\r\nX-Injected: 1", "  ", "tab\there"])
def test_header_values_are_one_printable_line(bad: str) -> None:
    with pytest.raises(InputError) as ei:
        ClosureSettings.build(base_url="https://h.mx", user_agent=bad, **BASE)
    assert ei.value.field == "user_agent"


def test_the_readme_lists_every_setting_with_its_variable_and_default() -> None:
    from pathlib import Path

    from pydantic_core import PydanticUndefined

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for name, field in ClosureSettings.model_fields.items():
        default = field.default
        shown = ("{} (the server's)" if field.default_factory else "required") if default is PydanticUndefined \
            else repr(default)
        row = f"| `{name}` | `OTRS_CLOSURE_{name.upper()}` | {shown} | {field.description} |"
        assert row in readme, row


def test_session_create_over_get_is_refused_before_any_request() -> None:
    # A GET carries its parameters in the URL: the agent's password would be in the
    # server's and proxies' access logs, urllib3's DEBUG log and the text of a connection
    # error.
    with pytest.raises(InputError) as ei:
        ClosureClient(
            "https://mesa.example.gob.mx",
            "tecnico1",
            "Secreto#2026",
            "agente.mesa",
            routes={"SessionCreate": {"method": "GET", "path": "/Session"}},
        )
    assert ei.value.field == "routes"
    assert "SessionCreate" in str(ei.value)


def test_relative_paths_are_fixed_when_the_settings_are_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ca_bundle and lock_dir are checked against the working directory when the settings
    # are made, but were used relative to whatever it is when a request or a lock is made
    # (pyotrs resolves the bundle when a pooled client is created, lazily): a process that
    # changes directory got a raw ValueError, or locked files in another directory.
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "locks").mkdir()
    monkeypatch.chdir(tmp_path)
    fake = service_desk()
    client = new_client(ca_bundle="ca.pem", lock_dir="locks")
    monkeypatch.chdir("/")
    with door(fake) as wire:
        client.close(ticket_id=TICKET_ID, attention=ServiceRequest(description="x"))
        assert {c.request.req_kwargs["verify"] for c in wire.calls} == {str(tmp_path / "ca.pem")}
    assert [p.name for p in (tmp_path / "locks").iterdir()]
