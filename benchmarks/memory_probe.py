"""Peak memory growth of one closure with a big signed scan, measured in this process only.

Run by ``benchmarks/run.py`` in a fresh subprocess per side, against a fake Znuny served by
the parent process (so the server's copy of the bytes is not counted), or against a real
server (``--live``; CONFIG then names the agent, the owner and, for the pyotrs script,
the search route and note fields of that server)::

    python benchmarks/memory_probe.py {ours|baseline} {rss|tracemalloc} BASE_URL \\
        WARMUP_NUMBER NUMBER SCAN SMALL_SCAN EDITABLE [CONFIG_JSON]

First a warm-up closure with small files (imports, session, preflight, connection pools),
then the measured closure with ``SCAN``. ``rss``: the peak resident set (VmHWM, reset
through /proc/self/clear_refs just before) minus the resident set before the closure.
``tracemalloc``: the peak of Python allocations during the closure. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

USERNAME, PASSWORD, OWNER = "tecnico1", "tecnico-pass", "agente.mesa"


def _status(key: str) -> int:
    """A VmXXX value of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main() -> int:
    side, method, base_url, warm_number, number, scan, small_scan, editable = sys.argv[1:9]
    cfg = json.loads(sys.argv[9]) if len(sys.argv) > 9 else {}
    username, password, owner = cfg.get("username", USERNAME), cfg.get("password", PASSWORD), cfg.get("owner", OWNER)
    sessions: list[str] = []

    if side == "ours":
        from otrs_closure import ClosureClient, FormatFiles, ServiceRequest

        extra = {"user_agent": cfg["user_agent"]} if cfg.get("user_agent") else {}
        client = ClosureClient(base_url=base_url, username=username, password=password, owner_login=owner, **extra)

        def close(ticket: str, scan_path: str) -> None:
            client.close(ticket_number=ticket, attention=ServiceRequest(description="Se escaneó el formato."),
                         formats=FormatFiles(signed_scan=Path(scan_path), editable=Path(editable)))
    else:
        from baseline_pyotrs import close_ticket

        options = {k: tuple(v) if k == "search" else v for k, v in cfg.items()
                   if k in ("search", "article_fields", "content_type", "user_agent", "webservice_path", "webservice")}

        def close(ticket: str, scan_path: str) -> None:
            out = close_ticket(cfg.get("root", base_url), username, password, owner, ticket,
                               "Se escaneó el formato.", scan_path, editable, **options)
            sessions.append(str(out.get("SessionID") or ""))

    close(warm_number, small_scan)
    size = Path(scan).stat().st_size
    out: dict[str, object] = {"side": side, "method": method, "file_size": size}
    if method == "rss":
        out["peak_reset"] = _reset_peak()
        before = _status("VmRSS")
        started = time.perf_counter()
        close(number, scan)
        out["seconds"] = time.perf_counter() - started
        out["growth"] = _status("VmHWM") - before
    else:
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        close(number, scan)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["growth"] = peak - base
    out["ratio"] = out["growth"] / size  # type: ignore[operator]
    if sessions:
        out["session_ids"] = sessions  # for the benchmark to log out (OTRS 5 limits sessions)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
