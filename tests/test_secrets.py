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
from helpers import (
    AGENT_LOGIN,
    BASE_URL,
    OWNER_LOGIN,
    TICKET_ID,
    TICKET_NUMBER,
    Fault,
    GIStub,
    connection_refused,
    fault_500_json,
    fault_500_text,
    gi_error,
    is_step1,
    is_step2,
    make_formats,
    no_http,
    read_timeout,
    stubbed,
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
    RequestTooLarge,
    ServerError,
    TicketNotFound,
    TransportError,
    UserOnboarding,
)

AGENT_CANARY = "AgentCanary-7f3e9b1d-Ñ$pw"
ONBOARD_CANARY = "OnboardCanary-c41a88e2-ü%pw"
CANARIES = (AGENT_CANARY, ONBOARD_CANARY)


def onboarding(password: str = ONBOARD_CANARY) -> UserOnboarding:
    return UserOnboarding(description="Alta en el sistema de nómina.", access_url="https://nomina.example.gob.mx",
                          login="mgarcia", password=password)


def client(**kw: Any) -> ClosureClient:
    return ClosureClient(BASE_URL, AGENT_LOGIN, kw.pop("password", AGENT_CANARY), OWNER_LOGIN,
                         sleep=lambda s: None, **kw)


@pytest.fixture
def gi():
    with stubbed(users={AGENT_LOGIN: AGENT_CANARY}) as stub:
        yield stub


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


def assert_wire(gi: GIStub) -> None:
    """Agent password only in SessionCreate bodies; onboarding password only in step-1 bodies."""
    for e in gi.log:
        wire = e.url + json.dumps(e.headers) + e.raw.decode("utf-8", "replace")
        if AGENT_CANARY in wire:
            assert e.operation == "SessionCreate" and e.body["Password"] == AGENT_CANARY
            assert AGENT_CANARY not in e.url
        if ONBOARD_CANARY in wire:
            assert e.operation == "TicketUpdate" and is_step1(e.body)
            assert ONBOARD_CANARY in e.body["Article"]["Body"]
            assert ONBOARD_CANARY not in e.url


def assert_reprs_clean(c: ClosureClient, formats: FormatFiles | None = None) -> None:
    att = onboarding()
    texts = [repr(c), str(c), repr(c.settings), str(c.settings), c.settings.model_dump_json(),
             repr(c.settings.model_dump()), repr(c.transport), repr(att), str(att), att.model_dump_json(),
             repr(att.model_dump())]
    if formats is not None:
        texts += [repr(formats), formats.model_dump_json()]
    assert_no_canary(texts)


def test_successful_closure_and_its_plan_leak_nothing(gi: GIStub, logs, tmp_path):
    formats = make_formats(tmp_path)
    c = client()
    plan = c.plan(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
    receipt = c.close(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
    again = c.close(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
    assert receipt.complete and again.writes_sent == 0
    # Neither do the session ids (a session is as good as the password until it expires).
    assert gi.issued
    assert_no_canary(texts_of_logs(logs), also=gi.issued)
    assert_no_canary([repr(plan), json.dumps(plan.to_dict(), ensure_ascii=False), repr(receipt),
                      receipt.model_dump_json(), repr(again)])
    # The plan masks the onboarding password, the session and the agent password.
    d = plan.to_dict()
    assert d["requests"][0]["body"] == {"UserLogin": AGENT_LOGIN, "Password": "********"}
    note = [r for r in d["requests"] if r.get("body", {}).get("Article", {}).get("Subject") == "Atendido"][0]
    assert "Contraseña de acceso al Sistema: ********" in note["body"]["Article"]["Body"]
    assert all(r.get("body", r.get("query", {})).get("SessionID") == "********"
               for r in d["requests"][1:])
    assert_reprs_clean(c, formats)
    # On the wire: exactly where needed, and really there.
    assert_wire(gi)
    assert sum(e.operation == "SessionCreate" and AGENT_CANARY in e.raw.decode() for e in gi.log) == 1
    step1 = [e for e in gi.log if e.operation == "TicketUpdate" and is_step1(e.body)]
    assert len(step1) == 1 and ONBOARD_CANARY in step1[0].raw.decode()
    assert f"Contraseña de acceso al Sistema: {ONBOARD_CANARY}" in step1[0].body["Article"]["Body"]


def _fail_session(gi):
    gi.users[AGENT_LOGIN] = "otra-clave"


FAILURES: dict[str, tuple[Callable[[GIStub], None], type[OtrsClosureError]]] = {
    "auth-session": (_fail_session, AuthenticationError),
    "auth-relogin": (lambda gi: gi.inject("TicketGet", *[gi_error("TicketGet.AuthFail", "TicketGet: Authorization "
                                                                  "failing!")] * 2), AuthenticationError),
    "access-denied": (lambda gi: gi.inject("TicketUpdate", gi_error("TicketUpdate.AccessDenied", "TicketUpdate: User "
                      "does not have access to the ticket!"), when=is_step1), AccessDenied),
    "invalid-parameter": (lambda gi: gi.inject("TicketUpdate", gi_error("TicketUpdate.InvalidParameter",
                          "TicketUpdate: Article->ContentType is invalid!"), when=is_step1), InvalidParameter),
    "500-json": (lambda gi: gi.inject("TicketGet", *[fault_500_json("OperationObject returned an error")] * 4),
                 ServerError),
    "500-text": (lambda gi: gi.inject("TicketUpdate", fault_500_text("Error while decoding request content."),
                 when=is_step1), ServerError),
    "413": (lambda gi: gi.inject("TicketUpdate", Fault(status=413, body="Request Entity Too Large"), when=is_step1),
            RequestTooLarge),
    "html": (lambda gi: gi.inject("TicketSearch", *[Fault(status=200, body="<html>mantenimiento</html>",
                                                          headers={"Content-Type": "text/html"})] * 4), ServerError),
    "refused": (lambda gi: gi.inject("SessionCreate", *[Fault(exc=connection_refused)] * 4), TransportError),
    # Timed out four times: it may have been written (a slow server), so a PartialClosure.
    "timeout-on-note": (lambda gi: (gi.inject("TicketUpdate", *[Fault(exc=read_timeout)] * 4, when=is_step1)),
                        PartialClosure),
    "tls": (lambda gi: gi.inject("SessionCreate", Fault(exc=lambda: requests.exceptions.SSLError(
        f"bad handshake {AGENT_LOGIN}"))), TransportError),
    "not-found": (lambda gi: gi.tickets.clear(), TicketNotFound),
    "conflict": (lambda gi: gi.add_article(subject="Atendido", body="Otro cierre."), ClosureConflict),
    "partial": (lambda gi: gi.inject("TicketUpdate", gi_error("TicketUpdate.AccessDenied", "TicketUpdate: Does not "
                "have permissions to update owner!"), when=is_step2), PartialClosure),
    "partial-after-lost-answer": (
        lambda gi: (gi.inject("TicketUpdate", Fault(exc=read_timeout, apply=True), when=is_step1),
                    gi.inject("TicketUpdate", *[fault_500_json("x")] * 4, when=is_step2)),
        PartialClosure),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_failing_closures_leak_nothing(gi: GIStub, logs, tmp_path, name):
    arrange, error = FAILURES[name]
    arrange(gi)
    formats = make_formats(tmp_path)
    c = client()
    with pytest.raises(error) as ei:
        c.close(ticket_number=TICKET_NUMBER, attention=onboarding(), formats=formats)
    assert_no_canary(texts_of_logs(logs) + texts_of_error(ei.value)[:2], also=gi.issued)
    assert_no_canary(texts_of_logs(logs) + texts_of_error(ei.value))
    assert_reprs_clean(c, formats)
    assert_wire(gi)


def test_a_plan_that_fails_leaks_nothing(gi: GIStub, logs, tmp_path):
    gi.add_article(subject="Atendido", body="Otro cierre.")
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
