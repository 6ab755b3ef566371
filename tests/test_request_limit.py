"""The largest request a server takes. OTOBO applies WebMaxFileUpload (48,000,000 bytes by
default) to every request, the GenericInterface's included, and answers a larger one with
an empty HTTP 500 — which a client can only take for an unknown outcome, re-reading and
resending 66 MB several times. Once the server is known to be OTOBO (its URL prefix, or
``server="otobo"``), a closure whose files would not fit is refused before any write."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_file

from otrs_closure import ClosureClient, FormatFiles, InputError, ServerError, ServiceRequest
from otrs_closure.testing import FakeZnuny

WEB_MAX_FILE_UPLOAD = 48_000_000


def big_pdf(path: Path, size: int) -> Path:
    head = b"%PDF-1.4\n% escaneo firmado\n"
    with path.open("wb") as f:
        f.write(head)
        f.truncate(size)  # the rest reads as zeros; the library checks the magic only
    return path


@pytest.fixture
def otobo() -> FakeZnuny:
    return FakeZnuny.service_desk(profile="otobo-11.0.6")


def client(fake: FakeZnuny, **options: object) -> ClosureClient:
    return fake.client(sleep=lambda s: None, retry_write_settle=0, retry_backoff=0, **options)


def formats(tmp_path: Path, scan_bytes: int) -> FormatFiles:
    return FormatFiles(
        signed_scan=big_pdf(tmp_path / "escaneo.pdf", scan_bytes), editable=make_file(tmp_path, "DOCX", "f.docx")
    )


def test_a_closure_over_otobos_limit_is_refused_before_any_write(otobo: FakeZnuny, tmp_path: Path) -> None:
    ticket = otobo.new_service_desk_ticket()
    before = otobo.ticket(ticket.ticket_id)
    with otobo.mock(), client(otobo) as c:
        with pytest.raises(InputError) as caught:
            c.close(ticket_id=ticket.ticket_id, attention=ServiceRequest(description="Alta."),
                    formats=formats(tmp_path, 37_000_000))  # fmt: skip
    assert caught.value.field == "formats"
    assert str(WEB_MAX_FILE_UPLOAD) in str(caught.value) and "OTOBO" in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert otobo.calls("TicketUpdate") == 0
    after = otobo.ticket(ticket.ticket_id)
    assert (after.state, after.owner, len(after.articles)) == (before.state, before.owner, len(before.articles))


def test_a_closure_within_otobos_limit_is_sent(otobo: FakeZnuny, tmp_path: Path) -> None:
    ticket = otobo.new_service_desk_ticket()
    with otobo.mock(), client(otobo) as c:
        receipt = c.close(ticket_id=ticket.ticket_id, attention=ServiceRequest(description="Alta."),
                          formats=formats(tmp_path, 30_000_000))  # fmt: skip
    assert receipt.complete
    assert otobo.ticket(ticket.ticket_id).state == "Atendido"


def test_max_request_bytes_set_by_the_user_overrides_the_profile(otobo: FakeZnuny, tmp_path: Path) -> None:
    """An OTOBO whose WebMaxFileUpload was raised: the user says so with max_request_bytes.
    The fake keeps the default, so the request is sent and meets its empty 500."""
    ticket = otobo.new_service_desk_ticket()
    with otobo.mock(), client(otobo, max_request_bytes=100_000_000, retry_attempts=1) as c:
        with pytest.raises(ServerError) as caught:
            c.close(ticket_id=ticket.ticket_id, attention=ServiceRequest(description="Alta."),
                    formats=formats(tmp_path, 37_000_000))  # fmt: skip
    assert caught.value.http_status == 500
    assert otobo.ticket(ticket.ticket_id).state != "Atendido"


def test_other_generations_keep_max_request_bytes(tmp_path: Path) -> None:
    fake = FakeZnuny.service_desk(profile="znuny-6.5.10")
    ticket = fake.new_service_desk_ticket()
    with fake.mock(), client(fake) as c:
        receipt = c.close(ticket_id=ticket.ticket_id, attention=ServiceRequest(description="Alta."),
                          formats=formats(tmp_path, 37_000_000))  # fmt: skip
    assert receipt.complete
