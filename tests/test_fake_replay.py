"""Fidelity proof: replay every recorded exchange against ``FakeZnuny.like_recordings()``.

The recordings (tests/recordings/, copied from a live Znuny 6.5.15) are replayed in file-name
order, once through the in-process ``responses`` door and once over a loopback socket, with
the substitutions and comparison rules of :mod:`replay` (status, Content-Type/Connection,
ErrorCode/ErrorMessage, the JSON shape, non-volatile values).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from replay import Result, compare, exchange_files, load, problems, replay_folder

from otrs_closure.testing import FakeZnuny

RECORDINGS = Path(__file__).parent / "recordings"
FILES = exchange_files(RECORDINGS)

#: Exchanges the fake does not reproduce, with the reason (they are xfailed). Aim: none.
NOT_REPRODUCED: dict[str, str] = {}


@pytest.fixture(scope="module", params=["mock", "serve"])
def replay(request: pytest.FixtureRequest) -> tuple[str, dict[str, Result | BaseException], FakeZnuny]:
    fake = FakeZnuny.like_recordings()
    results = replay_folder(fake, request.param, RECORDINGS, "http://127.0.0.1:8080")
    return request.param, results, fake


def test_every_recording_is_replayed() -> None:
    assert len(FILES) == 65
    assert set(NOT_REPRODUCED) <= set(FILES)


def test_comparison_catches_differences() -> None:
    """The comparator is strict where it should be: keys, types, non-volatile values."""
    recorded = load(RECORDINGS, "43_ticket_get_after_attachments.json")["response"]["body"]
    assert compare(recorded, json.loads(json.dumps(recorded))) == []
    changed = json.loads(json.dumps(recorded))
    changed["Ticket"][0]["Article"][2]["Attachment"][0]["FileID"] = 1  # string -> number
    changed["Ticket"][0]["Article"][1]["From"] = "tecnico1@example.com"
    changed["Ticket"][0]["State"] = "new"
    del changed["Ticket"][0]["GroupID"]
    changed["Ticket"][0]["Age"] = 12345  # volatile: ignored
    found = compare(recorded, changed)
    assert len(found) == 4, found
    assert compare({"SessionID": "x" * 32}, {"SessionID": "short"}) != []


@pytest.mark.parametrize("name", FILES)
def test_exchange(name: str, replay: tuple[str, dict[str, Result | BaseException], FakeZnuny]) -> None:
    if name in NOT_REPRODUCED:
        pytest.xfail(NOT_REPRODUCED[name])
    door, results, fake = replay
    assert fake.internal_errors == []
    result = results[name]
    if isinstance(result, BaseException):
        raise AssertionError(f"{door}: replaying {name} raised {result!r}") from result
    found = problems(load(RECORDINGS, name)["response"], result)
    assert not found, f"{door}: {name} differs from the live server:\n  " + "\n  ".join(found)
