"""Secrets never leave the two request bodies that need them.

A canary agent password and a canary onboarding password go through closures that
succeed and that fail in every way; neither may appear in any log record (all loggers, at
DEBUG), exception, receipt, plan or repr. The agent password travels only in the
SessionCreate body, the onboarding password only in the step-1 body."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import requests
import responses
from helpers import (
    AGENT_LOGIN,
    BASE_URL,
    OWNER_LOGIN,
    TICKET_ID,
    TICKET_NUMBER,
    Answer,
    after_step1,
    chain_texts,
    door,
    gi_error,
    is_step1,
    make_formats,
    no_http,
    service_desk,
    sessions,
)

from otrs_closure import (
    AccessDenied,
    AuthenticationError,
    ClosureClient,
    ClosureConflict,
    FormatFiles,
    InputError,
    InvalidParameter,
    OtrsClosureError,
    PartialClosure,
    ReadTimeout,
    RequestTooLarge,
    ServerError,
    ServiceRequest,
    TicketNotFound,
    TransportError,
    UserOnboarding,
)
from otrs_closure.testing import PASSWORDS, FakeZnuny, Fault, WriteStep, request_body_bytes

AGENT_CANARY = "AgentCanary-7f3e9b1d-Ñ$pw"
ONBOARD_CANARY = "OnboardCanary-c41a88e2-ü%pw"
CANARIES = (AGENT_CANARY, ONBOARD_CANARY)


def onboarding(password: str = ONBOARD_CANARY) -> UserOnboarding:
    return UserOnboarding(description="Alta en el sistema de nómina.", access_url="https://nomina.example.gob.mx",
                          login="mgarcia", password=password)


def client(**kw: Any) -> ClosureClient:
    return ClosureClient(BASE_URL, AGENT_LOGIN, kw.pop("password", AGENT_CANARY), OWNER_LOGIN,
                         sleep=lambda s: None, **kw)


def canary_desk() -> FakeZnuny:
    """The service desk where the agent's password is the canary."""
    fake = service_desk()
    with fake.store.lock:
        agent = fake.store.agent_by_login(AGENT_LOGIN)
        assert agent is not None
        agent.password = AGENT_CANARY
    return fake


@pytest.fixture
def fake() -> FakeZnuny:
    return canary_desk()


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records
    for name in ("otrs_closure", "urllib3", "requests", "pyotrs", "responses", "tenacity"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


def texts_of_logs(caplog) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    out = []
    for r in caplog.records:
        out += [r.getMessage(), repr(r.args), formatter.format(r)]
    return out


def texts_of_error(exc: BaseException) -> list[str]:
    out = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    if isinstance(exc, OtrsClosureError):
        out.append(json.dumps(exc.to_dict(), ensure_ascii=False))
    if isinstance(exc, PartialClosure):
        out += [repr(exc.receipt), exc.receipt.model_dump_json(), str(exc.cause), repr(exc.cause)]
    return out


def assert_no_canary(texts: list[str], also: tuple[str, ...] | list[str] = ()) -> None:
    for t in texts:
        for c in (*CANARIES, *also):
            assert c not in t, f"secret leaked into: {t[:300]}"
    assert texts  # something was checked


def assert_wire(fake: FakeZnuny, wire: responses.RequestsMock) -> None:
    """Agent password only in SessionCreate bodies; onboarding password only in step-1 bodies.

    The wire holds every request as sent: URL, headers and body (a streamed body the fake
    read is gone from it, so those are checked as the fake decoded them)."""
    assert wire.calls
    bodies: list[tuple[str, Any]] = []
    for call in wire.calls:
        url, method = str(call.request.url), str(call.request.method)
        head = url + "".join(f"\n{k}: {v!s}" for k, v in call.request.headers.items())
        assert AGENT_CANARY not in head and ONBOARD_CANARY not in head, head[:300]
        raw = request_body_bytes(call.request.body)
        if raw:
            bodies.append(("SessionCreate" if url.endswith("/Session") else method, json.loads(raw)))
    bodies += [("SessionCreate" if r.operation == "SessionCreate" else r.method, r.body) for r in fake.requests]
    for operation, body in bodies:
        text = json.dumps(body, ensure_ascii=False)
        if AGENT_CANARY in text:
            assert operation == "SessionCreate" and body["Password"] == AGENT_CANARY
        if ONBOARD_CANARY in text:
            assert operation == "PATCH" and is_step1(body)
            assert ONBOARD_CANARY in body["Article"]["Body"]


def assert_reprs_clean(c: ClosureClient, formats: FormatFiles | None = None) -> None:
    att = onboarding()
    texts = [repr(c), str(c), repr(c.settings), str(c.settings), c.settings.model_dump_json(),
             repr(c.settings.model_dump()), repr(c.server), repr(att), str(att), att.model_dump_json(),
             repr(att.model_dump())]
    if formats is not None:
        texts += [repr(formats), formats.model_dump_json()]
    assert_no_canary(texts)


def test_successful_closure_and_its_plan_leak_nothing(fake: FakeZnuny, logs, tmp_path):
    formats = make_formats(tmp_path)
    c = client()
    with door(fake) as wire:
        plan = c.plan(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
        receipt = c.close(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
        again = c.close(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
        assert receipt.complete and again.writes_sent == 0
        # Neither do the session ids (a session is as good as the password until it expires).
        assert sessions(fake)
        assert_no_canary(texts_of_logs(logs), also=sessions(fake))
        assert_no_canary([repr(plan), json.dumps(plan.to_dict(), ensure_ascii=False), repr(receipt),
                          receipt.model_dump_json(), repr(again)])
        # The plan masks the onboarding password, the session and the agent password.
        d = plan.to_dict()
        assert d["requests"][0]["body"] == {"UserLogin": AGENT_LOGIN, "Password": "********"}
        note = [r for r in d["requests"] if r.get("body", {}).get("Article", {}).get("Subject") == "Atendido"][0]
        assert "Contraseña de acceso al Sistema: ********" in note["body"]["Article"]["Body"]
        # Wherever the session travels (header of a GET, query, body), the plan masks it.
        assert all(
            r.get("body", r.get("query", {})).get("SessionID", (r.get("headers") or {}).get("X-OTRS-Header-SessionID"))
            == "********"
            for r in d["requests"][1:]
        )
        assert_reprs_clean(c, formats)
        # On the wire: exactly where needed, and really there.
        assert_wire(fake, wire)
        sent = [(call.request.url, call.request.body) for call in wire.calls]
    logins = [(url, body) for url, body in sent if url.endswith("/Session")]
    assert len(logins) == 1 and AGENT_CANARY in logins[0][1].decode()  # the raw JSON, not \u-escaped
    step1 = [r for r in fake.requests if r.operation == "TicketUpdate" and is_step1(r.body)]
    assert len(step1) == 1
    assert f"Contraseña de acceso al Sistema: {ONBOARD_CANARY}" in step1[0].body["Article"]["Body"]
    fake.assert_ticket(TICKET_ID, state="Atendido", owner=OWNER_LOGIN)


# Each failure is arranged on the fake (and the client) before the door opens; it returns
# the Answers, if any, that plain responses gives in front of the fake.
Arrange = Callable[[FakeZnuny, ClosureClient], tuple[Answer, ...]]


def _inject(*args: Any, **kw: Any) -> Arrange:
    def arrange(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
        fake.inject(*args, **kw)
        return ()

    return arrange


def _answer(*args: Any, **kw: Any) -> Arrange:
    return lambda fake, c: (Answer(*args, **kw),)


def _disable_the_agent(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
    fake.set_agent_valid(AGENT_LOGIN, False)  # SessionCreate.AuthFail for the canary password
    return ()


def _atendido_is_pending(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
    fake.add_state("Atendido", "pending reminder", state_id=10)  # step 1 lacks the PendingTime
    return ()


def _timeouts_on_the_note(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
    # Znuny writes nothing (fails on the state) and its answer never arrives, four times.
    fake.fail_write(WriteStep.STATE, times=4)
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketUpdate", call=2, times=4)
    return ()


def _remove_the_ticket(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
    with fake.store.lock:  # the search finds nothing
        del fake.store.tickets[TICKET_ID]
    return ()


def _other_closure(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
    fake.add_article(TICKET_ID, subject="Atendido", body="Otro cierre.")
    return ()


def _owner_disabled_after_the_note(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
    return (after_step1(lambda: fake.set_agent_valid(OWNER_LOGIN, False)),)


def _lost_note_then_500s(fake: FakeZnuny, c: ClosureClient) -> tuple[Answer, ...]:
    fake.inject(Fault.TIMEOUT_AFTER_APPLY, "TicketUpdate", call=2)  # the note lands, its answer is lost
    fake.inject(Fault.SERVER_FAULT, "TicketUpdate", call=3, times=4)  # step 2 fails every time
    return ()


FAILURES: dict[str, tuple[Arrange, type[OtrsClosureError]]] = {
    "auth-session": (_disable_the_agent, AuthenticationError),
    # Three: the first GET also finds out whether the server reads the session from a header
    # (after an AuthFail there with a new session too, the query is tried once).
    "auth-relogin": (_inject(Fault.SESSION_EXPIRED, "TicketGet", times=3), AuthenticationError),
    "access-denied": (_answer("TicketUpdate", call=2, json=gi_error(
        "TicketUpdate.AccessDenied", "TicketUpdate: User does not have access to the ticket!")), AccessDenied),
    "invalid-parameter": (_answer("TicketUpdate", call=2, json=gi_error(
        "TicketUpdate.InvalidParameter", "TicketUpdate: Article->ContentType is invalid!")), InvalidParameter),
    "missing-parameter": (_atendido_is_pending, InvalidParameter),
    "500-json": (_inject(Fault.SERVER_FAULT, "TicketGet", times=4), ServerError),
    "500-text": (_answer("TicketUpdate", call=2, status=500, text="Error while decoding request content."),
                 ServerError),
    "413": (_inject(Fault.TOO_LARGE, "TicketUpdate", call=2), RequestTooLarge),
    "html": (_inject(Fault.MAINTENANCE_PAGE, "TicketSearch", times=4), ServerError),
    "refused": (_inject(Fault.CONNECTION_REFUSED, "SessionCreate", times=4), TransportError),
    # Timed out four times, and the ticket, read again, shows nothing of it: the server's error.
    "timeout-on-note": (_timeouts_on_the_note, ReadTimeout),
    "tls": (_answer("SessionCreate", raises=requests.exceptions.SSLError(f"bad handshake {AGENT_LOGIN}")),
            TransportError),
    "not-found": (_remove_the_ticket, TicketNotFound),
    "conflict": (_other_closure, ClosureConflict),
    "partial": (_answer("TicketUpdate", call=3, json=gi_error(
        "TicketUpdate.AccessDenied", "TicketUpdate: Does not have permissions to update owner!")), PartialClosure),
    "partial-owner-disabled": (_owner_disabled_after_the_note, PartialClosure),
    "partial-after-lost-answer": (_lost_note_then_500s, PartialClosure),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_failing_closures_leak_nothing(fake: FakeZnuny, logs, tmp_path, name):
    arrange, error = FAILURES[name]
    formats = make_formats(tmp_path)
    c = client()
    answers = arrange(fake, c)
    with door(fake, *answers) as wire:
        with pytest.raises(error) as ei:
            c.close(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
        assert_no_canary(texts_of_logs(logs) + texts_of_error(ei.value)[:2], also=sessions(fake))
        assert_no_canary(texts_of_logs(logs) + texts_of_error(ei.value))
        assert_reprs_clean(c, formats)
        assert_wire(fake, wire)


def test_a_plan_that_fails_leaks_nothing(fake: FakeZnuny, logs, tmp_path):
    fake.add_article(TICKET_ID, subject="Atendido", body="Otro cierre.")
    with door(fake):
        with pytest.raises(ClosureConflict) as ei:
            client().plan(ticket_id=TICKET_ID, attention=onboarding(), formats=make_formats(tmp_path))
    assert_no_canary(texts_of_logs(logs) + texts_of_error(ei.value))


@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: client().close(ticket_id=TICKET_ID, attention=onboarding()),  # formats missing
        lambda tmp: client(max_request_bytes=100).close(ticket_id=TICKET_ID, attention=onboarding(),
                                                        formats=make_formats(tmp)),
        lambda tmp: client().close(ticket_number="abc", attention=onboarding()),
        lambda tmp: UserOnboarding(description="x", access_url="https://x y", login="l", password=ONBOARD_CANARY),
        lambda tmp: UserOnboarding(description=" ", access_url="https://x", login="l", password=ONBOARD_CANARY),
        lambda tmp: UserOnboarding(description="x", access_url="https://x", login="l", password=ONBOARD_CANARY,
                                   extra=ONBOARD_CANARY),
        lambda tmp: ClosureClient(BASE_URL, AGENT_LOGIN, AGENT_CANARY, OWNER_LOGIN, server_timezone="Nowhere/X"),
        lambda tmp: ClosureClient("not a url", AGENT_LOGIN, AGENT_CANARY, OWNER_LOGIN),
        lambda tmp: ClosureClient(BASE_URL, AGENT_LOGIN, AGENT_CANARY, OWNER_LOGIN, read_timeout=AGENT_CANARY),
        lambda tmp: ClosureClient(BASE_URL, AGENT_LOGIN, AGENT_CANARY, OWNER_LOGIN, retry_attempts=0),
        lambda tmp: ClosureClient.from_env({"OTRS_CLOSURE_BASE_URL": BASE_URL, "OTRS_CLOSURE_PASSWORD": AGENT_CANARY,
                                            "OTRS_CLOSURE_USERNAME": AGENT_LOGIN}),
        lambda tmp: ClosureClient.from_env({"OTRS_CLOSURE_BASE_URL": BASE_URL, "OTRS_CLOSURE_PASSWORD": AGENT_CANARY,
                                            "OTRS_CLOSURE_USERNAME": AGENT_LOGIN, "OTRS_CLOSURE_OWNER_LOGIN": "o",
                                            "OTRS_CLOSURE_ROUTES": "{" + AGENT_CANARY}),
    ],
    ids=["formats-missing", "too-large", "bad-number", "bad-url", "blank-description", "extra-field", "bad-tz",
         "bad-base-url", "bad-timeout", "bad-retry", "env-missing", "env-bad-json"],
)
def test_input_errors_leak_nothing_and_send_nothing(logs, tmp_path, make):
    with no_http() as rsps:
        with pytest.raises(InputError) as ei:
            make(tmp_path)
        assert len(rsps.calls) == 0
    assert_no_canary(texts_of_logs(logs) + texts_of_error(ei.value))


def test_a_transport_error_chain_carries_no_session_id() -> None:
    # A refused GET: requests' message holds the URL with its query string, i.e. the
    # SessionID (and for any GET with credentials, those). It must not ride along as the
    # raised TransportError's __cause__ or __context__.
    fake = FakeZnuny.service_desk()
    attention = ServiceRequest(description="Se reinició el equipo.")
    with fake.serve():
        ticket = fake.new_service_desk_ticket()
        c = fake.client(sleep=lambda s: None, retry_attempts=1)
        c.close(ticket_id=ticket.ticket_id, attention=attention)
        session_ids = sessions(fake)
        assert session_ids
    with pytest.raises(TransportError) as ei:  # the server is gone: refused
        c.close(ticket_id=ticket.ticket_id, attention=attention)
    assert ei.value.kind == "connect" and not ei.value.may_have_reached_server
    for text in chain_texts(ei.value):
        for secret in (*session_ids, PASSWORDS["tecnico1"]):
            assert secret not in text, text[:300]
    assert "Connection refused" in str(ei.value)  # the reason is still told
