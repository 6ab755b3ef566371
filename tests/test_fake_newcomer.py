"""The fake as a newcomer meets it: ``otrs-closure fake-server`` and ``fake.client()``.

The CLI runs in a child process, as a user runs it: seeded tickets and a working ``curl``
line for one more, a clean one-line error on a busy port, Ctrl-C ends it with exit 0.
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from otrs_closure import ServiceRequest
from otrs_closure.testing import FakeZnuny, Fault

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "otrs_closure", "fake-server", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _banner(process: subprocess.Popen[str]) -> list[str]:
    """The lines the server prints before it waits (up to "Press Ctrl-C")."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            return lines
    raise AssertionError(f"no banner: {lines!r}")


@pytest.fixture
def server() -> Iterator[tuple[subprocess.Popen[str], list[str], int]]:
    port = _free_port()
    process = _start("--port", str(port), "--tickets", "2", "--profile", "otrs6")
    try:
        yield process, _banner(process), port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def test_fake_server_seeds_tickets_and_shows_how_to_create_one(
    server: tuple[subprocess.Popen[str], list[str], int],
) -> None:
    process, banner, port = server
    url = f"http://127.0.0.1:{port}/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"
    assert banner[0] == f"Fake OTRS 6.0.30 (service_desk) listening on {url}"
    assert "  TicketID 2  TicketNumber " in "\n".join(banner) and "  TicketID 3  TicketNumber " in "\n".join(banner)
    curl = next(line.strip() for line in banner if line.strip().startswith("curl "))
    assert url + "/Ticket" in curl
    if shutil.which("curl") is None:  # pragma: no cover - curl is on the CI image
        pytest.skip("no curl")
    created = json.loads(subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30).stdout)
    assert created["TicketID"] == "4"
    # the seeded tickets are real: tecnico1 reads them back, and the curl one is an internal note
    sid = requests.post(url + "/Session", json={"UserLogin": "tecnico1", "Password": "tecnico-pass"}, timeout=10)
    got = requests.get(
        f"{url}/Ticket/2,4", params={"SessionID": sid.json()["SessionID"], "AllArticles": 1}, timeout=10
    ).json()
    assert [t["Owner"] for t in got["Ticket"]] == ["tecnico1", "tecnico1"]
    assert got["Ticket"][1]["Article"][0]["IsVisibleForCustomer"] == 0
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
    assert process.stdout is not None and "Stopped." in process.stdout.read()


def test_fake_server_on_a_busy_port_says_so_in_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = _start("--port", str(port))
        out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err == f"otrs-closure fake-server: cannot listen on 127.0.0.1:{port}: address already in use" + (
        " (choose another --port, or --port 0 for any free one)\n"
    )
    assert "Traceback" not in out + err


def test_fake_server_refuses_an_unknown_profile_in_one_line() -> None:
    process = _start("--port", "0", "--profile", "otrs4")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.startswith("otrs-closure fake-server: unknown profile 'otrs4'") and err.count("\n") == 1


def test_client_takes_a_password(fake_znuny: FakeZnuny) -> None:
    """``client(password=...)`` used to raise TypeError (password passed twice)."""
    fake_znuny.add_agent("nuevo", "Nuevo", "Agente", "su-clave", groups={"mesa-de-servicio": "rw"})
    client = fake_znuny.client("nuevo", password="su-clave")
    assert client.settings.password.get_secret_value() == "su-clave"
    assert fake_znuny.client().settings.password.get_secret_value() == "tecnico-pass"
    with pytest.raises(KeyError, match="pass password="):
        fake_znuny.client("desconocido")


def test_fast_retries_for_tests(fake_znuny: FakeZnuny) -> None:
    """The README's fast-retry settings: a 503 on the search is retried at once, not after 0.5 s."""
    waits: list[float] = []
    ticket = fake_znuny.new_service_desk_ticket()
    fake_znuny.inject(Fault.UNAVAILABLE, operation="TicketSearch", retry_after=0)
    client = fake_znuny.client(retry_backoff=0, retry_write_settle=0, sleep=waits.append)
    with client:
        client.plan(ticket_number=ticket.ticket_number, attention=ServiceRequest(description="Se atendió."))
    assert fake_znuny.calls("TicketSearch") >= 2
    assert waits and max(waits) == 0
