"""``run.py --live``: the library, the plain-pyotrs script and the floor measured side by
side on a real server (the lab's systems, or one server named like the live suite's;
see :mod:`lab_systems`).

Three phases per server, every ticket created beforehand with TicketCreate (raw
requests, outside the measured time, titles tagged ``otrs_closure benchmark <run>``):

1. **closures**: N rounds; in each, three fresh tickets, one closed by each side, in an
   order that cycles through all six permutations of the sides (so each side comes
   first, second and third equally often, after each other side equally often): server
   warm-up, caches and table growth hit every side alike. Every side closes one ticket
   first, unmeasured (imports, sessions, the library's preflight and what it learns).
   Wall time per closure, requests and new TCP connections per closure, each request
   timed on the client and matched to the server's own time (the access log's ``%D``).
   Afterwards every closed ticket is read back (raw) and checked.
2. **throughput**: closures per second of the library's batch (``run_batch``, one
   client) and of the floor run by as many threads, at 1, 4 and 8 workers, each run on
   its own fresh tickets, the two sides alternating (ABBA) over the repetitions;
   connections are closed between runs (a kept-alive idle connection holds an Apache
   prefork child).
3. **memory**: one closure with a big signed scan per side, each in a child process
   (``memory_probe.py``): growth of the peak RSS over the RSS before.

Requests and connections are counted on the client side: ``Wire.send`` for the library
(the whole exchange, the answer read included), ``requests.Session.send`` for the
others (the answer read included: they do not stream), urllib3's ``connect`` for all.
Each side sends its own User-Agent, which is how its lines are found in the access log.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3.connection

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import accesslog  # noqa: E402
from baseline_pyotrs import close_ticket as pyotrs_close  # noqa: E402
from floor import Floor, FloorError, closed_without_answer, documents_from_plan  # noqa: E402
from lab_systems import BENCH_AGENT, BENCH_PASSWORD, GROUP, Target, targets_from_env  # noqa: E402
from procstat import ServerCPU  # noqa: E402

from otrs_closure import ClosureClient, FormatFiles, ServiceRequest  # noqa: E402
from otrs_closure._http.wire import Wire  # noqa: E402
from otrs_closure.batch import BatchItem, run_batch  # noqa: E402

SIDES = ("library", "pyotrs", "floor")
UA = {side: f"otrs-closure-bench-{side}" for side in SIDES}
SETUP_UA = "otrs-closure-bench-setup"
AGENT_SIDE = {v: k for k, v in UA.items()} | {SETUP_UA: "setup"}
NOTE_CONTENT_TYPE = "text/plain; charset=utf8"  # accepted by all five generations
DESCRIPTION = "Se reconfiguró la impresora del laboratorio 1."
LABEL_ORDER = ("SessionCreate", "TicketSearch", "TicketGet (read)", "TicketUpdate (preflight)", "TicketUpdate (note)",
               "TicketUpdate (owner)", "TicketGet (verify)", "TicketGet")


# -- client-side records ---------------------------------------------------------------------------


@dataclass
class Req:
    side: str
    tag: tuple[Any, ...]
    label: str
    method: str
    path: str
    seconds: float
    thread: int
    server: accesslog.LogLine | None = None


class Recorder:
    """Every request this process sends, with its side, the phase tag and its time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: list[Req] = []
        self.connections: Counter[str] = Counter()
        self.tag: tuple[Any, ...] = ("idle",)
        self.local = threading.local()
        self.retries: list[tuple[tuple[Any, ...], str]] = []  # the library's retry log lines, by tag

    def add(self, req: Req) -> None:
        with self.lock:
            self.records.append(req)

    def since(self, start: int) -> list[Req]:
        with self.lock:
            return self.records[start:]


REC = Recorder()


def _update_label(body: Any) -> str:
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    if not isinstance(body, (bytes, bytearray)):
        return "TicketUpdate (note)"  # a streamed body: files ride along
    if b"preflight (never written)" in body:
        return "TicketUpdate (preflight)"
    return "TicketUpdate (owner)" if b'"Owner"' in body[:4000] else "TicketUpdate (note)"


def _label(method: str, path: str, body: Any) -> str:
    if path.endswith("/Session"):
        return "SessionCreate"
    if path.endswith("/Ticket/Search") or (method == "GET" and path.endswith("/Ticket")):
        return "TicketSearch"
    if method == "POST" and path.endswith("/Ticket"):
        return "TicketCreate"
    if method == "GET":
        return "TicketGet"
    if method == "PATCH":
        return _update_label(body)
    return f"{method} {path.rsplit('/', 1)[-1]}"


class _RetryLog(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("retrying after attempt"):
            with REC.lock:
                REC.retries.append((REC.tag, message))


def install_recorder() -> None:
    retry_log = logging.getLogger("otrs_closure.retry")
    retry_log.setLevel(logging.INFO)
    retry_log.addHandler(_RetryLog())
    wire_send = Wire.send
    session_send = requests.Session.send
    connect = urllib3.connection.HTTPConnection.connect

    def recording_wire_send(self: Wire, call: Any) -> Any:
        REC.local.side = "library"
        started = time.perf_counter()
        try:
            return wire_send(self, call)
        finally:
            label = call.operation
            if label == "TicketUpdate":
                doc = call.document or {}
                if "preflight" in str(doc.get("Article", {}).get("Subject", "")):
                    label = "TicketUpdate (preflight)"
                else:
                    label = "TicketUpdate (owner)" if "Owner" in doc.get("Ticket", {}) else "TicketUpdate (note)"
            REC.add(Req("library", REC.tag, label, call.method, urlsplit(call.url).path,
                        time.perf_counter() - started, threading.get_ident()))
            REC.local.side = None

    def recording_session_send(self: requests.Session, request: requests.PreparedRequest, **kw: Any) -> Any:
        side = AGENT_SIDE.get(str(request.headers.get("User-Agent", "")), "other")
        if side == "library":
            return session_send(self, request, **kw)
        REC.local.side = side
        started = time.perf_counter()
        try:
            return session_send(self, request, **kw)
        finally:
            path = urlsplit(str(request.url)).path
            REC.add(Req(side, REC.tag, _label(str(request.method), path, request.body), str(request.method), path,
                        time.perf_counter() - started, threading.get_ident()))
            REC.local.side = None

    def counting_connect(self: Any) -> None:
        with REC.lock:
            REC.connections[getattr(REC.local, "side", None) or "other"] += 1
        connect(self)

    Wire.send = recording_wire_send  # type: ignore[method-assign]
    requests.Session.send = recording_session_send  # type: ignore[method-assign]
    urllib3.connection.HTTPConnection.connect = counting_connect  # type: ignore[method-assign]


# -- raw setup requests ----------------------------------------------------------------------------


class Setup:
    """Raw GenericInterface requests outside the measured time: the benchmark agent,
    TicketCreate, and the read-back checks."""

    def __init__(self, target: Target, run_id: str) -> None:
        self.t = target
        self.run_id = run_id
        self.local = threading.local()
        self.sid = self._session()

    @property
    def http(self) -> requests.Session:
        s = getattr(self.local, "http", None)
        if s is None:
            s = self.local.http = requests.Session()
            s.headers["User-Agent"] = SETUP_UA
        return s

    def request(self, method: str, url: str, **kw: Any) -> requests.Response:
        """One raw request; resent once when the server had closed the kept-alive connection."""
        try:
            return self.http.request(method, url, **kw)
        except requests.ConnectionError as exc:
            if not closed_without_answer(exc):
                raise
            return self.http.request(method, url, **kw)

    def _session(self) -> str:
        r = self.request("POST", self.t.url + "/Session",
                         json={"UserLogin": self.t.username, "Password": self.t.password}, timeout=60)
        data = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
        if "SessionID" not in data:
            raise RuntimeError(f"{self.t.name}: SessionCreate as {self.t.username} failed: {r.status_code} "
                               f"{r.text[:200]}")
        return str(data["SessionID"])

    def create(self, n: int, what: str, threads: int = 4) -> list[tuple[int, str]]:
        fields = ({"ArticleType": "note-internal"} if self.t.article_fields == "article_type"
                  else {"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0})

        def one(i: int) -> tuple[int, str]:
            title = f"otrs_closure benchmark {self.run_id} {what} {i}"
            doc = {
                "SessionID": self.sid,
                "Ticket": {"Title": title, "Queue": self.t.queue, "State": "new", "Priority": "3 normal",
                           "CustomerUser": self.t.customer_user},
                "Article": {**fields, "SenderType": "agent", "Subject": title, "ContentType": NOTE_CONTENT_TYPE,
                            "Body": "Ticket creado por benchmarks/run.py --live para medir un cierre."},
            }
            data: dict[str, Any] = {}
            for _ in range(5):  # OTRS 5 gives two concurrent TicketCreates the same number (one fails)
                data = self.request("POST", self.t.url + "/Ticket", json=doc, timeout=120).json()
                if "TicketID" in data:
                    return int(data["TicketID"]), str(data["TicketNumber"])
                time.sleep(0.2)
            raise RuntimeError(f"{self.t.name}: TicketCreate failed: {data}")

        if n == 1 or threads == 1:
            return [one(i) for i in range(n)]
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(one, range(n)))

    def problems(self, ticket_id: int, with_files: bool = True) -> list[str]:
        """What a closed ticket lacks (state, owner, the two notes, the two files)."""
        params = {"SessionID": self.sid, "AllArticles": 1, "Attachments": 1, "GetAttachmentContents": 0}
        data = self.request("GET", f"{self.t.url}/Ticket/{ticket_id}", params=params, timeout=300).json()
        ticket = (data.get("Ticket") or [{}])[0]
        out = []
        if ticket.get("State") != "Atendido":
            out.append(f"state {ticket.get('State')!r}")
        if ticket.get("Owner") != self.t.owner:
            out.append(f"owner {ticket.get('Owner')!r}")
        arts = ticket.get("Article") or []
        subjects = [str(a.get("Subject", "")).strip() for a in arts]
        if subjects.count("Atendido") != 1 or subjects.count("Se modifica propietario") != 1:
            out.append(f"subjects {subjects}")
        if with_files:
            n = sum(len(a.get("Attachment") or []) for a in arts if str(a.get("Subject", "")).strip() == "Atendido")
            if n != 2:
                out.append(f"{n} attachments on the note")
        return out

    def check_all(self, ids: Iterable[int]) -> list[str]:
        with ThreadPoolExecutor(4) as pool:
            found = list(pool.map(lambda t: (t, self.problems(t)), list(ids)))
        return [f"ticket {t}: {', '.join(p)}" for t, p in found if p]


def ensure_agent(target: Target) -> list[str]:
    """The benchmark's own agent on a lab system, created idempotently (console as the
    system's OS user): rw on the Service Desk group. Returns what was done."""
    if target.system is None:
        return []
    url = target.url + "/Session"
    r = requests.post(url, json={"UserLogin": BENCH_AGENT, "Password": BENCH_PASSWORD},
                      headers={"User-Agent": SETUP_UA}, timeout=60)
    sid = r.json().get("SessionID") if r.status_code == 200 else None
    if sid:
        target.end_sessions([str(sid)])
        return []
    done = []
    add = target.console("Admin::User::Add", "--user-name", BENCH_AGENT, "--first-name", "Benchmark",
                         "--last-name", "Técnico", "--email-address", f"{BENCH_AGENT}@example.com",
                         "--password", BENCH_PASSWORD, "--group", GROUP, "--no-ansi")
    done.append(f"Admin::User::Add {BENCH_AGENT}: exit {add.returncode}")
    if add.returncode:
        setp = target.console("Admin::User::SetPassword", BENCH_AGENT, BENCH_PASSWORD, "--no-ansi")
        done.append(f"Admin::User::SetPassword: exit {setp.returncode}")
    link = target.console("Admin::Group::UserLink", "--user-name", BENCH_AGENT, "--group-name", GROUP,
                          "--permission", "rw", "--no-ansi")
    done.append(f"Admin::Group::UserLink rw {GROUP}: exit {link.returncode}")
    r = requests.post(url, json={"UserLogin": BENCH_AGENT, "Password": BENCH_PASSWORD},
                      headers={"User-Agent": SETUP_UA}, timeout=60)
    sid = r.json().get("SessionID") if r.status_code == 200 else None
    if not sid:
        raise SystemExit(f"{target.name}: could not set up the benchmark agent {BENCH_AGENT}: {done}; {r.text[:300]}")
    target.end_sessions([str(sid)])
    return done


def split_service_url(url: str) -> tuple[str, str, str]:
    """A web service URL as pyotrs takes it: server root, webservice_path, web service name."""
    parts = urlsplit(url)
    path, _, name = parts.path.rpartition("/")
    return f"{parts.scheme}://{parts.netloc}", path + "/", name


# -- the three sides -----------------------------------------------------------------------------


@dataclass
class Sides:
    target: Target
    scan: Path
    editable: Path
    client: ClosureClient = field(init=False)
    floor: Floor = field(init=False)
    pyotrs_sessions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = self.target
        self.client = self.new_client()
        # The floor's update bodies are the library's own (an offline plan sends nothing).
        planner = ClosureClient(base_url=t.url, username=t.username, password=t.password, owner_login=t.owner,
                                article_fields=t.article_fields)
        plan = planner.plan(ticket_number="0", attention=self.attention, formats=self.formats(), offline=True)
        note, owner = documents_from_plan(plan, {self.scan.name: self.scan, self.editable.name: self.editable})
        self.floor = Floor(t.url, t.username, t.password, t.search, note, owner, UA["floor"])

    def new_client(self) -> ClosureClient:
        t = self.target
        # Zero configuration: what differs between generations is learned by reading.
        return ClosureClient(base_url=t.url, username=t.username, password=t.password, owner_login=t.owner,
                             user_agent=UA["library"])

    @property
    def attention(self) -> ServiceRequest:
        return ServiceRequest(description=DESCRIPTION)

    def formats(self) -> FormatFiles:
        return FormatFiles(signed_scan=self.scan, editable=self.editable)

    def close(self, side: str, number: str) -> None:
        t = self.target
        if side == "library":
            self.client.close(ticket_number=number, attention=self.attention, formats=self.formats())
        elif side == "floor":
            self.floor.close(ticket_number=number)
        else:
            root, path, name = split_service_url(t.url)
            out = pyotrs_close(root, t.username, t.password, t.owner, number, DESCRIPTION, str(self.scan),
                               str(self.editable), search=t.search, article_fields=t.article_fields,
                               content_type=NOTE_CONTENT_TYPE, user_agent=UA["pyotrs"], webservice_path=path,
                               webservice=name)
            self.pyotrs_sessions.append(str(out.get("SessionID") or ""))

    def after(self, side: str) -> None:
        """Outside the measured time: log out the pyotrs script's session where the server
        limits sessions (OTRS 5: 20 per agent, 100 in all, within 10 minutes)."""
        if side == "pyotrs" and self.pyotrs_sessions:
            self.target.end_sessions(self.pyotrs_sessions)
            self.pyotrs_sessions.clear()


# -- statistics -------------------------------------------------------------------------------------


def q(values: Sequence[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(x: float) -> str:
    return f"{1000 * x:.0f} ms" if x == x else "—"


def spread(values: Sequence[float]) -> str:
    return f"{ms(med(values))} ({1000 * q(values, 0.25):.0f}–{1000 * q(values, 0.75):.0f})"


# -- phase 1: closures, interleaved ------------------------------------------------------------------


@dataclass
class ClosureRun:
    side: str
    round: int
    position: int
    seconds: float
    requests: list[Req]
    connections: int
    client_cpu: float
    server_cpu: float | None


def _cpu(cpu: ServerCPU | None) -> float | None:
    sample = cpu.sample() if cpu is not None else None
    return sum(sample) if sample is not None else None


def _delta(before: float | None, after: float | None) -> float | None:
    """CPU used between two samples; None when a process that exited took its ticks along."""
    if before is None or after is None or after < before:
        return None
    return after - before


def closures_phase(sides: Sides, setup: Setup, n: int, log: Callable[[str], None]) -> dict[str, Any]:
    t = sides.target
    cpu = t.cpu
    warm = setup.create(3, "warm-up")
    for side, (_, number) in zip(SIDES, warm, strict=True):
        REC.tag = ("warm-up", side)
        sides.close(side, number)
        sides.after(side)
    log_start = accesslog.offset(t.access_log)
    rec_start = len(REC.records)
    orders = list(itertools.permutations(SIDES))
    runs: list[ClosureRun] = []
    closed: dict[str, list[int]] = defaultdict(list)
    for i in range(n):
        order = orders[i % len(orders)]
        tickets = setup.create(3, f"round {i}", threads=3)
        for pos, (side, (tid, number)) in enumerate(zip(order, tickets, strict=True)):
            REC.tag = ("closures", side, i)
            first, conns = len(REC.records), REC.connections[side]
            server_before = _cpu(cpu)
            cpu_started = time.process_time()
            started = time.perf_counter()
            sides.close(side, number)
            seconds = time.perf_counter() - started
            client_cpu = time.process_time() - cpu_started
            server_cpu = _delta(server_before, _cpu(cpu))
            REC.tag = ("idle",)
            runs.append(ClosureRun(side, i, pos, seconds, REC.since(first), REC.connections[side] - conns,
                                   client_cpu, server_cpu))
            sides.after(side)
            closed[side].append(tid)
        if (i + 1) % 12 == 0:
            log(f"  {t.name}: {i + 1}/{n} rounds; medians so far "
                + ", ".join(f"{s} {ms(med([r.seconds for r in runs if r.side == s]))}" for s in SIDES))
    time.sleep(0.5)  # the last log lines
    records = [r for r in REC.since(rec_start) if r.tag[0] == "closures"]
    lines = accesslog.read_from(t.access_log, log_start, set(UA.values()))
    for rec, line in zip(records, accesslog.match([(UA[r.side], r.method, r.path) for r in records], lines),
                         strict=True):
        rec.server = line
    problems = setup.check_all(itertools.chain.from_iterable(closed.values()))
    retries = Counter(tag[1] for tag, _ in REC.retries if tag[0] == "closures")
    return {"runs": runs, "problems": problems, "log": bool(lines), "retries": dict(retries),
            "floor_resends": sides.floor.resends}


def _relabel(runs: list[ClosureRun]) -> None:
    """A closure's first TicketGet is its read, a later one its verify."""
    for run in runs:
        gets = [r for r in run.requests if r.label == "TicketGet"]
        if run.side == "library" and gets:
            gets[0].label = "TicketGet (read)"
            for g in gets[1:]:
                g.label = "TicketGet (verify)"
        elif run.side == "pyotrs" and len(gets) == 2:
            gets[0].label, gets[1].label = "TicketGet (read)", "TicketGet (verify)"


def breakdown(runs: list[ClosureRun]) -> dict[str, dict[str, dict[str, float]]]:
    """Per side and request kind: count per closure, client and server medians (s)."""
    _relabel(runs)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for side in SIDES:
        mine = [r for r in runs if r.side == side]
        by: dict[str, list[Req]] = defaultdict(list)
        for run in mine:
            for r in run.requests:
                by[r.label].append(r)
        out[side] = {}
        for label in sorted(by, key=lambda x: LABEL_ORDER.index(x) if x in LABEL_ORDER else 99):
            reqs = by[label]
            server = [r.server.micros / 1e6 for r in reqs if r.server is not None]
            out[side][label] = {
                "per_closure": len(reqs) / len(mine),
                "client": med([r.seconds for r in reqs]),
                "server": med(server) if server else float("nan"),
                "server_mean": statistics.fmean(server) if server else float("nan"),
                "client_mean": statistics.fmean([r.seconds for r in reqs]),
                "bytes": med([r.server.sent for r in reqs if r.server is not None]) if server else float("nan"),
            }
        walls = [r.seconds for r in mine]
        in_requests = [sum(x.seconds for x in r.requests) for r in mine]
        in_server = [sum(x.server.micros / 1e6 for x in r.requests if x.server) for r in mine]
        out[side]["(whole closure)"] = {
            "per_closure": statistics.fmean([len(r.requests) for r in mine]),
            "client": med(walls), "server": med(in_server) if any(in_server) else float("nan"),
            "client_mean": statistics.fmean(walls), "server_mean": statistics.fmean(in_server),
            "bytes": float("nan"),
            "local": med([w - s for w, s in zip(walls, in_requests, strict=True)]),
        }
    return out


# -- phase 2: throughput -------------------------------------------------------------------------------


def throughput_phase(sides: Sides, setup: Setup, workers: Sequence[int], n_by_w: dict[int, int], reps: int,
                     log: Callable[[str], None]) -> dict[str, Any]:
    t = sides.target
    rates: dict[str, dict[int, list[float]]] = {s: defaultdict(list) for s in ("library", "floor")}
    server: dict[str, dict[int, list[float]]] = {s: defaultdict(list) for s in ("library", "floor")}
    server_cpu: dict[str, dict[int, list[float]]] = {s: defaultdict(list) for s in ("library", "floor")}
    client_cpu: dict[str, dict[int, list[float]]] = {s: defaultdict(list) for s in ("library", "floor")}
    resends_before = sides.floor.resends
    failures: list[str] = []
    floor_ids: list[int] = []
    client = sides.new_client()
    client.connect()
    for k, w in enumerate(workers):
        for rep in range(reps):
            order = ("library", "floor") if (k + rep) % 2 == 0 else ("floor", "library")
            for side in order:
                n = n_by_w[w]
                tickets = setup.create(n, f"batch {side} w{w} r{rep}")
                log_start = accesslog.offset(t.access_log)
                REC.tag = ("throughput", side, w, rep)
                server_before = _cpu(t.cpu)
                cpu_started = time.process_time()
                started = time.perf_counter()
                if side == "library":
                    items = [BatchItem(attention=sides.attention, ticket_number=num, formats=sides.formats(), row=j + 1)
                             for j, (_, num) in enumerate(tickets)]
                    results = list(run_batch(client, items, workers=w))
                    bad = [r.describe() for r in results if r.status.value != "closed"]
                else:
                    bad = []

                    def one(ticket: tuple[int, str]) -> str | None:
                        try:
                            sides.floor.close(ticket_number=ticket[1])
                        except (FloorError, requests.RequestException) as exc:
                            return f"{ticket[1]}: {exc}"
                        return None

                    with ThreadPoolExecutor(w) as pool:
                        bad = [b for b in pool.map(one, tickets) if b]
                    floor_ids += [tid for tid, _ in tickets]
                seconds = time.perf_counter() - started
                client_cpu[side][w].append((time.process_time() - cpu_started) / n)
                used = _delta(server_before, _cpu(t.cpu))
                if used is not None:
                    server_cpu[side][w].append(used / n)
                REC.tag = ("idle",)
                client.shutdown()
                sides.floor.close_connections()
                failures += [f"{side} w{w}: {b}" for b in bad]
                rates[side][w].append((n - len(bad)) / seconds)  # a failed closure is not a closure
                time.sleep(0.3)
                lines = accesslog.read_from(t.access_log, log_start, {UA[side]})
                if lines:
                    server[side][w].append(sum(x.micros for x in lines) / 1e6 / n)
                log(f"  {t.name}: {side:7s} {w} worker(s), run {rep + 1}/{reps}: {n} closures in {seconds:.1f} s = "
                    f"{n / seconds:.2f}/s")
    failures += [f"floor: {p}" for p in setup.check_all(floor_ids)]  # the floor checks nothing: read its tickets back
    retries = Counter(f"{tag[1]} w{tag[2]}" for tag, _ in REC.retries if tag[0] == "throughput")
    return {"rates": rates, "server_seconds_per_closure": server, "server_cpu": server_cpu, "client_cpu": client_cpu,
            "failures": failures, "retries": dict(retries), "floor_resends": sides.floor.resends - resends_before}


# -- phase 3: memory ------------------------------------------------------------------------------------


def memory_phase(sides: Sides, setup: Setup, folder: Path, scan_mb: int, write_pdf: Callable[[Path, int], Path],
                 log: Callable[[str], None]) -> dict[str, Any]:
    t = sides.target
    # The whole request (the scan's base64, the small files', the note) must fit the server's limit.
    fits = (t.max_request - 200_000) * 3 // 4 // 1_000_000
    if fits < scan_mb:
        log(f"  {t.name}: a {scan_mb} MB scan does not fit a request of at most {t.max_request:,} bytes; "
            f"measuring with {fits} MB")
        scan_mb = fits
    big = write_pdf(folder / "escaneo_grande.pdf", scan_mb * 1_000_000)
    root, path, name = split_service_url(t.url)
    cfg = {"username": t.username, "password": t.password, "owner": t.owner, "search": list(t.search),
           "article_fields": t.article_fields, "content_type": NOTE_CONTENT_TYPE, "root": root,
           "webservice_path": path, "webservice": name}
    out: dict[str, Any] = {"file_size": big.stat().st_size,
                           "request_bytes": 4 * ((big.stat().st_size + 2) // 3)}
    for side, name in (("ours", "library"), ("baseline", "pyotrs")):
        (_, warm), (tid, number) = setup.create(2, f"memory {name}", threads=2)
        proc = subprocess.run(
            [sys.executable, str(HERE / "memory_probe.py"), side, "rss", t.url, warm, number, str(big),
             str(sides.scan), str(sides.editable), json.dumps({**cfg, "user_agent": UA[name]})],
            capture_output=True, text=True, timeout=1800,
        )
        if proc.returncode != 0:
            out[name] = {"error": proc.stderr.strip().splitlines()[-1][:300] if proc.stderr.strip() else "failed"}
            log(f"  {t.name}: memory probe {name} failed: {proc.stderr[-2000:]}")
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        t.end_sessions(result.pop("session_ids", []))
        result["problems"] = setup.problems(tid)
        out[name] = result
        log(f"  {t.name}: memory {name}: growth {result['growth'] / 1e6:.1f} MB = {result['ratio']:.3f}× file, "
            f"{result['seconds']:.1f} s")
    big.unlink()
    return out


# -- the report ---------------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}×" if b and a == a and b == b else "—"


def report(target: Target, c: dict[str, Any] | None, tp: dict[str, Any] | None, mem: dict[str, Any] | None,
           workers: Sequence[int]) -> tuple[str, dict[str, Any]]:
    rows: list[tuple[str, ...]] = []
    details: dict[str, Any] = {"server": target.name, "product": target.product, "url": target.url}
    if c is not None:
        runs: list[ClosureRun] = c["runs"]
        n = len([r for r in runs if r.side == "floor"])
        by = {s: [r for r in runs if r.side == s] for s in SIDES}
        walls = {s: [r.seconds for r in by[s]] for s in SIDES}
        trips = {s: statistics.fmean([len(r.requests) for r in by[s]]) for s in SIDES}
        conns = {s: statistics.fmean([r.connections for r in by[s]]) for s in SIDES}
        rows.append(("requests per closure, by ticket number", f"{trips['library']:.2f}", f"{trips['pyotrs']:.2f}",
                     f"{trips['floor']:.2f}", _ratio(trips["library"], trips["floor"]), "—", ""))
        rows.append(("new TCP connections per closure", f"{conns['library']:.2f}", f"{conns['pyotrs']:.2f}",
                     f"{conns['floor']:.2f}", "", "—", ""))
        # paired: the three closures of one round ran back to back
        rounds: dict[int, dict[str, float]] = defaultdict(dict)
        for r in runs:
            rounds[r.round][r.side] = r.seconds
        paired = [v["library"] / v["floor"] for v in rounds.values()]
        paired_py = [v["pyotrs"] / v["floor"] for v in rounds.values()]
        ratio = med(walls["library"]) / med(walls["floor"])
        verdict = "met" if ratio <= 1.03 else f"missed by {ratio - 1.03:.2f}"
        rows.append((f"wall time per closure, median (p25–p75), {n} each", spread(walls["library"]),
                     spread(walls["pyotrs"]), spread(walls["floor"]), f"{ratio:.3f}×", "≤ 1.03× floor", verdict))
        rows.append(("  same, ratio per round (median, p25–p75)",
                     f"{med(paired):.3f}× ({q(paired, .25):.2f}–{q(paired, .75):.2f})",
                     f"{med(paired_py):.3f}× ({q(paired_py, .25):.2f}–{q(paired_py, .75):.2f})", "1", "", "", ""))
        means = {s: statistics.fmean(walls[s]) for s in SIDES}
        rows.append(("  same, mean (max)", f"{ms(means['library'])} ({ms(max(walls['library']))})",
                     f"{ms(means['pyotrs'])} ({ms(max(walls['pyotrs']))})",
                     f"{ms(means['floor'])} ({ms(max(walls['floor']))})", _ratio(means["library"], means["floor"]),
                     "", ""))
        ccpu = {s: med([r.client_cpu for r in by[s]]) for s in SIDES}
        rows.append(("client CPU per closure, median", ms(ccpu["library"]), ms(ccpu["pyotrs"]), ms(ccpu["floor"]),
                     _ratio(ccpu["library"], ccpu["floor"]), "", ""))
        if any(r.server_cpu is not None for r in runs):
            scpu = {s: med([r.server_cpu for r in by[s] if r.server_cpu is not None]) for s in SIDES}
            rows.append(("server CPU per closure (Apache + PostgreSQL), median", ms(scpu["library"]),
                         ms(scpu["pyotrs"]), ms(scpu["floor"]), _ratio(scpu["library"], scpu["floor"]), "", ""))
        retried = c.get("retries", {})
        rows.append(("closures with a retry / floor requests resent", str(retried.get("library", 0)), "—",
                     str(c.get("floor_resends", 0)), "", "", ""))
        details["closures"] = {
            "n": n, "walls": walls, "trips": trips, "connections": conns, "problems": c["problems"],
            "breakdown": breakdown(runs), "server_log": c["log"],
        }
    if tp is not None:
        rates = tp["rates"]
        for w in workers:
            lib, flo = med(rates["library"][w]), med(rates["floor"][w])
            pairs = [a / b for a, b in zip(rates["library"][w], rates["floor"][w], strict=True)]
            target_s, verdict = "—", ""
            if w >= 4:
                target_s = "≥ 0.95× floor"
                verdict = "met" if lib / flo >= 0.95 else f"missed by {0.95 - lib / flo:.2f}"
            rows.append((f"closures per second, {w} worker(s) (median of {len(rates['library'][w])} runs)",
                         f"{lib:.2f}/s ({min(rates['library'][w]):.2f}–{max(rates['library'][w]):.2f})", "—",
                         f"{flo:.2f}/s ({min(rates['floor'][w]):.2f}–{max(rates['floor'][w]):.2f})",
                         f"{lib / flo:.3f}× (paired {med(pairs):.2f}×)", target_s, verdict))
            scpu = tp["server_cpu"]
            if scpu["library"].get(w) and scpu["floor"].get(w):
                ls, fs = med(scpu["library"][w]), med(scpu["floor"][w])
                lc, fc = med(tp["client_cpu"]["library"][w]), med(tp["client_cpu"]["floor"][w])
                rows.append(("  server / client CPU per closure", f"{ms(ls)} / {ms(lc)}", "—",
                             f"{ms(fs)} / {ms(fc)}", f"{ls / fs:.3f}× / {lc / fc:.2f}×", "", ""))
        rows.append(("  closures with a retry / floor requests resent", str(sum(tp["retries"].values())), "—",
                     str(tp["floor_resends"]), "", "", ""))
        details["throughput"] = {k: {s: dict(v) for s, v in tp[k].items()} if isinstance(tp[k], dict) and k != "retries"
                                 else tp[k]
                                 for k in ("rates", "server_seconds_per_closure", "server_cpu", "client_cpu",
                                           "failures", "retries", "floor_resends")}
    if mem is not None:
        size = mem["file_size"]
        lib, py = mem.get("library", {}), mem.get("pyotrs", {})
        lr, pr = lib.get("ratio", float("nan")), py.get("ratio", float("nan"))
        verdict = "met" if lr <= 0.1 else f"missed by {lr - 0.1:.2f}×"
        rows.append((f"peak memory growth, one closure with a {size // 1_000_000} MB scan (RSS)",
                     f"{lr:.3f}× file" if lr == lr else lib.get("error", "—"),
                     f"{pr:.2f}× file" if pr == pr else py.get("error", "—"), "—", _ratio(lr, pr), "≤ 0.1× file",
                     verdict if lr == lr else "not measured"))
        rows.append(("  that closure's wall time", f"{lib.get('seconds', float('nan')):.1f} s",
                     f"{py.get('seconds', float('nan')):.1f} s", "—", "", "", ""))
        details["memory"] = mem
    head = ("measure", "library", "pyotrs script", "floor", "library / floor", "target", "result")
    return _table(head, rows), details


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    cells = [head, *rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["| " + " | ".join(c[i].ljust(widths[i]) for i in range(len(head))) + " |" for c in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def breakdown_table(b: dict[str, dict[str, dict[str, float]]]) -> str:
    head = ("side", "request", "per closure", "client median", "server median (%D)", "client − server",
            "answer bytes")
    rows = []
    for side in SIDES:
        for label, v in b[side].items():
            srv = v["server"]
            rows.append((side, label, f"{v['per_closure']:.2f}", ms(v["client"]), ms(srv),
                         ms(v["client"] - srv) if srv == srv else "—",
                         f"{v['bytes']:.0f}" if v["bytes"] == v["bytes"] else
                         (f"local work {ms(v['local'])}" if "local" in v else "")))
    return _table(head, rows)


# -- main -------------------------------------------------------------------------------------------


def load_average() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def run_live(a: Any, write_pdf: Callable[[Path, int], Path], write_docx: Callable[[Path], Path]) -> int:
    targets = targets_from_env(names=a.systems.split(",") if a.systems else None)
    install_recorder()
    n = a.closures or (6 if a.quick else 60)
    n_big = a.batch or (16 if a.quick else 32)
    workers = (1, 4, 8)
    n_by_w = {1: max(8, n_big // 2), 4: n_big, 8: n_big}
    reps = a.reps or (1 if a.quick else 6)
    run_id = time.strftime("%m%d-%H%M") + "-" + uuid.uuid4().hex[:4]
    texts, all_details = [], []

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    started_all = time.perf_counter()
    out_dir = Path(a.out).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="otrs-closure-live-bench-") as tmp:
        folder = Path(tmp)
        scan = write_pdf(folder / "formato_firmado.pdf", 40_000)
        editable = write_docx(folder / "formato.docx")
        for target in targets:
            started = time.perf_counter()
            load_before = load_average()
            log(f"{target.name} ({target.product}) at {target.url}: run {run_id}")
            if target.system is not None:
                for line in ensure_agent(target):
                    log(f"  {line}")
            setup = Setup(target, run_id)
            sides = Sides(target, scan, editable)
            c = tp = mem = None
            try:
                if "trips" not in a.skip and "wall" not in a.skip:
                    c = closures_phase(sides, setup, n, log)
                if "batch" not in a.skip:
                    tp = throughput_phase(sides, setup, workers, n_by_w, reps, log)
                if "memory" not in a.skip:
                    mem = memory_phase(sides, setup, folder, a.scan_mb, write_pdf, log)
            except Exception as exc:  # one server's failure loses neither its measured phases nor the others'
                log(f"  {target.name}: stopped by {type(exc).__name__}: {exc}")
                stopped = f"{type(exc).__name__}: {exc}"
            else:
                stopped = None
            sides.client.shutdown()
            target.end_sessions([setup.sid, sides.floor.session_id])  # OTRS 5 only; the library's ages out
            table, details = report(target, c, tp, mem, workers)
            elapsed = time.perf_counter() - started
            command = "python benchmarks/run.py " + (" ".join(sys.argv[1:]) or "--live")
            header = (f"**{target.product}** (`{target.name}`, {target.url.split('/nph')[0]}…, web service "
                      f"`{target.url.rsplit('/', 1)[-1]}`) — `{command}` — "
                      f"{time.strftime('%Y-%m-%d %H:%M')}, "
                      f"Python {platform.python_version()}, {os.cpu_count()} CPU(s) shared by server and client, "
                      f"load average {load_before} before / {load_average()} after, {elapsed:.0f} s")
            parts = [header, "", table]
            if c is not None:
                parts += ["", "Per request (closures phase; client: whole exchange as the side's code sees it; "
                          "server: the access log's %D):", "", breakdown_table(details["closures"]["breakdown"])]
                if c["problems"]:
                    parts += ["", "**Tickets not closed as expected:** " + "; ".join(c["problems"][:10])]
            if tp is not None and tp["failures"]:
                parts += ["", "**Batch failures:** " + "; ".join(tp["failures"][:10])]
            if stopped:
                parts += ["", f"**Stopped by** {stopped}"]
            text = "\n".join(parts) + "\n"
            print(text, flush=True)
            texts.append(text)
            all_details.append(details)
            single = out_dir / f"live-{target.name}.md"
            single.write_text(text + "\n<!-- details: " + json.dumps(details, default=_json_default) + " -->\n",
                              encoding="utf-8")
    total = time.perf_counter() - started_all
    combined = "\n".join(texts) + f"\n({len(targets)} server(s), {total:.0f} s in all)\n"
    if len(targets) > 1:
        table = summary(out_dir, [t.name for t in targets])
        print(table)
        combined += "\n" + table + "\n"
    Path(a.out).write_text(combined + "\n<!-- details: " + json.dumps(all_details, default=_json_default) + " -->\n",
                           encoding="utf-8")
    return 0


def _json_default(o: Any) -> Any:
    if isinstance(o, accesslog.LogLine):
        return o.micros
    if isinstance(o, (ClosureRun, Req)):
        return None
    if isinstance(o, float) and o != o:
        return None
    return str(o)


# -- the summary across servers ------------------------------------------------------------------


def summary(folder: Path, names: Sequence[str]) -> str:
    """One line per server from the latest ``results/live-<server>.md`` of each."""
    head = ("server", "wall per closure: library / pyotrs / floor (median)", "library / floor",
            "per round (median)", "4 workers: lib / floor", "8 workers: lib / floor", "memory growth: library / pyotrs")
    rows = []
    for name in names:
        path = folder / f"live-{name}.md"
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        d = json.loads(text.rsplit("<!-- details: ", 1)[1].rsplit(" -->", 1)[0])
        c, tp, mem = d.get("closures"), d.get("throughput"), d.get("memory")
        cells = [f"{d['product']} (`{name}`)"]
        if c:
            w = c["walls"]
            m = {s: med(w[s]) for s in SIDES}
            pairs = [a / b for a, b in zip(w["library"], w["floor"], strict=True)]
            cells += [f"{ms(m['library'])} / {ms(m['pyotrs'])} / {ms(m['floor'])}", f"{m['library'] / m['floor']:.2f}×",
                      f"{med(pairs):.2f}×"]
        else:
            cells += ["—", "—", "—"]
        for wk in ("4", "8"):
            if tp:
                lib, flo = med(tp["rates"]["library"][wk]), med(tp["rates"]["floor"][wk])
                cells.append(f"{lib:.2f} / {flo:.2f} /s = {lib / flo:.2f}×")
            else:
                cells.append("—")
        if mem and "ratio" in mem.get("library", {}) and "ratio" in mem.get("pyotrs", {}):
            cells.append(f"{mem['library']['ratio']:.2f}× / {mem['pyotrs']['ratio']:.2f}× of "
                         f"{mem['file_size'] // 1_000_000} MB")
        else:
            cells.append("—")
        rows.append(tuple(cells))
    return _table(head, rows)
