"""Perl semantics the operations depend on: truthiness, stringification, numeric context, ``split``."""

from __future__ import annotations

import re
from typing import Any


def truthy(value: Any) -> bool:
    """Perl truthiness: undef, ``""``, ``"0"`` and 0 are false; references are true."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value not in ("", "0")
    return True


def is_string(value: Any) -> bool:
    """Perl ``IsString``: a defined non-reference scalar."""
    return isinstance(value, (str, int, float))


def has_data(value: Any) -> bool:
    """``IsStringWithData``: a scalar with at least one character."""
    return is_string(value) and str(value) != ""


def hash_with_data(value: Any) -> bool:
    return isinstance(value, dict) and len(value) > 0


def array_with_data(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0


def text_of(value: Any) -> str:
    """A scalar as Perl would stringify it (numbers without a trailing ``.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def trim(hash_: dict[str, Any]) -> None:
    """``s/ (?: \\A\\s+ | \\s+\\z ) //gx for values %$Hash``."""
    for key, value in hash_.items():
        if isinstance(value, str):
            hash_[key] = value.strip()


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def split_ids(value: Any) -> list[str]:
    """Perl's ``split(/,/, $TicketID)``: no trimming, trailing empty fields dropped."""
    parts = text_of(value).split(",")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def int_param(value: Any) -> int:
    try:
        return int(text_of(value).strip() or 0)
    except ValueError:
        return 0


_PERL_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?))")


def perl_number(value: Any) -> float:
    """A scalar in numeric context: its leading number, 0 when there is none."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    match = _PERL_NUMBER.match(text_of(value))
    return float(match.group(1)) if match else 0.0
