"""The audit of closures made by hand: read many tickets, and say for each what the
manual required and what is missing (stable problem codes), with a summary per
problem, per agent and per day — as data, JSON, CSV, a self-contained HTML page or a
terminal table. It only reads (TicketSearch, TicketGet): an audit never writes.

Start from :meth:`otrs_closure.ClosureClient.audit`; :func:`judge` is the pure verdict
on one ticket as TicketGet shows it.
"""

from otrs_closure.audit.judgement import AuditRules, find_formats, judge
from otrs_closure.audit.problems import PROBLEM_DESCRIPTIONS, Problem
from otrs_closure.audit.report import (
    SCHEMA,
    AuditedTicket,
    AuditReport,
    AuditSummary,
    GroupCount,
    UnreadableTicket,
)
from otrs_closure.audit.selection import AuditSelection

__all__ = [
    "Problem",
    "PROBLEM_DESCRIPTIONS",
    "AuditReport",
    "AuditedTicket",
    "UnreadableTicket",
    "AuditSummary",
    "GroupCount",
    "AuditSelection",
    "AuditRules",
    "judge",
    "find_formats",
    "SCHEMA",
]
