"""Fidelity of TicketGet and of what the MIME article backend stores, beyond the recordings.

Each test states Znuny 6.5's behaviour (spec section or Znuny source it comes from) and
checks the fake answers the same way a live Znuny 6.5 would.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fake_http import login

from otrs_closure.testing import FakeZnuny


@pytest.fixture
def fake() -> Iterator[FakeZnuny]:
    znuny = FakeZnuny.service_desk(frozen_clock=True)
    with znuny.mock():
        yield znuny


def get(fake: FakeZnuny, path: str, params: Any) -> dict[str, Any]:
    result: dict[str, Any] = requests.get(f"{fake.base_url}{path}", params=params, timeout=10).json()
    return result


def patch(fake: FakeZnuny, sid: str, ticket_id: int, body: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = requests.patch(
        f"{fake.base_url}/Ticket/{ticket_id}", json={"SessionID": sid, **body}, timeout=10
    ).json()
    return result


def note(subject: str, body: str = "cuerpo", **extra: Any) -> dict[str, Any]:
    return {"Subject": subject, "Body": body, "ContentType": "text/plain; charset=utf8", **extra}


@pytest.fixture
def three_articles(fake: FakeZnuny) -> tuple[int, str]:
    """Ticket with articles: agent (first), agent (visible), customer."""
    ticket_id, _ = fake.new_service_desk_ticket()
    fake.add_article(ticket_id, created_by="tecnico1", subject="segunda", body="b", is_visible_for_customer=1)
    fake.add_article(ticket_id, created_by="agente.mesa", subject="tercera", body="c", sender_type="customer")
    return ticket_id, login(fake)


def subjects(fake: FakeZnuny, ticket_id: int, sid: str, **params: Any) -> list[str]:
    ticket = get(fake, f"/Ticket/{ticket_id}", {"SessionID": sid, "AllArticles": 1, **params})["Ticket"][0]
    return [a["Subject"] for a in ticket.get("Article", [])]


# ---------------------------------------------------------------- article selection
def test_article_order_is_compared_case_sensitively(fake: FakeZnuny, three_articles: tuple[int, str]) -> None:
    # TicketGet.pm: `if ( $ArticleOrder eq 'DESC' )` -- 'desc' does not reverse.
    ticket_id, sid = three_articles
    assert subjects(fake, ticket_id, sid, ArticleOrder="desc", ArticleLimit=2) == ["Impresora no imprime", "segunda"]
    assert subjects(fake, ticket_id, sid, ArticleOrder="DESC", ArticleLimit=2) == ["tercera", "segunda"]


def test_article_limit_edge_values(fake: FakeZnuny, three_articles: tuple[int, str]) -> None:
    # TicketGet.pm: @Articles[ 0 .. ( $TicketArticleLimit - 1 ) ] after clamping to the count;
    # a limit that is not a positive number slices to nothing (spec §5 "limit clamps").
    ticket_id, sid = three_articles
    assert subjects(fake, ticket_id, sid, ArticleLimit=-1) == []
    assert subjects(fake, ticket_id, sid, ArticleLimit="abc") == []
    assert subjects(fake, ticket_id, sid, ArticleLimit=0) == ["Impresora no imprime", "segunda", "tercera"]
    assert subjects(fake, ticket_id, sid, ArticleLimit=3, ArticleOrder="DESC") == [
        "tercera",
        "segunda",
        "Impresora no imprime",
    ]


def test_sender_type_filter_per_entry(fake: FakeZnuny, three_articles: tuple[int, str]) -> None:
    # TicketGet.pm calls ArticleList once per sender type and concatenates; Article.pm's
    # ArticleList returns nothing for an unknown sender type and does not filter for ''.
    ticket_id, sid = three_articles
    assert subjects(fake, ticket_id, sid, ArticleSenderType=["customer", "agent"]) == [
        "tercera",
        "Impresora no imprime",
        "segunda",
    ]
    assert subjects(fake, ticket_id, sid, ArticleSenderType="agnt") == []
    assert subjects(fake, ticket_id, sid, ArticleSenderType=["customer", ""]) == [
        "tercera",
        "Impresora no imprime",
        "segunda",
        "tercera",
    ]


def test_ticket_id_list_drops_trailing_empty_fields(fake: FakeZnuny, three_articles: tuple[int, str]) -> None:
    # TicketGet.pm: split( /,/, $TicketID ) -- Perl's split drops trailing empty fields, keeps inner ones.
    ticket_id, sid = three_articles
    assert [t["TicketID"] for t in get(fake, f"/Ticket/{ticket_id},", {"SessionID": sid})["Ticket"]] == [ticket_id]
    assert get(fake, f"/Ticket/{ticket_id},,{ticket_id}", {"SessionID": sid})["Error"]["ErrorCode"] == (
        "TicketGet.AccessDenied"
    )


# ------------------------------------------------------------------- article storage
def test_html_article_is_stored_as_text_plus_html_attachment(fake: FakeZnuny) -> None:
    # MIMEBase.pm ArticleCreate: a text/html body is kept as attachment 'file-2'
    # (text/html; charset="<charset>", disposition inline) and the article gets the
    # HTMLUtils::ToAscii text with a text/plain content type. TicketGet leaves the HTML body
    # out of the attachment list unless HTMLBodyAsAttachment=1 (spec §5).
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    html = "<p>Hola <b>mundo</b></p><br/>Adi&oacute;s"
    created = patch(fake, sid, ticket_id, {"Article": note("html", html, ContentType="text/html; charset=utf8")})
    assert "ArticleID" in created
    params = {"SessionID": sid, "AllArticles": 1, "Attachments": 1}
    article = get(fake, f"/Ticket/{ticket_id}", params)["Ticket"][0]["Article"][-1]
    assert (article["ContentType"], article["MimeType"], article["Charset"]) == (
        "text/plain; charset=utf8",
        "text/plain",
        "utf8",
    )
    assert article["Body"] == "\nHola mundo\n\nAdiós"
    assert "Attachment" not in article
    with_html = get(fake, f"/Ticket/{ticket_id}", {**params, "HTMLBodyAsAttachment": 1})["Ticket"][0]["Article"][-1]
    assert with_html["Attachment"] == [
        {
            "Content": base64.b64encode(html.encode()).decode(),
            "ContentAlternative": "",
            "ContentID": "",
            "ContentType": 'text/html; charset="utf8"',
            "Disposition": "inline",
            "FileID": "1",
            "Filename": "file-2",
            "FilesizeRaw": str(len(html.encode())),
        }
    ]


def test_plain_body_line_endings_and_header_line_breaks(fake: FakeZnuny) -> None:
    # MIMEBase.pm ArticleCreate: s/(\n\r|\r\r\n|\r\n)/\n/g on text bodies and
    # s/\n|\r//g on From/To/Cc/Bcc/Subject.
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    patch(fake, sid, ticket_id, {"Article": note("uno\ndos", "a\r\nb\r\n\r\nc", Cc="x@example.com,\ny@example.com")})
    article = get(fake, f"/Ticket/{ticket_id}", {"SessionID": sid, "AllArticles": 1})["Ticket"][0]["Article"][-1]
    assert (article["Subject"], article["Body"], article["Cc"]) == (
        "unodos",
        "a\nb\n\nc",
        "x@example.com,y@example.com",
    )


def test_same_filename_twice_gets_a_suffix(fake: FakeZnuny) -> None:
    # ArticleStorageDB.pm ArticleWriteAttachment: a filename already used on the article
    # becomes "<name>-1.<ext>" (then -2, ...); FileIDs follow filename order.
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    item = {"Content": base64.b64encode(b"x").decode(), "ContentType": "application/pdf", "Filename": "informe.pdf"}
    patch(
        fake,
        sid,
        ticket_id,
        {
            "Article": note("adjuntos"),
            "Attachment": [item, item, {**item, "Filename": "leeme"}, {**item, "Filename": "leeme"}],
        },
    )
    params = {"SessionID": sid, "AllArticles": 1, "Attachments": 1}
    article = get(fake, f"/Ticket/{ticket_id}", params)["Ticket"][0]["Article"][-1]
    assert [(a["FileID"], a["Filename"]) for a in article["Attachment"]] == [
        ("1", "informe-1.pdf"),
        ("2", "informe.pdf"),
        ("3", "leeme"),
        ("4", "leeme-1"),
    ]


def test_attachment_disposition_and_content_id(fake: FakeZnuny) -> None:
    # ArticleStorageDB.pm: ContentID is wrapped in <>; without a Disposition, names matching
    # file-[12] (and images with a ContentID) are 'inline', the rest 'attachment'; a given
    # Disposition keeps its part before ';'.
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    content = base64.b64encode(b"data").decode()
    items = [
        {"Content": content, "ContentType": "image/png", "Filename": "a.png", "ContentID": "img1"},
        {"Content": content, "ContentType": "application/pdf", "Filename": "b-file-1.pdf"},
        {"Content": content, "ContentType": "application/pdf", "Filename": "c.pdf", "Disposition": "inline; x=y"},
        {"Content": content, "ContentType": "application/pdf", "Filename": "d.pdf"},
    ]
    patch(fake, sid, ticket_id, {"Article": note("adjuntos"), "Attachment": items})
    params = {"SessionID": sid, "AllArticles": 1, "Attachments": 1}
    article = get(fake, f"/Ticket/{ticket_id}", params)["Ticket"][0]["Article"][-1]
    assert [(a["Filename"], a["ContentID"], a["Disposition"]) for a in article["Attachment"]] == [
        ("a.png", "<img1>", "inline"),
        ("b-file-1.pdf", "", "inline"),
        ("c.pdf", "", "inline"),
        ("d.pdf", "", "attachment"),
    ]


def test_non_text_body_becomes_an_attachment(fake: FakeZnuny) -> None:
    # MIMEBase.pm ArticleCreate: a body whose MIME type is not text (and not application/json)
    # is stored as attachment 'unknown' and replaced by a placeholder, content type text/plain.
    ticket_id, _ = fake.new_service_desk_ticket()
    sid = login(fake)
    patch(fake, sid, ticket_id, {"Article": note("xml", "<a/>", ContentType="application/xml; charset=utf8")})
    params = {"SessionID": sid, "AllArticles": 1, "Attachments": 1}
    article = get(fake, f"/Ticket/{ticket_id}", params)["Ticket"][0]["Article"][-1]
    assert (article["Body"], article["ContentType"], article["Charset"], article["MimeType"]) == (
        "- no text message => see attachment -",
        "text/plain",
        "",
        "text/plain",
    )
    assert [(a["Filename"], a["ContentType"]) for a in article["Attachment"]] == [
        ("unknown", "application/xml; charset=utf8")
    ]


def test_customer_article_does_not_reset_unlock_time(fake: FakeZnuny) -> None:
    # MIMEBase.pm ArticleCreate: TicketUnlockTimeoutUpdate only for agent articles, or for a
    # customer article whose previous (non-system) article came from an agent.
    ticket_id = fake.create_ticket("sin artículos", queue="Mesa de Servicio", customer_user="cliente.demo").ticket_id
    fake.add_article(ticket_id, sender_type="customer", subject="cliente", body="x")
    view = fake.ticket(ticket_id)
    assert [h.name for h in view.history if h.history_type == "Misc"] == []
    fake.add_article(ticket_id, sender_type="agent", subject="agente", body="x")
    fake.advance(5)
    fake.add_article(ticket_id, sender_type="customer", subject="cliente", body="x")
    resets = [h.name for h in fake.ticket(ticket_id).history if h.history_type == "Misc"]
    assert resets == ["Reset of unlock time.", "Reset of unlock time."]
