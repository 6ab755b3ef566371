"""Fidelity per system: replay the OTRS 5/6, OTOBO and Znuny 7 recordings through the matching profile.

Each folder of tests/recordings-dialects/ (copied from ../shared/recordings-dialects, recorded
on the lab's real systems) is replayed in file-name order against
``FakeZnuny.like_recordings(profile=...)``, through both doors, with the comparison rules of
the Znuny 6.5.15 replay (:mod:`replay`). Before each write the fake's clock is set to the time
the real server gave the article it created (OTOBO numbers one second's articles newest first).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from replay import Result, exchange_files, load, problems, replay_folder

from otrs_closure.testing import FakeZnuny

DIALECTS = Path(__file__).parent / "recordings-dialects"
#: folder -> profile.
FOLDERS = {
    "otrs5-5.0.8": "otrs-5.0.8",
    "otrs6-6.0.30": "otrs-6.0.30",
    "otobo-11.0.6": "otobo-11.0.6",
    "znuny7-7.1.7": "znuny-7.1.7",
}
CASES = [(folder, name) for folder in FOLDERS for name in exchange_files(DIALECTS / folder)]

#: Exchanges the fake does not reproduce, with the reason (they are xfailed). Aim: none.
NOT_REPRODUCED: dict[tuple[str, str], str] = {}

_RESULTS: dict[tuple[str, str], tuple[dict[str, Result | BaseException], FakeZnuny]] = {}


def _replayed(folder: str, door: str) -> tuple[dict[str, Result | BaseException], FakeZnuny]:
    if (folder, door) not in _RESULTS:
        fake = FakeZnuny.like_recordings(profile=FOLDERS[folder])
        meta = load(DIALECTS / folder, exchange_files(DIALECTS / folder)[0])["meta"]
        host = "/".join(meta["base_url"].split("/")[:3])
        _RESULTS[(folder, door)] = replay_folder(fake, door, DIALECTS / folder, host, follow_clock=True), fake
    return _RESULTS[(folder, door)]


def test_every_folder_and_route_file_is_covered() -> None:
    assert sorted(p.name for p in DIALECTS.iterdir() if p.is_dir()) == sorted(FOLDERS)
    for folder, profile in FOLDERS.items():
        routes = json.loads((DIALECTS / folder / "_routes.json").read_text(encoding="utf-8"))["Operations"]
        fake = FakeZnuny(profile=profile)
        configured = {r.name: (r.type, r.method, r.route) for r in fake.interface.routes.values()}
        recorded = {name: (op["Type"], op["RequestMethod"][0], op["Route"]) for name, op in routes.items()}
        assert configured == recorded, folder
    assert len(CASES) >= 100
    assert set(NOT_REPRODUCED) <= set(CASES)


@pytest.mark.parametrize("door", ["mock", "serve"])
@pytest.mark.parametrize(("folder", "name"), CASES)
def test_exchange(folder: str, name: str, door: str) -> None:
    if (folder, name) in NOT_REPRODUCED:
        pytest.xfail(NOT_REPRODUCED[(folder, name)])
    results, fake = _replayed(folder, door)
    assert fake.internal_errors == []
    result = results[name]
    if isinstance(result, BaseException):
        raise AssertionError(f"{door}: replaying {folder}/{name} raised {result!r}") from result
    found = problems(load(DIALECTS / folder, name)["response"], result)
    assert not found, f"{door}: {folder}/{name} differs from the live server:\n  " + "\n  ".join(found)
