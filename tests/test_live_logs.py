"""No credential in any URL: after the rest of the suite (this test runs last), the
server's access log — the lines written since the suite started, less those of the
User-Agent ``otrs-closure-differential`` (another suite's deliberate corpus) — holds no
password (the agents', the onboarding password; plain or URL-encoded) and no
``UserLogin``/``Password`` parameter on any system, and no SessionID at all on the
systems that honour the ``X-OTRS-Header-SessionID`` header (Znuny 6.5 and 7).

OTRS 5, OTRS 6 and OTOBO 11 do not read that header (lab README, rec. 67): there a GET can
only authenticate with the SessionID in its query, so their logs do show SessionIDs —
from the library's GETs and from this suite's raw reads (User-Agent
``otrs-closure-live-raw``); the test counts them and checks only the passwords.

The test first closes a ticket of its own (an onboarding, password included), so that it
always has the library's requests to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, quote_plus

import live_compat
import pytest
from helpers import make_file
from live_support import DIFFERENTIAL_USER_AGENT, ONBOARDING_PASSWORD, RAW_USER_AGENT, Target, log_lines_since, unique

from otrs_closure import FormatFiles, OtrsClosureError, UserOnboarding

pytestmark = [pytest.mark.live, pytest.mark.live_last]

SESSION_IN_URL = re.compile(r"[?&;]SessionID=|/Session/[A-Za-z0-9]{20,}")


@pytest.mark.compat("header_session")
def test_no_credential_in_any_url_of_the_access_log(target: Target, tmp_path: Path) -> None:
    """Access-log lines since the suite started: no password anywhere; no SessionID where
    the server reads it from the header."""
    if not target.access_log:
        pytest.skip("no access log known for this server (set OTRS_CLOSURE_TEST_ACCESS_LOG)")
    assert target.log_start is not None, f"{target.access_log} was not readable when the suite started"
    scan, editable = make_file(tmp_path, "PDF", "alta firmada.pdf"), make_file(tmp_path, "DOCX")
    with target.client() as client:  # by id: the check must not depend on the search route
        tid, _ = target.raw.create_ticket("otrs_closure en vivo: credenciales en el registro")
        try:
            client.close(ticket_id=tid, formats=FormatFiles(signed_scan=scan, editable=editable),
                         attention=UserOnboarding(description=unique("Alta."), login="mgarcia",
                                                  access_url="https://nomina.example.gob.mx",
                                                  password=ONBOARDING_PASSWORD))
        except OtrsClosureError:
            pass  # whether it closes is proved elsewhere; here only what it put in URLs counts

    lines = [x for x in log_lines_since(target.access_log, target.log_start) if x.agent != DIFFERENTIAL_USER_AGENT]
    library = [x for x in lines if x.agent.startswith("otrs-closure") and x.agent != RAW_USER_AGENT]
    assert library, "the access log shows no request of the library since the suite started"

    secrets = {ONBOARDING_PASSWORD, *target.secrets()}
    forms = {f for s in secrets for f in (s, quote(s, safe=""), quote_plus(s, safe=""))}
    with_password = [x for x in lines if any(f in x.request for f in forms)
                     or re.search(r"[?&;](UserLogin|Password)=", x.request)]
    count = len(with_password)  # a count, so that a failure never prints the lines themselves
    assert count == 0, (f"{len(with_password)} request lines carry a password or UserLogin/Password, e.g. "
                                 f"(agent {with_password[0].agent!r}) — not shown here")

    with_session = [x for x in lines if SESSION_IN_URL.search(x.request)]
    header = target.system.header_session if target.system else target.raw.header_session()
    ours = [x for x in with_session if x.agent != RAW_USER_AGENT]
    live_compat.RECORDER.note(target.name, "header_session", (
        f"{len(with_session)} of {len(lines)} request lines carry a SessionID ({len(ours)} from the library)"
        + ("" if header else "; this server ignores X-OTRS-Header-SessionID: its GETs must carry it in the query")))
    if header:
        shown = [re.sub(r"SessionID=[^& ]+", "SessionID=…", x.request) for x in with_session[:3]]
        count = len(with_session)
        assert count == 0, (f"{len(with_session)} of {len(lines)} request lines carry a SessionID "
                                    f"although the server reads X-OTRS-Header-SessionID, e.g. {shown} "
                                    f"(agents {sorted({x.agent for x in with_session})})")
