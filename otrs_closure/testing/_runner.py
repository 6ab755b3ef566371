"""``run_fake_server``: the blocking entry point behind ``otrs-closure fake-server``.

It builds a seeded fake of the chosen system, optionally with a few tickets, serves it on
loopback until Ctrl-C (or until ``stop`` is set) and tells a newcomer everything needed to
use it: the web service URL, the users, the tickets, and a ``curl`` line that creates one
more. A port that cannot be bound is a one-line error and exit code 2, not a traceback.
"""

from __future__ import annotations

import errno
import json
import shlex
import sys
import threading
from contextlib import ExitStack
from typing import Any, TextIO

from otrs_closure.testing._fake import FakeZnuny
from otrs_closure.testing._profiles import Profile, get_profile

__all__ = ["run_fake_server", "SEEDS", "create_ticket_curl"]

#: Seed names accepted by :func:`run_fake_server`.
SEEDS = ("service_desk", "recordings")

#: Exit codes: served until stopped; could not start (bad seed, profile or port).
EXIT_OK = 0
EXIT_CANNOT_START = 2


def create_ticket_curl(base_url: str, profile: Profile, login: str = "tecnico1", password: str = "tecnico-pass") -> str:
    """A ``curl`` command that creates a service-desk ticket through TicketCreate on ``base_url``,
    with the article fields the profile's generation reads."""
    article: dict[str, Any] = {
        "Subject": "Impresora no imprime",
        "Body": "Creado con curl.",
        "ContentType": "text/plain; charset=utf8",
    }
    if profile.article_fields == "ArticleType":
        article["ArticleType"] = "note-internal"
    else:
        article.update({"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0})
    body = {
        "UserLogin": login,
        "Password": password,
        "Ticket": {
            "Title": "Impresora no imprime",
            "Queue": "Mesa de Servicio",
            "State": "new",
            "Priority": "3 normal",
            "CustomerUser": "cliente.demo",
        },
        "Article": article,
    }
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return (
        f"curl -s -X POST {shlex.quote(base_url + '/Ticket')} "
        f"-H 'Content-Type: application/json' -d {shlex.quote(payload)}"
    )


def run_fake_server(
    port: int = 8080,
    seed: str = "service_desk",
    latency: float = 0.0,
    host: str = "127.0.0.1",
    *,
    profile: str | Profile | None = None,
    tickets: int = 0,
    stop: threading.Event | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Serve a seeded fake until Ctrl-C or until ``stop`` is set; returns the exit code.

    ``seed`` is ``service_desk`` or ``recordings``; ``profile`` the system to behave like
    (default Znuny 6.5.15; the lab's short names work); ``tickets`` service-desk tickets are
    created first (owned by tecnico1, as recording 10). Prints the web service URL, the seeded
    users, the tickets and how to create another. A bad seed, profile or ticket count, or a
    port that cannot be bound, prints one line on ``err`` and returns 2.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err

    def fail(reason: str) -> int:
        print(f"otrs-closure fake-server: {reason}", file=err, flush=True)
        return EXIT_CANNOT_START

    if seed not in SEEDS and seed != "like_recordings":
        return fail(f"unknown seed {seed!r} (choose from {', '.join(SEEDS)})")
    if tickets < 0:
        return fail(f"--tickets must be 0 or more (got {tickets})")
    try:
        chosen = get_profile(profile)
    except ValueError as exc:
        return fail(str(exc))
    # a long-running server must not keep every request (and attachment) in memory
    options: dict[str, Any] = {"record_bodies": False, "max_records": 10_000, "profile": chosen}
    fake = FakeZnuny.service_desk(**options) if seed == "service_desk" else FakeZnuny.like_recordings(**options)
    created = [fake.new_service_desk_ticket(f"Ticket de prueba {i}") for i in range(1, tickets + 1)]

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    with ExitStack() as stack:
        try:
            base_url = stack.enter_context(fake.serve(port=port, latency=latency, host=host))
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            return fail(
                f"cannot listen on {host}:{port}: {reason} (choose another --port, or --port 0 for any free one)"
            )
        say(f"Fake {chosen.title} ({seed}) listening on {base_url}")
        say(f"Web service: {fake.webservice}; latency per request: {latency}s")
        say("Seeded users (login / password):")
        for login, password in fake.credentials.items():
            say(f"  {login} / {password}")
        if created:
            say(f"Tickets ({len(created)}), owned by tecnico1 in queue 'Mesa de Servicio':")
            for ticket in created:
                say(f"  TicketID {ticket.ticket_id}  TicketNumber {ticket.ticket_number}")
        else:
            say("No tickets yet (only the welcome ticket 1, which only root@localhost may see).")
        say("Create a ticket:")
        say(f"  {create_ticket_curl(base_url, chosen)}")
        say("Press Ctrl-C to stop.")
        waiter = threading.Event() if stop is None else stop
        try:
            while not waiter.wait(timeout=0.5):
                pass
        except KeyboardInterrupt:
            pass
        say("Stopped.")
    return EXIT_OK
