"""REST transport of the fake: routing, merge rules, body handling, 413, both doors."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import responses

from otrs_closure.testing import PASSWORDS, FakeZnuny


@pytest.fixture(params=["mock", "serve"])
def door(request: pytest.FixtureRequest) -> Iterator[tuple[FakeZnuny, str]]:
    fake = FakeZnuny.service_desk()
    context = fake.mock() if request.param == "mock" else fake.serve()
    with context as base_url:
        yield fake, base_url


def session(base_url: str, login: str = "tecnico1") -> str:
    answer = requests.post(f"{base_url}/Session", json={"UserLogin": login, "Password": PASSWORDS[login]}, timeout=10)
    sid: str = answer.json()["SessionID"]
    return sid


def error_code(answer: requests.Response) -> str | None:
    body: dict[str, Any] = answer.json()
    code: str | None = body.get("Error", {}).get("ErrorCode")
    return code


# ----------------------------------------------------------------------- query
def test_query_is_parsed_as_rest_pm_does(door: tuple[FakeZnuny, str]) -> None:
    """``[;&]`` split, ``+`` a space, repeats become arrays, a false first value stored as ``""``
    (seen in the request records, which keep the parsed query)."""
    fake, base_url = door
    expected = {
        "TicketID=1&TicketID=2;A=x+y%21": {"TicketID": ["1", "2"], "A": "x y!"},
        "ArticleLimit=0&Empty=&Flag": {"ArticleLimit": "", "Empty": "", "Flag": ""},
        "X=0&X=0": {"X": ["", "0"]},
    }
    for query, parsed in expected.items():
        requests.get(f"{base_url}/Ticket/1?{query}", timeout=10)
        assert fake.requests[-1].query == parsed


# --------------------------------------------------------------------- routing
def test_unknown_route_and_trailing_slash(door: tuple[FakeZnuny, str]) -> None:
    _, base_url = door
    for route in ("/NoExiste", "/Ticket/"):
        answer = requests.get(f"{base_url}{route}?SessionID=x", timeout=10)
        assert answer.status_code == 500
        assert answer.headers["Content-Type"] == "text/plain; charset=UTF-8"
        assert answer.text == f"HTTP::REST Error while determine Operation for request URI '{route}'."


def test_wrong_method_does_not_route(door: tuple[FakeZnuny, str]) -> None:
    _, base_url = door
    answer = requests.get(f"{base_url}/Ticket/Search", timeout=10)  # GET /Ticket/Search: TicketGet of "Search"
    assert error_code(answer) == "TicketGet.AuthFail"
    answer = requests.put(f"{base_url}/Ticket/2", json={"x": 1}, timeout=10)
    assert answer.status_code == 500


def test_unknown_web_service_gets_no_answer(door: tuple[FakeZnuny, str]) -> None:
    """Provider.pm writes nothing for an unknown web service: the nph- script's connection just
    closes (seen on the lab's Znuny 6.5.10/7.1.7, OTRS 5/6)."""
    _, base_url = door
    other = base_url.replace("GenericTicketConnectorREST", "OtroServicio")
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{other}/Session", json={"UserLogin": "tecnico1", "Password": "x"}, timeout=10)


def test_unknown_web_service_on_otobo_is_an_empty_500() -> None:
    fake = FakeZnuny.service_desk(profile="otobo")
    with fake.serve() as base_url:
        other = base_url.replace("GenericTicketConnectorREST", "OtroServicio")
        answer = requests.post(f"{other}/Session", json={"UserLogin": "tecnico1", "Password": "x"}, timeout=10)
    assert (answer.status_code, answer.content, answer.headers["Connection"]) == (500, b"", "close")


def test_webservice_id_url_works(door: tuple[FakeZnuny, str]) -> None:
    _, base_url = door
    by_id = base_url.replace("Webservice/GenericTicketConnectorREST", "WebserviceID/1")
    answer = requests.post(
        f"{by_id}/Session", json={"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"]}, timeout=10
    )
    assert "SessionID" in answer.json()


def test_routes_are_configurable() -> None:
    fake = FakeZnuny.service_desk()
    ticket_id, number = fake.new_service_desk_ticket()
    fake.set_route("TicketSearch", "GET", "/Ticket")
    fake.set_route("TicketHistoryGet", "GET", "/TicketHistory/:TicketID")
    with fake.mock() as base_url:
        sid = session(base_url)
        found = requests.get(f"{base_url}/Ticket", params={"SessionID": sid, "TicketNumber": number}, timeout=10)
        assert found.json() == {"TicketID": [str(ticket_id)]}
        history = requests.get(f"{base_url}/TicketHistory/{ticket_id}", params={"SessionID": sid}, timeout=10)
        assert history.json()["TicketHistory"][0]["TicketID"] == str(ticket_id)


# ---------------------------------------------------------------- merge rules
def test_route_beats_query_beats_body(door: tuple[FakeZnuny, str]) -> None:
    fake, base_url = door
    first, _ = fake.new_service_desk_ticket("uno")
    second, _ = fake.new_service_desk_ticket("dos")
    sid = session(base_url)
    body = {"SessionID": "invalida", "TicketID": second, "Ticket": {"Title": "cambiado"}}
    answer = requests.patch(f"{base_url}/Ticket/{first}?TicketID={second}&SessionID={sid}", json=body, timeout=10)
    assert answer.json()["TicketID"] == str(first)  # route over query over body
    assert fake.ticket(first).title == "cambiado"
    assert fake.ticket(second).title == "dos"
    # body credentials lose against the query's
    body = {"SessionID": sid, "Ticket": {"Title": "otra vez"}}
    answer = requests.patch(f"{base_url}/Ticket/{first}?SessionID=invalida", json=body, timeout=10)
    assert error_code(answer) == "TicketUpdate.AuthFail"


def test_x_otrs_header_credentials_override_everything(door: tuple[FakeZnuny, str]) -> None:
    fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = session(base_url)
    answer = requests.get(
        f"{base_url}/Ticket/{ticket_id}?SessionID=invalida", headers={"X-OTRS-Header-SessionID": sid}, timeout=10
    )
    assert answer.json()["Ticket"][0]["TicketID"] == ticket_id
    answer = requests.get(
        f"{base_url}/Ticket/{ticket_id}",
        headers={"X-OTRS-Header-UserLogin": "agente.mesa", "X-OTRS-Header-Password": PASSWORDS["agente.mesa"]},
        timeout=10,
    )
    assert answer.json()["Ticket"][0]["Owner"] == "tecnico1"
    answer = requests.patch(
        f"{base_url}/Ticket/{ticket_id}",
        json={"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"], "Ticket": {"Title": "x"}},
        headers={"X-OTRS-Header-Password": "mala"},
        timeout=10,
    )
    assert error_code(answer) == "TicketUpdate.AuthFail"


def test_credentials_in_the_query_string_work_for_patch(door: tuple[FakeZnuny, str]) -> None:
    fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    answer = requests.patch(
        f"{base_url}/Ticket/{ticket_id}?UserLogin=tecnico1&Password={PASSWORDS['tecnico1']}",
        json={"Ticket": {"Title": "por query"}},
        timeout=10,
    )
    assert answer.json()["TicketID"] == str(ticket_id)


# ------------------------------------------------------------------------ body
@pytest.mark.parametrize(
    ("payload", "content_type", "message"),
    [
        (b'{"SessionID": "x", "Ticket": {', "application/json", "Error while decoding request content."),
        (b"{}", "application/json", "Unsupported request content structure."),
        (b"[]", "application/json", "Unsupported request content structure."),
        (b'"texto"', "application/json", "Unsupported request content structure."),
        (b"0", "application/json", "Error while decoding request content."),
        (b"SessionID=x", "application/x-www-form-urlencoded", "Could not read input data"),
        (b'{"SessionID": "x"}', None, "Could not read input data"),
        (b"\xff\xfe{}", "application/json", "Could not read input data"),  # not UTF-8 (lab: Znuny 6.5.10, 7)
    ],
)
def test_transport_errors_are_plain_500(
    door: tuple[FakeZnuny, str], payload: bytes, content_type: str | None, message: str
) -> None:
    _, base_url = door
    headers = {"Content-Type": content_type} if content_type else {}
    prepared = requests.Request("PATCH", f"{base_url}/Ticket/2", data=payload, headers=headers).prepare()
    if content_type is None:
        prepared.headers.pop("Content-Type", None)
    answer = requests.Session().send(prepared, timeout=10)
    assert (answer.status_code, answer.text) == (500, message)
    assert answer.headers["Content-Type"] == "text/plain; charset=UTF-8"


def test_json_as_text_plain_is_accepted_latin1_is_not(door: tuple[FakeZnuny, str]) -> None:
    """Znuny reads the body through Web::Request, which takes UTF-8 only: a declared latin-1
    body with non-ASCII bytes is "Could not read input data" (lab: Znuny 6.5.10 and 7.1.7)."""
    fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = session(base_url)
    body = json.dumps({"SessionID": sid, "Ticket": {"Title": "Ñandú"}}, ensure_ascii=False)
    as_text = requests.patch(
        f"{base_url}/Ticket/{ticket_id}", data=body.encode(), headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert as_text.status_code == 200
    assert fake.ticket(ticket_id).title == "Ñandú"
    latin1 = requests.patch(
        f"{base_url}/Ticket/{ticket_id}",
        data=body.replace("Ñandú", "Ñu").encode("latin-1"),
        headers={"Content-Type": "text/plain; charset=ISO-8859-1"},
        timeout=10,
    )
    assert (latin1.status_code, latin1.text) == (500, "Could not read input data")
    assert fake.ticket(ticket_id).title == "Ñandú"


@pytest.mark.parametrize("profile", ["otrs6", "otobo", "otrs5"])
def test_latin1_bodies_are_converted_on_otrs_and_otobo(profile: str) -> None:
    fake = FakeZnuny.service_desk(profile=profile)
    ticket_id, _ = fake.new_service_desk_ticket()
    with fake.serve() as base_url:
        body = json.dumps({"SessionID": session(base_url), "Ticket": {"Title": "Ñandú"}}, ensure_ascii=False)
        answer = requests.patch(
            f"{base_url}/Ticket/{ticket_id}",
            data=body.encode("latin-1"),
            headers={"Content-Type": "application/json; charset=ISO-8859-1"},
            timeout=10,
        )
    assert answer.status_code == 200
    assert fake.ticket(ticket_id).title == "Ñandú"


@pytest.mark.parametrize("profile", ["otobo", "otrs6", "otrs5"])
def test_a_form_body_on_otobo_and_otrs_is_a_decode_error(profile: str) -> None:
    """OTRS and OTOBO read a form body and fail to decode it as JSON (Znuny: "Could not read input data")."""
    fake = FakeZnuny.service_desk(profile=profile)
    with fake.serve() as base_url:
        answer = requests.post(
            f"{base_url}/Session",
            data="UserLogin=tecnico1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
    assert (answer.status_code, answer.text) == (500, "Error while decoding request content.")


def test_get_body_and_chunked_body_are_ignored(door: tuple[FakeZnuny, str]) -> None:
    fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = session(base_url)
    http = requests.Session()
    answer = http.request("GET", f"{base_url}/Ticket/{ticket_id}", json={"SessionID": sid}, timeout=10)
    assert error_code(answer) == "TicketGet.AuthFail"

    def chunks() -> Iterator[bytes]:
        yield json.dumps({"SessionID": sid, "Ticket": {"Title": "x"}}).encode()

    answer = http.patch(
        f"{base_url}/Ticket/{ticket_id}", data=chunks(), headers={"Content-Type": "application/json"}, timeout=10
    )
    assert (
        answer.json()["Error"]["ErrorMessage"] == "TicketUpdate: UserLogin, CustomerUserLogin or SessionID is required!"
    )
    # the connection is still in sync afterwards
    assert http.get(f"{base_url}/Ticket/{ticket_id}", params={"SessionID": sid}, timeout=10).status_code == 200


def test_streamed_file_like_body_with_content_length(door: tuple[FakeZnuny, str]) -> None:
    fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = session(base_url)
    payload = json.dumps({"SessionID": sid, "Ticket": {"Title": "streamed"}}).encode()
    answer = requests.patch(
        f"{base_url}/Ticket/{ticket_id}",
        data=io.BytesIO(payload),
        headers={"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(payload))},
        timeout=10,
    )
    assert answer.json()["TicketID"] == str(ticket_id)
    assert fake.ticket(ticket_id).title == "streamed"


def test_413_is_judged_on_content_length(door: tuple[FakeZnuny, str]) -> None:
    fake, base_url = door
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = session(base_url)
    fake.max_length = 2000
    http = requests.Session()
    big = {"SessionID": sid, "Ticket": {"Title": "x" * 5000}}
    answer = http.patch(f"{base_url}/Ticket/{ticket_id}", json=big, timeout=10)
    assert (answer.status_code, answer.text) == (413, "Request Entity Too Large")
    assert answer.headers["Content-Type"] == "text/plain; charset=UTF-8"
    assert fake.ticket(ticket_id).title != "x" * 5000
    small = {"SessionID": sid, "Ticket": {"Title": "y" * 1000}}
    answer = http.patch(f"{base_url}/Ticket/{ticket_id}", json=small, timeout=10)  # same connection, still in sync
    assert answer.status_code == 200
    assert fake.requests[-2].status == 413


def test_unchanged_routes_and_headers_of_success(door: tuple[FakeZnuny, str]) -> None:
    _, base_url = door
    answer = requests.post(f"{base_url}/Session", json={"UserLogin": "tecnico1", "Password": "mala"}, timeout=10)
    assert answer.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert answer.headers["Connection"] == "Keep-Alive"
    assert answer.headers["Content-Length"] == str(len(answer.content))
    assert answer.content == (
        b'{"Error":{"ErrorCode":"SessionCreate.AuthFail","ErrorMessage":"SessionCreate: Authorization failing!"}}'
    )


# ----------------------------------------------------------------- door extras
def test_mock_door_registers_on_an_active_responses_mock() -> None:
    fake = FakeZnuny.service_desk()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(responses.GET, "http://other.example/ping", body="pong")
        with fake.mock("http://znuny.fake.test", requests_mock=rsps) as base_url:
            assert (
                "SessionID"
                in requests.post(
                    f"{base_url}/Session", json={"UserLogin": "lector", "Password": PASSWORDS["lector"]}, timeout=10
                ).json()
            )
            assert requests.get("http://other.example/ping", timeout=10).text == "pong"
        with pytest.raises(requests.exceptions.ConnectionError):  # unregistered again
            requests.post(f"{base_url}/Session", json={}, timeout=10)


def test_mock_door_does_not_swallow_other_hosts_or_paths() -> None:
    fake = FakeZnuny.service_desk()
    with fake.mock("http://znuny.fake.test") as base_url:
        assert base_url == "http://znuny.fake.test/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"
        assert fake.base_url == base_url
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get("http://otro.fake.test/otrs/nph-genericinterface.pl/Webservice/X/Session", timeout=10)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get("http://znuny.fake.test/otrs/index.pl", timeout=10)
    assert fake.base_url is None


def test_serve_door_keep_alive_latency_and_loopback() -> None:
    fake = FakeZnuny.service_desk()
    with fake.serve(latency=0.15) as base_url:
        assert urlsplit(base_url).hostname == "127.0.0.1"
        http = requests.Session()
        started = time.monotonic()
        for _ in range(2):
            answer = http.post(
                f"{base_url}/Session", json={"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"]}, timeout=10
            )
            assert answer.status_code == 200
        assert time.monotonic() - started >= 0.3
        # raw HTTP/1.1: two requests on one socket
        parts = urlsplit(base_url)
        assert parts.port is not None
        with socket.create_connection(("127.0.0.1", parts.port), timeout=5) as sock:
            request = f"GET {parts.path}/Ticket/1 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            sock.sendall(request + request)
            data = b""
            while data.count(b"HTTP/1.1 200") < 2:
                chunk = sock.recv(65536)
                assert chunk
                data += chunk
    assert data.count(b"Content-Length: ") == 2


def test_session_ip_binding_in_serve_mode() -> None:
    fake = FakeZnuny.service_desk(session_check_remote_ip=True)
    ticket_id, _ = fake.new_service_desk_ticket()
    with fake.serve() as base_url:
        sid = session(base_url)
        ok = requests.get(f"{base_url}/Ticket/{ticket_id}", params={"SessionID": sid}, timeout=10)
        assert "Ticket" in ok.json()
        with fake.store.lock:
            fake.store.sessions[sid].remote_addr = "10.9.8.7"  # as if created from elsewhere
        moved = requests.get(f"{base_url}/Ticket/{ticket_id}", params={"SessionID": sid}, timeout=10)
        assert error_code(moved) == "TicketGet.AuthFail"
