"""The largest request the real server takes: OTOBO applies WebMaxFileUpload (48,000,000
bytes by default) to every request, the GenericInterface's included, with an empty HTTP
500 (Kernel/System/Web/Request.pm). The library's OTOBO profile and the fake's say so;
these tests hold both to the real server, and check that a closure too large for it is
refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from helpers import make_file
from live_support import Target

from otrs_closure import PROFILES, FormatFiles, InputError, ServiceRequest
from otrs_closure.testing import FakeZnuny

pytestmark = pytest.mark.live


def otobo_only(target: Target) -> None:
    if target.system is None or target.system.generation != "otobo11":
        pytest.skip("OTOBO's WebMaxFileUpload: the lab's OTOBO")


def test_otobo_answers_an_empty_500_over_its_limit_and_reads_requests_within_it(target: Target) -> None:
    otobo_only(target)
    limit = PROFILES["otobo"].request_limit
    assert limit is not None and FakeZnuny(profile="otobo-11.0.6").profile.request_limit == limit
    answers = {}
    for size in (limit + 1, limit):
        body = b"{" + b" " * (size - 2) + b"}"  # valid JSON, no credentials: SessionCreate refuses it
        r = requests.post(target.url + "/Session", data=body, headers={"Content-Type": "application/json"},
                          timeout=120)  # fmt: skip
        answers[size] = (r.status_code, r.content)
    assert answers[limit + 1] == (500, b""), answers[limit + 1][:1]
    status, content = answers[limit]
    assert content, f"a request of exactly {limit} bytes was not read (HTTP {status}, empty)"


def test_a_closure_too_large_for_otobo_is_refused_before_any_write(target: Target, tmp_path: Path) -> None:
    otobo_only(target)
    scan = tmp_path / "escaneo firmado.pdf"
    with scan.open("wb") as f:
        f.write(b"%PDF-1.4\n% escaneo firmado\n")
        f.truncate(37_000_000)  # 49.3 MB after base64: over 48,000,000
    formats = FormatFiles(signed_scan=scan, editable=make_file(tmp_path, "DOCX", "formato.docx"))
    tid, _ = target.raw.create_ticket("otrs_closure en vivo: escaneo demasiado grande")
    before = target.raw.snapshot(tid)
    with target.client() as client:
        with pytest.raises(InputError) as caught:
            client.close(ticket_id=tid, attention=ServiceRequest(description="Alta."), formats=formats)
        updates = client.requests_sent.get("TicketUpdate", 0)
    assert caught.value.field == "formats" and "48000000" in str(caught.value)
    assert updates == 0
    after = target.raw.snapshot(tid)
    assert (after.state, after.owner, len(after.articles)) == (before.state, before.owner, len(before.articles))
