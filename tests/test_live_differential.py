"""Differential test: the same GenericInterface corpus against each lab system and FakeZnuny.

For every configured lab system (``tests/lab.py``: ``OTRS_CLOSURE_TEST_LAB`` or
``OTRS_CLOSURE_TEST_LAB_SYSTEMS``) the corpus of :mod:`differential` (200+ requests) is sent
step by step to the real system and to ``FakeZnuny.service_desk(profile=...)`` served on
loopback, interleaved so both see the same moment. Each pair of answers is normalised (this
run's ids and ticket numbers named, times and session ids typed only, foreign tickets left
out of searches, no promised order -> sorted) and compared field by field: status,
Content-Type, Connection and the body.

Every divergence must be fixed in the fake or be one of :data:`DEPARTURES` -- the README's
"Known departures", each with its reason. Anything else fails the test. A per-system summary
is printed (run with ``-s`` to see it) and written to ``$OTRS_CLOSURE_DIFFERENTIAL_REPORT``
(a JSON file) when that variable is set; ``$OTRS_CLOSURE_DIFFERENTIAL_DUMP`` gets every
normalised pair of answers. Requests carry the User-Agent
``otrs-closure-differential``.

Run: ``OTRS_CLOSURE_TEST_LAB=../shared/lab python -m pytest -m live tests/test_live_differential.py -s``
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from differential import CORPUS, Target, differences, matches, new_marker, normalise, send
from lab import PASSWORDS, LabSystem, configured_systems, skip_reason

from otrs_closure.testing import FakeZnuny


@dataclass(frozen=True)
class Departure:
    """A known, documented difference: where it shows (regexes over system name, corpus step and
    answer path) and why the fake does not follow the real server there."""

    systems: str
    steps: str
    paths: str
    reason: str
    #: What the difference must say (``differences()``'s text), when direction matters.
    what: str = r".*"


#: The README's "Known departures", as they show in this corpus. Keep in step with README.md.
DEPARTURES: dict[str, Departure] = {
    "customer-session-data": Departure(
        systems=r".*",
        steps=r"session_get_customer",
        paths=r"\$\.body\.SessionData.*",
        reason=(
            "SessionGet of a customer session: the real systems list the customer backend's whole"
            " configuration (Config, CompanyConfig, serialized) and the company's fields; the fake"
            " lists the customer user's own fields (README: Known departures)."
        ),
    ),
    "otrs5-shared-session-limit": Departure(
        systems=r"otrs5",
        steps=r"session_create_.*|text_plain_body",
        paths=r"\$\.body\.(Error|SessionID)",
        what=r"missing in the fake \(real \{'ErrorCode': 'SessionCreate\.AuthFail'.*|only in the fake .*",
        reason=(
            "OTRS 5 refuses a SessionCreate beyond 20 sessions of one agent in 10 minutes; on the"
            " shared lab other clients' sessions count too, while the fake counts only its own"
            " (README: Known departures). Only a real AuthFail against a fake SessionID matches."
        ),
    ),
}

SYSTEMS = configured_systems()
REPORT: dict[str, dict[str, object]] = {}


def allowed(system: str, step: str, path: str, what: str = "") -> str | None:
    """Name of the departure that explains a divergence, or None."""
    for name, departure in DEPARTURES.items():
        if (
            matches(departure.systems, system)
            and matches(departure.steps, step)
            and matches(departure.paths, path)
            and re.fullmatch(departure.what, what, flags=re.DOTALL) is not None
        ):
            return name
    return None


def test_departures_are_well_formed() -> None:
    """Offline: every allow-list entry names a reason and compiles, and matching is exact."""
    for name, departure in DEPARTURES.items():
        assert departure.reason.strip(), name
        for pattern in (departure.systems, departure.steps, departure.paths, departure.what):
            matches(pattern, "")
    assert allowed("no-such-system", "no-such-step", "$.nowhere") is None
    # direction matters where it is given: a fake AuthFail is never the shared lab's fault
    assert allowed("otrs5", "text_plain_body", "$.body.SessionID", "only in the fake ('<volatile string>')")
    assert allowed("otrs5", "text_plain_body", "$.body.SessionID", "missing in the fake (real 'x')") is None
    assert len(CORPUS) >= 200
    assert len({step.name for step in CORPUS}) == len(CORPUS)


def test_lab_configuration(tmp_path: Path) -> None:
    """Offline: which systems the environment names, and a wrong lab path or name is an error."""
    assert configured_systems({}) == []
    (tmp_path / "up.sh").write_text("", encoding="utf-8")
    everything = configured_systems({"OTRS_CLOSURE_TEST_LAB": str(tmp_path)})
    assert [s.name for s in everything] == ["znuny65", "otrs6", "otobo", "otrs5", "znuny7"]
    some = configured_systems({"OTRS_CLOSURE_TEST_LAB_SYSTEMS": "otrs6, znuny7"})
    assert [(s.name, s.profile, s.url) for s in some] == [
        (
            "otrs6",
            "otrs-6.0.30",
            "http://127.0.0.1:8091/otrs/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST",
        ),
        (
            "znuny7",
            "znuny-7.1.7",
            "http://127.0.0.1:8094/znuny/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST",
        ),
    ]
    with pytest.raises(ValueError, match="unknown lab system"):
        configured_systems({"OTRS_CLOSURE_TEST_LAB_SYSTEMS": "otrs4"})
    with pytest.raises(ValueError, match="not the lab folder"):
        configured_systems({"OTRS_CLOSURE_TEST_LAB": str(tmp_path / "nowhere")})
    for system in everything:  # every lab system has a fake profile
        assert FakeZnuny(profile=system.profile).profile.script_path == f"/{system.prefix}/nph-genericinterface.pl"


@pytest.mark.live
@pytest.mark.parametrize("system", SYSTEMS or [None], ids=[s.name for s in SYSTEMS] or ["no-lab"])
def test_fake_answers_like_the_real_system(system: LabSystem | None) -> None:
    if system is None:
        pytest.skip(skip_reason())
    fake = FakeZnuny.service_desk(profile=system.profile, webservice=system.webservice, timezone="UTC")
    marker = new_marker()
    unexplained: list[str] = []
    departures: dict[str, int] = {}
    pairs: list[dict[str, object]] = []
    with fake.serve() as fake_url:
        real = Target("real", system.url, fake.profile, PASSWORDS, marker, session_wait=660)
        mine = Target("fake", fake_url, fake.profile, fake.credentials, marker)
        for step in CORPUS:
            if step.skip is not None and step.skip(real):
                continue
            try:
                real_answer = normalise(real, step, send(real, step))
            except Exception as exc:  # the corpus needs every step: stop at the first broken one
                raise AssertionError(f"{system.name}: step {step.name} failed on the real system: {exc!r}") from exc
            try:
                fake_answer = normalise(mine, step, send(mine, step))
            except Exception as exc:
                unexplained.append(f"{step.name}: the fake side raised {exc!r}")
                continue
            pairs.append({"step": step.name, "real": real_answer, "fake": fake_answer})
            for path, what in differences(real_answer, fake_answer):
                name = allowed(system.name, step.name, path, what)
                if name is None:
                    unexplained.append(f"{step.name} {path}: {what}")
                else:
                    departures[name] = departures.get(name, 0) + 1
        sent = len(real.log) + len(real.sessions)
    assert fake.internal_errors == []
    REPORT[system.name] = {
        "requests": sent,
        "unexplained": len(unexplained),
        "departures": departures,
        "details": unexplained,
    }
    print(
        f"\n{system.name} ({system.product} {system.version}): {sent} requests, "
        f"{sum(departures.values())} divergences explained by {len(departures)} known departure(s), "
        f"{len(unexplained)} unexplained"
    )
    for name, count in sorted(departures.items()):
        print(f"  departure {name}: {count}")
    for line in unexplained:
        print(f"  UNEXPLAINED {line}")
    dump = os.environ.get("OTRS_CLOSURE_DIFFERENTIAL_DUMP")
    if dump:  # every normalised pair, for looking into a divergence
        Path(dump).write_text(json.dumps(pairs, indent=1, ensure_ascii=False), encoding="utf-8")
    report = os.environ.get("OTRS_CLOSURE_DIFFERENTIAL_REPORT")
    if report:
        Path(report).write_text(json.dumps(REPORT, indent=2, ensure_ascii=False), encoding="utf-8")
    assert not unexplained, f"{system.name}: {len(unexplained)} divergence(s) from the real system:\n  " + (
        "\n  ".join(unexplained[:80])
    )
