"""A closure in a child process, for tests that kill it or race several of them.

    python tests/closure_child.py '<json>'

The JSON names the web service URL of the parent's ``fake.serve()``, the ticket number,
the attention (a user onboarding), the two format files, and optionally ``lock_dir``,
``kill_at`` (a hook name: the process SIGKILLs itself there) and ``start_at`` (an epoch
time to wait for before closing, so that racers start together). Prints one JSON line:
``{"receipt": {...}}`` or ``{"error": "<class>", "message": "..."}``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from helpers import after_step1_session

from otrs_closure import ClosureClient, FormatFiles, OtrsClosureError, UserOnboarding


def main() -> int:
    args = json.loads(sys.argv[1])
    parts = urlsplit(args["url"])
    hooks = {}
    if args.get("kill_at") == "after_note":  # right after the closure note's answer
        hooks["session_factory"] = after_step1_session(lambda: os.kill(os.getpid(), signal.SIGKILL))
    client = ClosureClient(
        base_url=f"{parts.scheme}://{parts.netloc}",
        username="tecnico1",
        password="tecnico-pass",
        owner_login="agente.mesa",
        sleep=lambda s: None,
        lock_dir=args.get("lock_dir"),
        **hooks,
    )
    attention = UserOnboarding(
        description=args["description"],
        access_url="https://nomina.example.gob.mx",
        login="mgarcia",
        password=args.get("password", "Temporal#2026"),
    )
    formats = FormatFiles(signed_scan=Path(args["scan"]), editable=Path(args["editable"]))
    if args.get("start_at"):
        time.sleep(max(0.0, args["start_at"] - time.time()))
    try:
        receipt = client.close(ticket_number=args["ticket_number"], attention=attention, formats=formats)
    except OtrsClosureError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        return 1
    print(json.dumps({"receipt": receipt.model_dump(mode="json")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
