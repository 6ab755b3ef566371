"""Plans: the requests a ``close()`` would send now, shaped by the transport's own
shaping with every secret masked, decided by the same pure functions as the run."""

from __future__ import annotations

from typing import Any

from otrs_closure._http.gi import TICKET_GET_PARAMS, GenericInterface
from otrs_closure._workflow.assessment import assess
from otrs_closure._workflow.decision import applied, fresh_assessment, initial_steps, next_write
from otrs_closure._workflow.documents import preflight_document
from otrs_closure._workflow.preflight import Preflight
from otrs_closure._workflow.prepare import PreparedClosure
from otrs_closure._workflow.run import Closure, read_ticket
from otrs_closure.note import MASK
from otrs_closure.results import ClosurePlan, ClosureSteps, PlannedRequest, StepStatus
from otrs_closure.servers import ArticleFields
from otrs_closure.settings import ClosureSettings

__all__ = ["build_plan"]

# Shown in an offline plan when the server's article fields are not known yet.
_UNKNOWN_FIELDS = ArticleFields(
    name="channel",
    internal={"(internal-note fields)": "learned from the ticket's articles on the first read"},
    visible={"(visible-note fields)": "learned from the ticket's articles on the first read"},
    visibility_key="",
    internal_values=(),
)


def build_plan(
    settings: ClosureSettings,
    gi: GenericInterface,
    preflight: Preflight,
    closure: Closure,
    prepared: PreparedClosure,
    *,
    ticket_number: str | None,
    ticket_id: int | None,
    offline: bool,
) -> ClosurePlan:
    """The plan of one closure; reads the ticket unless ``offline``."""
    reqs: list[PlannedRequest] = []

    def planned(op: str, params: dict[str, Any], tid: int | str | None = None, files: Any = ()) -> None:
        if tid is not None:
            params = {"TicketID": tid, **params}
        reqs.append(gi.planned(op, params, ticket=tid, files=files).planned())

    if not gi.has_session:
        planned("SessionCreate", {"UserLogin": settings.username, "Password": MASK})
    tid: int | str = ticket_id if ticket_id is not None else ":TicketID"
    if ticket_number is not None:
        planned("TicketSearch", {"TicketNumber": ticket_number})
        if not offline:
            tid = gi.search_number(ticket_number)
    planned("TicketGet", dict(TICKET_GET_PARAMS), tid)
    with_files = bool(prepared.files)
    steps = ClosureSteps(attachments=StepStatus.PENDING if with_files else StepStatus.NOT_APPLICABLE)
    if offline:
        view = fresh_assessment(prepared)
        fields = closure.knowledge.article_fields or _UNKNOWN_FIELDS
    else:
        assert isinstance(tid, int)
        snap = read_ticket(gi, closure.knowledge, tid)
        view = assess(snap, settings, prepared)
        closure.check(view, tid)
        steps = ClosureSteps(**initial_steps(view, with_files))
        if view.complete:
            return ClosurePlan(tid, ticket_number, prepared.closure_id, tuple(reqs), steps)
        fields = closure.fields(tid)
    if preflight.pending:
        planned("TicketUpdate", preflight_document(settings), tid)
    while (w := next_write(settings, prepared, view, fields, masked=True)) is not None:
        planned("TicketUpdate", w.document, tid, w.files)
        view = applied(view, w, {})
    planned("TicketGet", dict(TICKET_GET_PARAMS), tid)
    return ClosurePlan(tid if isinstance(tid, int) else None, ticket_number, prepared.closure_id, tuple(reqs), steps)
