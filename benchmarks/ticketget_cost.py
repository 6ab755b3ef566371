"""What a TicketGet costs the server, by its parameters: the library's read
(``AllArticles=1&Attachments=1&GetAttachmentContents=0``) against lighter ones, one
ticket against several in one request, and a ticket carrying a big attachment.

    python benchmarks/ticketget_cost.py [--systems znuny65] [--reps 15] [--big-mb 20]

Creates and closes (raw, like the floor) a few tickets of its own, then sends each
variant ``--reps`` times, interleaved, and prints the median of the server's own time
(the access log's ``%D``) and of the client's, and the answer size. Each variant has its
own User-Agent, which is how its log lines are found.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import accesslog  # noqa: E402
from lab_systems import targets_from_env  # noqa: E402
from live import Setup, ensure_agent  # noqa: E402

LIB = {"AllArticles": 1, "Attachments": 1, "GetAttachmentContents": 0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--systems", default=None)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--big-mb", type=int, default=20, help="size of the attachment on the 'big' ticket, MB")
    a = p.parse_args(argv)
    for t in targets_from_env(names=a.systems.split(",") if a.systems else None):
        ensure_agent(t)
        setup = Setup(t, "getcost-" + time.strftime("%H%M%S"))
        fields = ({"ArticleType": "note-internal"} if t.article_fields == "article_type"
                  else {"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0})
        ids = [tid for tid, _ in setup.create(10, "TicketGet cost")]
        small = base64.b64encode(b"%PDF-1.4\n" + bytes(40_000)).decode()
        big = base64.b64encode(b"%PDF-1.4\n" + bytes(a.big_mb * 1_000_000)).decode()
        for tid, content in [(i, small) for i in ids] + [(ids[0], big)]:
            body = {"SessionID": setup.sid, "Ticket": {"State": "Atendido"},
                    "Article": {**fields, "SenderType": "agent", "Subject": "Atendido", "Body": "nota",
                                "ContentType": "text/plain; charset=utf8"},
                    "Attachment": [{"Content": content, "ContentType": "application/pdf",
                                    "Filename": f"f{len(content)}.pdf"}]}
            r = setup.request("PATCH", f"{t.url}/Ticket/{tid}", json=body, timeout=600)
            assert "Error" not in r.json(), r.text[:300]
        plain = ids[1]
        variants = {
            "library read (1 ticket)": (plain, LIB),
            "AllArticles only": (plain, {"AllArticles": 1}),
            "ticket only, no articles": (plain, {}),
            "library read, DynamicFields=1": (plain, {**LIB, "DynamicFields": 1}),
            "library read of 9 tickets in one request": (",".join(map(str, ids[1:])), LIB),
            f"library read, ticket with a {a.big_mb} MB attachment": (ids[0], LIB),
            f"AllArticles only, ticket with a {a.big_mb} MB attachment": (ids[0], {"AllArticles": 1}),
        }
        agents = {name: f"otrs-closure-bench-get-{i}" for i, name in enumerate(variants)}
        start = accesslog.offset(t.access_log)
        client: dict[str, list[float]] = {k: [] for k in variants}
        size: dict[str, int] = {}
        for _ in range(a.reps):
            for name, (ref, params) in variants.items():
                began = time.perf_counter()
                r = setup.request("GET", f"{t.url}/Ticket/{ref}", params={"SessionID": setup.sid, **params},
                                  headers={"User-Agent": agents[name]}, timeout=600)
                size[name] = len(r.content)
                client[name].append(time.perf_counter() - began)
        time.sleep(0.5)
        lines = accesslog.read_from(t.access_log, start, set(agents.values()))
        print(f"\n{t.product} ({t.name}), {a.reps} of each, interleaved:\n")
        print("| TicketGet | server median (%D) | client median | answer bytes |")
        print("|---|---|---|---|")
        for name in variants:
            server = [x.micros / 1000 for x in lines if x.agent == agents[name]]
            s = f"{statistics.median(server):.1f} ms" if server else "—"
            print(f"| {name} | {s} | {1000 * statistics.median(client[name]):.1f} ms | {size[name]:,} |")
        t.end_sessions([setup.sid])
    return 0


if __name__ == "__main__":
    sys.exit(main())
