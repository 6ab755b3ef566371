"""Replaying recorded exchanges against a FakeZnuny door, and the comparison rules.

Shared by ``test_fake_replay.py`` (Znuny 6.5.15, ``tests/recordings``) and
``test_fake_replay_dialects.py`` (OTRS 5/6, OTOBO, Znuny 7, ``tests/recordings-dialects``).
A folder's files are replayed in file-name order. Substitutions: masked passwords -> the
test passwords; recorded SessionIDs -> the ones the replay's own SessionCreate returned (a
made-up id stays unknown; the off-record and expired sessions of the 6.5.15 set are made by
the replay); the omitted 20 MiB / 75 MiB attachment contents -> deterministic bytes of the
right size; SessionIDs in the extra request headers likewise.

Per exchange we compare HTTP status, Content-Type/Connection headers, ErrorCode and
ErrorMessage, and the JSON shape recursively (same keys, same JSON types); values are
compared too unless they are volatile (times, ages, session ids, unlock timeouts).
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from otrs_closure.testing import PASSWORDS, FakeZnuny

#: Values that legitimately differ between the live server and a replay.
VOLATILE_KEYS = {
    "Age",
    "AgeTimeUnix",
    "Changed",
    "Created",
    "CreateTime",
    "CreateTimeUnix",
    "ChangeTime",
    "IncomingTime",
    "UnlockTimeout",
    "FirstLock",
    "SessionID",
}
#: SessionGet values that depend on when and from where the session was made.
VOLATILE_SESSION_KEYS = {
    "ChangeTime",
    "CreateTime",
    "UserLastLogin",
    "UserLastLoginTimestamp",
    "UserLastPwChangeTime",
    "UserLastRequest",
    "UserSessionStart",
    "UserRemoteUserAgent",
}
EXPIRED_SESSION = "7s4GwYcEf36IMtaP5ifrhclctZ0rBOm3"  # 6.5.15 recording 90*: idle beyond SessionMaxIdleTime
OFF_RECORD_SESSION = "Vq0i5rod5Xetbu5fQ4cxojv3rF8V6NJo"  # 6.5.15 recording 91+: created by tecnico1 off-record
PLACEHOLDER = re.compile(r"^<<omitted (\d+) chars, sha256=[0-9a-f]{64}>>$")


def exchange_files(folder: Path) -> list[str]:
    """The numbered exchanges of a folder, in replay order."""
    return sorted(p.name for p in folder.glob("*.json") if not p.name.startswith("_"))


def load(folder: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / name).read_text(encoding="utf-8"))
    return data


def big_content(chars: int) -> str:
    """Deterministic base64 of exactly ``chars`` characters for a whole number of KiB.

    The recorded files were 20 MiB and 75 MiB: of the three byte counts whose base64 has
    ``chars`` characters, take the one that is a multiple of 1024.
    """
    candidates = [chars // 4 * 3 - pad for pad in (0, 1, 2)]
    size = next((c for c in candidates if c % 1024 == 0), candidates[0])
    data = random.Random(chars).randbytes(size)
    text = base64.b64encode(data).decode("ascii")
    assert len(text) == chars
    return text


class DeclaredLengthBody:
    """A streamed body whose declared Content-Length exceeds what it holds (recording 92).

    The fake judges MaxLength on Content-Length before reading, like Znuny, so a 105 MB
    declaration is enough to get the 413 without building 105 MB in memory.
    """

    def __init__(self, declared: int, payload: bytes) -> None:
        self.len = declared
        self._payload = payload

    def read(self, size: int = -1) -> bytes:
        payload, self._payload = self._payload, b""
        return payload

    def __iter__(self) -> Iterator[bytes]:
        yield self.read()


@dataclass
class Result:
    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes


class Replayer:
    """Sends a folder's recorded requests, with substitutions, to one door of a fake."""

    def __init__(self, fake: FakeZnuny, base_url: str, door: str, folder: Path, *, follow_clock: bool = False) -> None:
        self.fake = fake
        self.follow_clock = follow_clock
        self.base_url = base_url
        self.host = "{0.scheme}://{0.netloc}".format(urlsplit(base_url))
        self.door = door
        self.folder = folder
        self.http = requests.Session()
        self.sessions: dict[str, str] = {}
        self.stamps = article_stamps(folder) if follow_clock else {}

    # ------------------------------------------------------------ substitution
    def session_for(self, recorded: str) -> str:
        if recorded not in self.sessions:
            if recorded == EXPIRED_SESSION:
                self.sessions[recorded] = self.fake.create_session(
                    "tecnico1", created_at=self.fake.clock.now() - 7200 - 100
                )
            elif recorded == OFF_RECORD_SESSION:
                answer = self.http.post(
                    self.base_url + "/Session",
                    json={"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"]},
                    timeout=30,
                )
                self.sessions[recorded] = answer.json()["SessionID"]
            else:  # a made-up id (66): leave it unknown to the fake too
                self.sessions[recorded] = recorded
        return self.sessions[recorded]

    def substitute(self, value: Any, login: str | None = None) -> Any:
        if isinstance(value, dict):
            login = value.get("UserLogin") or value.get("CustomerUserLogin") or login
            out = {}
            for key, item in value.items():
                if key == "Password" and item == "********":
                    out[key] = PASSWORDS[str(login)]
                elif key == "SessionID" and isinstance(item, str):
                    out[key] = self.session_for(item)
                elif key == "Content" and isinstance(item, str) and PLACEHOLDER.match(item):
                    match = PLACEHOLDER.match(item)
                    assert match
                    out[key] = big_content(int(match.group(1)))
                else:
                    out[key] = self.substitute(item, login)
            return out
        if isinstance(value, list):
            return [self.substitute(v, login) for v in value]
        return value

    def substitute_path(self, path: str) -> str:
        for recorded in re.findall(r"/Session/([A-Za-z0-9]{32})$", path):
            path = path.replace(recorded, self.session_for(recorded))
        return path

    # ---------------------------------------------------------------- sending
    def send(self, name: str) -> Result:
        exchange = load(self.folder, name)
        request, meta = exchange["request"], exchange["meta"]
        if self.follow_clock and name in self.stamps:
            self.fake.clock.set(self.stamps[name])
        path = self.substitute_path(request["path"])
        query = self.substitute(request["query"])
        url = self.host + path
        if query:
            url += "?" + urlencode(
                {k: str(v) if not isinstance(v, list) else [str(i) for i in v] for k, v in query.items()}, doseq=True
            )
        headers = {}
        if meta["request_content_type"]:
            headers["Content-Type"] = meta["request_content_type"]
        for header, value in (meta.get("request_headers_extra") or {}).items():
            headers[header] = self.session_for(value) if header.lower().endswith("-sessionid") else value
        body: Any = None
        previous_max = self.fake.max_length
        if isinstance(request["body"], str):
            body = request["body"].encode("utf-8")
        elif request["body"] is not None and exchange["response"]["status"] != 413:
            body = json.dumps(self.substitute(request["body"]), ensure_ascii=False).encode("utf-8")
        elif exchange["response"]["status"] == 413:
            body_json = self.substitute(_shrink_placeholders(request["body"]))
            payload = json.dumps(body_json).encode("utf-8")
            if self.door == "mock":
                body = DeclaredLengthBody(meta["request_bytes"], payload)
            else:  # over real TCP the body must be sent: shrink MaxLength instead
                self.fake.max_length = len(payload) - 1
                body = payload
        try:
            answer = self.http.request(request["method"], url, data=body, headers=headers, timeout=60)
        finally:
            self.fake.max_length = previous_max
        raw = answer.content
        try:
            parsed: Any = json.loads(raw.decode("utf-8"))
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return Result(answer.status_code, dict(answer.headers), parsed, raw)

    def remember_sessions(self, name: str, result: Result) -> None:
        recorded = load(self.folder, name)["response"]["body"]
        if isinstance(recorded, dict) and "SessionID" in recorded and isinstance(result.body, dict):
            self.sessions[recorded["SessionID"]] = result.body.get("SessionID", "")


def _shrink_placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                "QUFB" * 1000
                if k == "Content" and isinstance(v, str) and PLACEHOLDER.match(v)
                else _shrink_placeholders(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_shrink_placeholders(v) for v in value]
    return value


def article_stamps(folder: Path) -> dict[str, float]:
    """For each exchange that created an article: the CreateTime (UTC) the real server gave that
    article, as a later recorded TicketGet shows it. Setting the fake's clock to it before the
    exchange reproduces what depends on the second (OTOBO numbers one second's articles newest
    first)."""
    created: dict[int, str] = {}
    made_by: dict[str, int] = {}
    for name in exchange_files(folder):
        body = load(folder, name)["response"]["body"]
        if not isinstance(body, dict):
            continue
        if isinstance(body.get("ArticleID"), int):
            made_by[name] = body["ArticleID"]
        for ticket in body.get("Ticket", []) if isinstance(body.get("Ticket"), list) else []:
            for article in ticket.get("Article", []):
                stamp = article.get("CreateTime") or article.get("Created")
                if isinstance(stamp, str):
                    created[article["ArticleID"]] = stamp
    return {
        name: datetime.strptime(created[article_id] + "+0000", "%Y-%m-%d %H:%M:%S%z").timestamp()
        for name, article_id in made_by.items()
        if article_id in created
    }


def replay_folder(
    fake: FakeZnuny, door: str, folder: Path, host: str, *, follow_clock: bool = False
) -> dict[str, Result | BaseException]:
    """Every exchange of ``folder`` sent in order through ``door`` (``mock`` at ``host``, or
    ``serve``), with the fake's clock following :func:`article_stamps` if ``follow_clock``; an
    exchange whose sending raised maps to the exception."""
    results: dict[str, Result | BaseException] = {}
    context = fake.mock(host) if door == "mock" else fake.serve()
    with context as base_url:
        replayer = Replayer(fake, base_url, door, folder, follow_clock=follow_clock)
        for name in exchange_files(folder):
            try:
                result = replayer.send(name)
            except Exception as exc:  # reported by the per-exchange test
                results[name] = exc
                continue
            replayer.remember_sessions(name, result)
            results[name] = result
    return results


# ------------------------------------------------------------------ comparison
def json_kind(value: Any) -> str:
    """The JSON type of a decoded value: null, bool, number, string, array or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def compare(expected: Any, actual: Any, path: str = "$", key: str | None = None) -> list[str]:
    """Differences between a recorded and a replayed JSON value (volatile values: type only)."""
    diffs: list[str] = []
    if json_kind(expected) != json_kind(actual):
        return [f"{path}: type {json_kind(expected)} recorded, {json_kind(actual)} replayed ({actual!r:.80})"]
    if isinstance(expected, dict):
        if set(expected) != set(actual):
            missing = sorted(set(expected) - set(actual))
            extra = sorted(set(actual) - set(expected))
            diffs.append(f"{path}: keys missing {missing}, unexpected {extra}")
        for k in expected:
            if k in actual:
                if set(expected) == {"Key", "Value"} and k == "Value" and expected["Key"] in VOLATILE_SESSION_KEYS:
                    if json_kind(expected[k]) != json_kind(actual[k]):
                        diffs.append(f"{path}.Value: type differs")
                    continue
                diffs.extend(compare(expected[k], actual[k], f"{path}.{k}", k))
        return diffs
    if isinstance(expected, list):
        if key == "History":
            expected = [e for e in expected if e.get("HistoryType") != "Misc"]
            actual = [e for e in actual if e.get("HistoryType") != "Misc"]
        if len(expected) != len(actual):
            diffs.append(f"{path}: {len(expected)} items recorded, {len(actual)} replayed")
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            diffs.extend(compare(e, a, f"{path}[{i}]", key))
        return diffs
    if key in VOLATILE_KEYS:
        if key == "SessionID" and not re.fullmatch(r"[A-Za-z0-9]{32}", str(actual)):
            diffs.append(f"{path}: {actual!r} is not a 32-character session id")
        return diffs
    if isinstance(expected, str) and PLACEHOLDER.match(expected):
        match = PLACEHOLDER.match(expected)
        assert match
        if len(actual) != int(match.group(1)):
            diffs.append(f"{path}: {len(actual)} chars replayed, {match.group(1)} recorded")
        return diffs
    if expected != actual:
        diffs.append(f"{path}: {expected!r:.120} recorded, {actual!r:.120} replayed")
    return diffs


def problems(recorded: dict[str, Any], result: Result) -> list[str]:
    """Every way a replayed answer differs from the recorded one (status, headers, body)."""
    found = []
    if result.status != recorded["status"]:
        found.append(f"status {result.status}, recorded {recorded['status']}")
    for header in ("Content-Type", "Connection"):
        if result.headers.get(header) != recorded["headers-subset"][header]:
            found.append(f"{header}: {result.headers.get(header)!r}, recorded {recorded['headers-subset'][header]!r}")
    if result.headers.get("Content-Length") != str(len(result.raw)):
        found.append("Content-Length does not match the body")
    found.extend(compare(recorded["body"], result.body))
    return found
