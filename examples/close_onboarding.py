"""Close a user-onboarding ticket ("alta de usuario") with both format files.

Against a real server: set OTRS_CLOSURE_BASE_URL, _USERNAME, _PASSWORD, _OWNER_LOGIN,
OTRS_CLOSURE_TICKET_NUMBER and OTRS_CLOSURE_ONBOARDING_PASSWORD. Without them it runs
on the embedded fake Znuny.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _fake_or_real import client_and_ticket, example_formats

from otrs_closure import PartialClosure, UserOnboarding


def main() -> None:
    attention = UserOnboarding(
        description="Se dio de alta al usuario en el sistema de nómina.",
        access_url="https://nomina.example.gob.mx",
        login="mgarcia",
        password=os.environ.get("OTRS_CLOSURE_ONBOARDING_PASSWORD", "Temporal#2026"),
    )
    with tempfile.TemporaryDirectory() as tmp, client_and_ticket() as (client, number):
        formats = example_formats(Path(tmp))
        try:
            receipt = client.close(ticket_number=number, attention=attention, formats=formats)
        except PartialClosure as exc:
            print("not finished; run again to complete:", exc.receipt.remaining)
            raise
        print(f"ticket {receipt.ticket_number}: {receipt.state}, owner {receipt.owner}, "
              f"attended at {receipt.attended_at}")
        print("attachments:", [a.filename for a in receipt.attachments])
        again = client.close(ticket_number=number, attention=attention, formats=formats)
        print(f"second close(): {again.writes_sent} writes (all steps {again.steps.note.value})")


if __name__ == "__main__":
    main()
