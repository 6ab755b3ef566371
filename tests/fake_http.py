"""Shared by the fake's HTTP-level tests: logging in through the fake's door."""

from __future__ import annotations

import requests

from otrs_closure.testing import PASSWORDS, FakeZnuny

# Content-Type of the page Apache serves when the Perl behind it dies.
APACHE_500 = "text/html; charset=iso-8859-1"


def login(fake: FakeZnuny, user: str = "tecnico1") -> str:
    """A SessionID for a seeded agent, created through the fake's open door."""
    answer = requests.post(
        f"{fake.base_url}/Session", json={"UserLogin": user, "Password": PASSWORDS[user]}, timeout=10
    )
    sid: str = answer.json()["SessionID"]
    return sid
