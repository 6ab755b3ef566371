"""Ports of two Znuny text routines whose quirks show through the GenericInterface.

* :func:`query_condition` -- ``Kernel::System::DB::QueryCondition``, which TicketSearch uses
  for ``TicketNumber``, ``Title``, ``CustomerID``, ``CustomerUserLogin`` and dynamic field
  ``Like`` searches: case-insensitive, ``*`` is a wildcard, ``+``/``&&``/``AND`` and
  ``||``/``OR`` combine words, ``!`` negates and parentheses group -- so a title with
  parentheses is *not* matched literally (``"Impresora (lab 1)"`` means
  ``= 'Impresora' AND = 'lab 1'``).
* :func:`html_to_ascii` -- ``Kernel::System::HTMLUtils::ToAscii``, which the MIME article
  backend applies to an HTML article body before storing it (the HTML itself is kept as the
  ``file-2`` attachment).

Both follow the Znuny 6.5 sources regex for regex; the database side of QueryCondition is
PostgreSQL's (``LOWER(col) = LOWER('word')`` or ``LIKE`` with ``%`` wildcards, ``_`` literal).
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Callable

__all__ = ["SearchFailed", "query_condition", "sql_like", "html_to_ascii"]

Predicate = Callable[[str], bool]


class SearchFailed(Exception):
    """The SQL Znuny would build is invalid: the database errors and the search finds nothing."""


_SPECIAL = frozenset("()&|")


def sql_like(value: str, pattern: str) -> bool:
    """``LOWER(value) LIKE LOWER(pattern)`` as PostgreSQL evaluates it (``%`` any run; ``_`` quoted)."""
    regex = "".join(".*" if ch == "%" else re.escape(ch) for ch in pattern.lower())
    return re.fullmatch(regex, value.lower(), flags=re.DOTALL) is not None


def _never(_value: str) -> bool:
    return False


def _normalise(value: str, extended: bool) -> tuple[str, dict[str, str]]:
    """The string rewriting QueryCondition does before it walks the characters."""
    value = re.sub(r"^\s+", "", value)
    value = re.sub(r"\s+$", "", value)
    if not re.search(r"^(?<!\\)\(", value) or not re.search(r"(?<!\\)\)$", value):
        value = "(" + value + ")"
    expressions: dict[str, str] = {}

    def keep(match: re.Match[str]) -> str:
        key = f"###{len(expressions) + 1}###"
        expressions[key] = match.group(1)
        return key

    value = re.sub(r'"(.+?)"', keep, value)
    value = re.sub(r"(?<!\\)\(\s*(?<!\\)\)", "", value)
    value = re.sub(r"\s+", " ", value)
    value = value.replace("+", "&&")
    value = re.sub(r"(\s|(?<!\\)\)|(?<!\\)\()AND(\s|(?<!\\)\(|(?<!\\)\))", r"\1&&\2", value)
    value = re.sub(r"(\s|(?<!\\)\)|(?<!\\)\()OR(\s|(?<!\\)\(|(?<!\\)\))", r"\1||\2", value)
    value = value.replace("*", "%")
    value = re.sub(r"%\s*%", "%", value)
    value = value.replace("%!%", "!%")
    value = value.replace("%!", "!%")
    value = re.sub(r"(&&|\|\|)(?<!\\)\)$", ")", value)
    value = re.sub(r"^(?<!\\)\((&&|\|\|)", "(", value)
    value = re.sub(r"\s((?<!\\)\(|(?<!\\)\)|\||(?<!\\)&)", r"\1", value)
    value = re.sub(r"((?<!\\)\(|(?<!\\)\)|\||(?<!\\)&)\s", r"\1", value)
    if extended:
        value = re.sub(r"\s", "&&", value)
    return value, expressions


def query_condition(value: str, *, prefix: str = "", suffix: str = "", extended: bool = False) -> Predicate:
    """A predicate over a column value equivalent to the SQL ``QueryCondition`` would build.

    Returns a never-true predicate where Znuny returns ``1=0`` (unbalanced parentheses, AND
    mixed with OR) and raises :class:`SearchFailed` where the SQL it builds is invalid.
    """
    text, expressions = _normalise(value, extended)
    chars = list(text)
    last = len(chars) - 1
    sql = ""
    word = ""
    negate = False
    backslash = False
    opened = closed = 0
    conditions: list[tuple[str, bool]] = []
    for pos, ch in enumerate(chars):
        if backslash:
            word += ch
            backslash = False
            continue
        if ch == "\\" and pos < last and (chars[pos + 1] in _SPECIAL or chars[pos + 1] == "\\"):
            backslash = True
            continue
        if word == "" and ch == "!":
            negate = True
            continue
        if ch == "&":
            if pos >= 1 and chars[pos - 1] == "&":
                continue
            if pos == last or chars[pos + 1] != "&":
                word += ch
                continue
        elif ch == "|":
            if pos >= 1 and chars[pos - 1] == "|":
                continue
            if pos == last or chars[pos + 1] != "|":
                word += ch
                continue
        elif ch not in _SPECIAL:
            word += ch
            continue
        if word != "":
            word = word.replace("\\", "")
            word = expressions.get(word, word)
            word = (prefix + word + suffix).replace("*", "%").replace("%%", "%").replace("%%", "%")
            conditions.append((word, negate))
            negate = False
            sql += f"(_c[{len(conditions) - 1}]) "
            word = ""
        if pos < last:
            if ch == "&" and chars[pos + 1] == "&":
                if sql.endswith(" OR "):
                    return _never
                if not sql.endswith(" AND "):
                    sql += " AND "
            elif ch == "|" and chars[pos + 1] == "|":
                if sql.endswith(" AND "):
                    return _never
                if not sql.endswith(" OR "):
                    sql += " OR "
        if ch == "(":
            if sql != "" and re.search(r"(?: (?:AND|OR) |\(\s*)$", sql) is None:
                sql += " AND "
            sql += "("
            opened += 1
        if ch == ")":
            sql += ")"
            if (
                pos < last
                and chars[pos + 1] != ")"
                and (pos > last - 2 or chars[pos + 1] != "&" or chars[pos + 2] != "&")
                and (pos > last - 2 or chars[pos + 1] != "|" or chars[pos + 2] != "|")
            ):
                sql += " AND "
            closed += 1
    if opened != closed:
        return _never
    expression = sql.replace(" AND ", " and ").replace(" OR ", " or ")
    if re.fullmatch(r"[\s()_c\[\]\d]*(?:(?:and|or)[\s()_c\[\]\d]*)*", expression) is None or re.search(
        r"\(\s*\)", expression
    ):
        raise SearchFailed(value)
    try:
        code = compile(expression or "False", "<QueryCondition>", "eval")
    except SyntaxError:
        raise SearchFailed(value) from None

    def matches(column: str) -> bool:
        results = [
            (sql_like(column, word) if "%" in word else column.lower() == word.lower()) != negated
            for word, negated in conditions
        ]
        return bool(eval(code, {"__builtins__": {}}, {"_c": results}))  # noqa: S307 - only (), and/or, _c[i]

    return matches


# ------------------------------------------------------------------------ ToAscii
#: HTML::Entities v1.35's table as ToAscii embeds it: the HTML 4 entities plus ``apos``.
_ENTITIES: dict[str, str] = {
    **{name: chr(code) for name, code in html.entities.name2codepoint.items()},
    "apos": "'",
}

_LINE_LENGTH = 78  # Ticket::Frontend::TextAreaNote
_WRAP = r"(.{4,%s})(?:\s|\Z)" % _LINE_LENGTH  # noqa: UP031 - the regex braces clash with str.format


def _entity_number(original: str, code: int) -> str:
    if 0xD800 <= code <= 0xDFFF or code == 0 or code > 0x10FFFF:
        return original
    return chr(code)


def html_to_ascii(text: str) -> str:
    """``HTMLUtils::ToAscii``: links become ``[n]`` footnotes, block tags line breaks,
    other tags vanish, entities are decoded and long text is wrapped at 78 characters."""
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        links.append(f"[{len(links) + 1}] {match.group(2)}\n")
        return f"[{len(links)}]"

    text = re.sub(r"<a\s.*?href=(\"|')(.+?)(\"|').*?>", link, text, flags=re.IGNORECASE)
    cites: dict[str, str] = {}

    def cite(inner: str) -> str:
        ascii_ = html_to_ascii(inner)
        if len(ascii_) > _LINE_LENGTH:
            ascii_ = re.sub(_WRAP, "\\1\n", ascii_, flags=re.MULTILINE)
        ascii_ = re.sub(r"^(.*?)$", r"> \1", ascii_, flags=re.MULTILINE)
        key = f"######Cite::{len(cites) + 1}######"
        cites[key] = ascii_
        return key

    flags = re.IGNORECASE | re.DOTALL | re.MULTILINE
    text = re.sub(r"<blockquote(.*?)>(.+?)</blockquote>", lambda m: cite(m.group(2)), text, flags=flags)
    text = re.sub(r"<div[^>]+type=\"cite\"[^>]*>(.+?)</div>", lambda m: cite(m.group(1)), text, flags=flags)
    one2one: dict[str, str] = {}

    def keep(match: re.Match[str]) -> str:
        key = f"######One2One::{len(one2one) + 1}######"
        one2one[key] = match.group(3)
        return key

    text = re.sub(r"<(pre|code)(.*?)>(.+?)</(pre|code)(.*?)>", keep, text, flags=flags)
    text = re.sub(r"<!--.*?-->", "", text, flags=flags)
    text = re.sub(r"^\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"(\n\r|\r\r\n|\r\n)", "\n", text, flags=re.DOTALL)
    text = re.sub(r"(<br(\s{0,3}|\s{1,3}.+?)(/|)>)(\n|\r)", r"\1", text, flags=re.IGNORECASE | re.DOTALL)
    text = text.replace("\n", " ").replace("\r", " ")
    text = re.sub(r"<style[^>]*?/>", "", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<style[^>]*?>.*?</style[^>]*>", "", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<br(\s{0,3}|\s{1,3}.+?)(/|)>", "\n", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"</(\s{0,3})div>", "\n", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<(hr|hr.+?)>", "\n\n", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<(/|)(p|p.+?|table|table.+?)>", "\n\n", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<(tr|tr.+?|th|th.+?)>", "\n\n", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<li>", "\n - ", text, flags=re.IGNORECASE)
    text = re.sub(r"</(ul|ol)>", "\n\n", text, flags=re.IGNORECASE)
    text = re.sub(r"</td[^>]*>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"[ ]{2,}", " ", text)
    for key in sorted(one2one):
        text = text.replace(key, f"\n\n\n{one2one[key]}\n\n")
    text = re.sub(r"<.+?>", "", text, flags=re.DOTALL)
    text = re.sub(r"(&#(\d+);?)", lambda m: _entity_number(m.group(1), int(m.group(2))), text)
    text = re.sub(
        r"(&#[xX]([0-9a-fA-F]+);?)",
        lambda m: _entity_number(m.group(1), int(m.group(2), 16)) if int(m.group(2), 16) else m.group(1),
        text,
    )
    text = re.sub(r"(&(\w+);?)", lambda m: _ENTITIES.get(m.group(2), m.group(1)), text)
    text = re.sub(r"^\s*\n\s*\n", "\n", text, flags=re.MULTILINE)
    if len(text) > _LINE_LENGTH:
        text = re.sub(_WRAP, "\\1\n", text, flags=re.MULTILINE)
    for key in sorted(cites):
        text = text.replace(key, cites[key] + "\n")
    if links:
        text += "\n\n" + "".join(links)
    return text
