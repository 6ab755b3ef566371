"""Close an incident with its real problem and real solution (no format files).

Against a real server: set OTRS_CLOSURE_BASE_URL, _USERNAME, _PASSWORD, _OWNER_LOGIN and
OTRS_CLOSURE_TICKET_NUMBER. Without them it runs on the embedded fake Znuny.
"""

from __future__ import annotations

from _fake_or_real import client_and_ticket

from otrs_closure import Incident, OtrsClosureError


def main() -> None:
    attention = Incident(
        problem="Página Web no resuelve por dominio",
        solution="Se le aplica un reinicio al servidor DNS",
    )
    with client_and_ticket() as (client, number):
        plan = client.plan(ticket_number=number, attention=attention)
        print("would send:", [f"{r.method} {r.operation}" for r in plan.requests])
        try:
            receipt = client.close(ticket_number=number, attention=attention)
        except OtrsClosureError as exc:
            print(f"{type(exc).__name__}: {exc} (ErrorCode {exc.error_code})")
            raise SystemExit(1) from None
        print(receipt.model_dump_json(indent=2))


if __name__ == "__main__":
    main()
