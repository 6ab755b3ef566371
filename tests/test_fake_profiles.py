"""A profile per system: what FakeZnuny(profile=...) does differently, claim by claim.

Each claim was checked against the system's recordings (tests/recordings-dialects, replayed
by test_fake_replay_dialects.py) and the live lab (test_live_differential.py); these tests pin
them down through the public API, one behaviour at a time, on both doors where it matters.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from otrs_closure.testing import (
    DEFAULT_PROFILE,
    PASSWORDS,
    PROFILE_ALIASES,
    PROFILE_NAMES,
    FakeZnuny,
    get_profile,
)

LAB = {
    "znuny65": "znuny-6.5.10",
    "otrs6": "otrs-6.0.30",
    "otobo": "otobo-11.0.6",
    "otrs5": "otrs-5.0.8",
    "znuny7": "znuny-7.1.7",
}
PREFIX = {
    "znuny-6.5.15": "otrs",
    "znuny-6.5.10": "otrs",
    "znuny-7.1.7": "znuny",
    "otrs-6.0.30": "otrs",
    "otobo-11.0.6": "otobo",
    "otrs-5.0.8": "otrs",
}
PDF = b"%PDF-1.4\n%%EOF\n"


class Api:
    """A few raw GenericInterface calls through an open door, as tecnico1 unless told."""

    def __init__(self, fake: FakeZnuny, base_url: str) -> None:
        self.fake = fake
        self.url = base_url
        self.sids: dict[str, str] = {}

    def sid(self, user: str = "tecnico1") -> str:
        if user not in self.sids:
            answer = requests.post(
                f"{self.url}/Session", json={"UserLogin": user, "Password": PASSWORDS[user]}, timeout=10
            )
            self.sids[user] = answer.json()["SessionID"]
        return self.sids[user]

    def update(self, ticket_id: int, body: dict[str, Any], user: str = "tecnico1") -> requests.Response:
        return requests.patch(f"{self.url}/Ticket/{ticket_id}", json={"SessionID": self.sid(user), **body}, timeout=10)

    def get(self, ticket_id: int | str, **flags: Any) -> dict[str, Any]:
        answer = requests.get(f"{self.url}/Ticket/{ticket_id}", params={"SessionID": self.sid(), **flags}, timeout=10)
        data: dict[str, Any] = answer.json()
        return data


def note(fields: str, subject: str = "Atendido", **extra: Any) -> dict[str, Any]:
    """An internal note in one generation's fields: ``ArticleType`` or ``CommunicationChannel``."""
    article: dict[str, Any] = {"Subject": subject, "Body": "Se atendió.", "ContentType": "text/plain; charset=utf8"}
    if fields == "ArticleType":
        article["ArticleType"] = "note-internal"
    else:
        article.update({"CommunicationChannel": "Internal", "IsVisibleForCustomer": 0})
    return {**article, **extra}


@pytest.fixture(params=PROFILE_NAMES)
def world(request: pytest.FixtureRequest) -> Iterator[tuple[FakeZnuny, Api, int]]:
    fake = FakeZnuny.service_desk(profile=request.param)
    ticket_id, _ = fake.new_service_desk_ticket()
    with fake.serve() as base_url:
        yield fake, Api(fake, base_url), ticket_id


# ------------------------------------------------------------------------- names
def test_profile_names_and_the_lab_aliases() -> None:
    assert PROFILE_NAMES[0] == DEFAULT_PROFILE == "znuny-6.5.15"
    assert set(PROFILE_NAMES) == set(PREFIX)
    assert dict(PROFILE_ALIASES) == LAB
    for alias, name in LAB.items():
        assert get_profile(alias).name == name == get_profile(name.upper()).name
    assert FakeZnuny().profile.name == "znuny-6.5.15"
    with pytest.raises(ValueError, match="unknown profile 'otrs4'"):
        FakeZnuny(profile="otrs4")


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_both_doors_yield_the_profiles_url(profile: str) -> None:
    fake = FakeZnuny.service_desk(profile=profile)
    tail = f"/{PREFIX[profile]}/nph-genericinterface.pl/Webservice/GenericTicketConnectorREST"
    with fake.mock() as mocked:
        assert mocked == "http://znuny.fake.test" + tail
        assert fake.base_url == mocked
        assert (
            "SessionID"
            in requests.post(
                f"{mocked}/Session", json={"UserLogin": "tecnico1", "Password": "tecnico-pass"}, timeout=10
            ).json()
        )
    with fake.serve() as served:
        assert served.endswith(tail) and served.startswith("http://127.0.0.1:")
    assert fake.service_url("https://mesa.example.gob.mx") == "https://mesa.example.gob.mx" + tail


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_like_recordings_and_the_seed_ids(profile: str) -> None:
    fake = FakeZnuny.like_recordings(profile=profile)
    assert fake.clock.timezone == "UTC"
    znuny = fake.profile.product == "Znuny"
    assert fake.store.queues[5].group_id == (5 if znuny else 4)  # GroupID of mesa-de-servicio on the lab
    assert fake.store.dynamic_fields["NumeroSerie"].field_id == (6 if znuny else 3)  # DynamicFieldID on the lab
    assert ("TicketSearchGET" in fake.interface.routes) == (fake.profile.routes == get_profile().routes)


# ------------------------------------------------------------------------ routes
def test_routes_per_system() -> None:
    def routes(profile: str) -> dict[str, tuple[str, str | None, str]]:
        return {r.name: (r.type, r.method, r.route) for r in FakeZnuny(profile=profile).interface.routes.values()}

    assert routes("otrs6")["TicketSearch"] == ("Ticket::TicketSearch", "GET", "/Ticket")
    assert routes("otrs6")["TicketGetList"] == ("Ticket::TicketGet", "GET", "/TicketList")
    assert routes("otobo")["TicketHistoryGet"][2] == "/TicketHistory/:TicketID"
    assert set(routes("otrs5")) == {"SessionCreate", "TicketCreate", "TicketGet", "TicketSearch", "TicketUpdate"}
    assert routes("znuny7")["SessionDelete"] == ("Session::SessionRemove", "DELETE", "/Session/:SessionID")
    assert routes("znuny-6.5.15")["TicketSearch"] == ("Ticket::TicketSearch", "POST", "/Ticket/Search")


def test_ticket_get_list_on_otrs6(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    other, _ = fake.new_service_desk_ticket("otro")
    answer = requests.get(
        f"{api.url}/TicketList", params={"SessionID": api.sid(), "TicketID": f"{ticket_id},{other}"}, timeout=10
    )
    if "TicketGetList" in fake.interface.routes:
        assert [t["TicketID"] for t in answer.json()["Ticket"]] == [ticket_id, other]
    else:
        assert answer.status_code == 500
        assert answer.text == "HTTP::REST Error while determine Operation for request URI '/TicketList'."


def test_no_session_get_on_otrs5() -> None:
    fake = FakeZnuny.service_desk(profile="otrs5")
    with fake.serve() as url:
        sid = Api(fake, url).sid()
        answer = requests.get(f"{url}/Session/{sid}", timeout=10)
    assert (answer.status_code, answer.text) == (
        500,
        f"HTTP::REST Error while determine Operation for request URI '/Session/{sid}'.",
    )


def test_connection_header(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    answer = requests.get(f"{api.url}/Ticket/{ticket_id}", params={"SessionID": api.sid()}, timeout=10)
    assert answer.headers["Connection"] == ("Keep-Alive" if fake.profile.product == "Znuny" else "close")


# ----------------------------------------------------------------- article fields
def test_each_generation_reads_its_own_note_fields_and_ignores_the_others(world: tuple[FakeZnuny, Api, int]) -> None:
    """The note in the server's own fields is internal; in the other generation's fields it is
    silently created customer-visible (OTRS 5: a ``webrequest``; 6+: IsVisibleForCustomer 1)."""
    fake, api, ticket_id = world
    own = fake.profile.article_fields
    other = "CommunicationChannel" if own == "ArticleType" else "ArticleType"
    assert "ArticleID" in api.update(ticket_id, {"Article": note(own, "propia")}).json()
    assert "ArticleID" in api.update(ticket_id, {"Article": note(other, "ajena")}).json()
    view = fake.ticket(ticket_id)
    own_note, other_note = view.articles_with_subject("propia")[0], view.articles_with_subject("ajena")[0]
    assert (own_note.is_visible_for_customer, own_note.channel) == (False, "Internal")
    assert other_note.is_visible_for_customer is True
    articles = api.get(ticket_id, AllArticles=1)["Ticket"][0]["Article"]
    if own == "ArticleType":
        assert [a["ArticleType"] for a in articles[1:]] == ["note-internal", "webrequest"]
        assert (own_note.article_type, other_note.article_type) == ("note-internal", "webrequest")
    else:
        assert [a["IsVisibleForCustomer"] for a in articles[1:]] == [0, 1]


def test_article_shapes(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    profile = fake.profile
    data = api.get(ticket_id, AllArticles=1)["Ticket"][0]
    article = data["Article"][0]
    if profile.ticket_get_generation == 5:
        assert {"ArticleType", "ArticleTypeID", "Created", "CreateTimeUnix", "Queue", "TicketNumber"} <= set(article)
        assert not {"ArticleNumber", "CommunicationChannelID", "IsVisibleForCustomer", "Bcc"} & set(article)
        assert "CreateTimeUnix" in data and "TimeUnit" not in data
        assert isinstance(article["SenderTypeID"], int)
    else:
        assert {"ArticleNumber", "CommunicationChannelID", "IsVisibleForCustomer", "CreateTime"} <= set(article)
        assert ("CommunicationChannel" in article) == profile.article_channel_name
        assert ("IsDeleted" in article) == ("IsEdited" in article) == (profile.product == "OTOBO")
        assert article["SenderTypeID"] == "1"
    assert isinstance(data["TicketID"], int)


def test_agent_names_on_otrs5_come_back_double_encoded() -> None:
    fake = FakeZnuny.service_desk(profile="otrs5")
    ticket_id, _ = fake.new_service_desk_ticket()
    with fake.serve() as url:
        Api(fake, url).update(ticket_id, {"Article": note("ArticleType")})
    assert fake.ticket(ticket_id).articles[-1].from_ == "Juan PÃ©rez"


# ----------------------------------------------------------------- content types
@pytest.mark.parametrize(
    ("content_type", "accepted_by"),
    [
        ("text/plain", {"otobo-11.0.6"}),
        ("text/plain; charset=utf-8", set(PROFILE_NAMES) - {"otrs-5.0.8"}),
        ("text/plain; charset=utf8", set(PROFILE_NAMES)),
        ("text/plain; charset=iso-8859-1", set(PROFILE_NAMES)),
        ("text/plain; charset=UTF-16", set(PROFILE_NAMES) - {"otrs-5.0.8"}),  # lower-cased first
    ],
)
def test_content_type_rules(world: tuple[FakeZnuny, Api, int], content_type: str, accepted_by: set[str]) -> None:
    fake, api, ticket_id = world
    answer = api.update(ticket_id, {"Article": note(fake.profile.article_fields, ContentType=content_type)}).json()
    if fake.profile.name in accepted_by:
        assert "ArticleID" in answer, answer
    else:
        assert answer["Error"] == {
            "ErrorCode": "TicketUpdate.InvalidParameter",
            "ErrorMessage": "TicketUpdate: Article->ContentType is invalid!",
        }


# ------------------------------------------------------------------- header auth
def test_session_in_a_header_counts_only_on_znuny(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    answer = requests.get(f"{api.url}/Ticket/{ticket_id}", headers={"X-OTRS-Header-SessionID": api.sid()}, timeout=10)
    if fake.profile.product == "Znuny":
        assert answer.json()["Ticket"][0]["TicketID"] == ticket_id
    else:
        assert answer.json()["Error"]["ErrorCode"] == "TicketGet.AuthFail"


# -------------------------------------------------------------------- attachments
def test_attachments_inside_the_article_are_dropped_on_otrs_and_otobo(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    inline = {"Filename": "dentro.pdf", "ContentType": "application/pdf", "Content": base64.b64encode(PDF).decode()}
    top = {**inline, "Filename": "fuera.pdf"}
    api.update(
        ticket_id, {"Article": {**note(fake.profile.article_fields), "Attachment": [inline]}, "Attachment": [top]}
    )
    stored = [a.filename for a in fake.ticket(ticket_id).attachments()]
    assert stored == (["dentro.pdf", "fuera.pdf"] if fake.profile.product == "Znuny" else ["fuera.pdf"])


def test_attachment_entries(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    item = {"Filename": "informe.pdf", "ContentType": "application/pdf", "Content": base64.b64encode(PDF).decode()}
    api.update(ticket_id, {"Article": note(fake.profile.article_fields), "Attachment": [item]})
    entry = api.get(ticket_id, AllArticles=1, Attachments=1, GetAttachmentContents=0)["Ticket"][0]["Article"][-1][
        "Attachment"
    ][0]
    if fake.profile.ticket_get_generation == 5:  # no FileID, a human size, and the content anyway
        assert "FileID" not in entry
        assert (entry["Filesize"], entry["FilesizeRaw"]) == (f"{len(PDF)} Bytes", str(len(PDF)))
        assert base64.b64decode(entry["Content"]) == PDF and entry["Content"].endswith("\n")
    else:
        assert (entry["FileID"], entry["FilesizeRaw"], entry["Content"]) == ("1", str(len(PDF)), "")
        assert "Filesize" not in entry


# -------------------------------------------------------------------- permissions
def test_a_read_only_agent_updating(world: tuple[FakeZnuny, Api, int]) -> None:
    fake, api, ticket_id = world
    answer = api.update(
        ticket_id, {"Ticket": {"State": "Atendido"}, "Article": note(fake.profile.article_fields)}, user="lector"
    )
    expected = {
        "znuny-6.5.15": "TicketUpdate: User does not have access to the ticket!",
        "znuny-7.1.7": "TicketUpdate: User does not have access to the ticket!",
        "znuny-6.5.10": None,  # 6.5.10 checks only ro: the update goes through
        "otrs-6.0.30": "TicketUpdate: Does not have permissions to create new articles!",
        "otobo-11.0.6": "TicketUpdate: Does not have permissions to create new articles!",
        "otrs-5.0.8": "TicketUpdate: Does not have permissions to create new articles!",
    }[fake.profile.name]
    if expected is None:
        assert "ArticleID" in answer.json()
        fake.assert_ticket(ticket_id, state="Atendido")
    else:
        assert answer.json()["Error"] == {"ErrorCode": "TicketUpdate.AccessDenied", "ErrorMessage": expected}
        fake.assert_ticket(ticket_id, state="new", article_count=1)


# ---------------------------------------------------------------------- fixtures
@pytest.mark.fake_znuny(profile="otobo")
def test_the_marker_picks_the_profile(fake_znuny: FakeZnuny) -> None:
    assert fake_znuny.profile.name == "otobo-11.0.6"
    assert fake_znuny.base_url is not None and "/otobo/" in fake_znuny.base_url


@pytest.mark.fake_znuny(profile="otrs5", seed="recordings")
def test_the_marker_reaches_the_server_fixture_too(fake_znuny_server: FakeZnuny) -> None:
    assert fake_znuny_server.profile.name == "otrs-5.0.8"
    assert fake_znuny_server.clock.timezone == "UTC"


def test_the_factory_makes_several_systems(fake_znuny_factory: Any) -> None:
    znuny7 = fake_znuny_factory("znuny7")
    otrs6 = fake_znuny_factory(profile="otrs6", max_length=1000)
    assert "/znuny/" in znuny7.base_url and otrs6.max_length == 1000
    for fake in (znuny7, otrs6):
        login = requests.post(
            f"{fake.base_url}/Session", json={"UserLogin": "tecnico1", "Password": "tecnico-pass"}, timeout=10
        )
        assert "SessionID" in login.json()


def test_a_whole_run_can_pick_the_profile(tmp_path: Any) -> None:
    """``pytest --fake-znuny-profile NAME`` sets the default of every fake_znuny fixture."""
    import subprocess
    import sys

    (tmp_path / "test_user.py").write_text(
        "def test_profile(fake_znuny, fake_znuny_server, fake_znuny_factory):\n"
        "    assert fake_znuny.profile.name == fake_znuny_server.profile.name == 'znuny-7.1.7'\n"
        "    assert fake_znuny_factory().profile.name == 'znuny-7.1.7'\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--fake-znuny-profile",
            "znuny7",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


@pytest.mark.parametrize("profile", ["otrs5", "otrs6"])
def test_session_limits_apply_to_the_web_service_only_on_otrs5(profile: str) -> None:
    """OTRS 5 refuses a 21st session of one agent within 10 minutes (AgentSessionPerUserLimit,
    as an AuthFail); 6+ exempt GenericInterface sessions. Ten minutes later it works again."""
    fake = FakeZnuny.service_desk(profile=profile, frozen_clock=True)
    login = {"UserLogin": "tecnico1", "Password": PASSWORDS["tecnico1"]}
    with fake.mock() as url:
        answers = [requests.post(f"{url}/Session", json=login, timeout=10).json() for _ in range(21)]
        other = requests.post(
            f"{url}/Session", json={"UserLogin": "lector", "Password": PASSWORDS["lector"]}, timeout=10
        )
        fake.advance(601)
        later = requests.post(f"{url}/Session", json=login, timeout=10).json()
    assert all("SessionID" in a for a in answers[:20]) and "SessionID" in other.json() and "SessionID" in later
    if profile == "otrs5":
        assert answers[20] == {
            "Error": {"ErrorCode": "SessionCreate.AuthFail", "ErrorMessage": "SessionCreate: Authorization failing!"}
        }
    else:
        assert "SessionID" in answers[20]
