"""Review findings on the closure workflow's assessment of a ticket."""

from __future__ import annotations

from otrs_closure import ServiceRequest
from otrs_closure._ticket import ArticleInfo, TicketSnapshot
from otrs_closure._workflow.assessment import assess
from otrs_closure._workflow.decision import next_write
from otrs_closure._workflow.prepare import prepare
from otrs_closure.note import NoteTemplates
from otrs_closure.servers import ARTICLE_FIELDS
from otrs_closure.settings import ClosureSettings


def test_the_owner_login_is_compared_as_znuny_looks_it_up() -> None:
    # Znuny's UserLookup(UserLogin) is case-insensitive (lc + LOWER(login)), so Owner
    # "Agente.Mesa" is accepted, and TicketGet then shows the login as stored,
    # "agente.mesa". An exact comparison never saw the owner step done: every close()
    # ended in PartialClosure ("remaining owner") and resent the owner change.
    settings = ClosureSettings(
        base_url="https://mesa.example.gob.mx", username="tecnico1", password="x", owner_login="Agente.Mesa"
    )
    p = prepare(settings, NoteTemplates(), ServiceRequest(description="Se reinició el equipo."), None)
    note = ArticleInfo(article_id=5, subject="Atendido", body=p.body, create_time="2026-11-28 13:00:00")
    owner_note = ArticleInfo(article_id=6, subject="Se modifica propietario", body="Se modifica propietario")
    snap = TicketSnapshot(
        ticket_id=2,
        ticket_number="2026112810000011",
        state="Atendido",
        owner="agente.mesa",
        articles=(note, owner_note),
    )
    a = assess(snap, settings, p)
    assert a.owner_done and a.complete
    assert next_write(settings, p, a, ARTICLE_FIELDS["channel"]) is None
