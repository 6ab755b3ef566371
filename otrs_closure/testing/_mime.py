"""What the MIME article backend stores for a body: content type, charset, text, extra parts.

ArticleCreate normalises what it is given: an HTML body is kept as the ``file-2``
attachment and stored as its ToAscii text, a non-text body becomes an attachment, line
ends become LF. ArticleGet later reads MIME type and charset back from the content type.
"""

from __future__ import annotations

import re

from otrs_closure.testing._entities import Attachment
from otrs_closure.testing._perltext import html_to_ascii

__all__ = ["content_charset", "content_mime_type", "mime_body"]


def content_charset(content_type: str, *, spaced: bool = False) -> str:
    """The charset ArticleCreate/ArticleGet read from a Content-Type (``''`` without ``charset=``;
    with ``spaced``, as Znuny 7 reads it, ``charset = x`` counts too)."""
    gap = r"\s*" if spaced else ""
    if not re.search(rf"charset{gap}={gap}", content_type, flags=re.IGNORECASE):
        return ""
    charset = re.sub(rf".+?charset{gap}={gap}(\"|'|)(\w+)", r"\2", content_type, flags=re.IGNORECASE | re.DOTALL)
    charset = charset.replace('"', "").replace("'", "")
    return re.sub(r"(.+?);.*", r"\1", charset)


def content_mime_type(content_type: str) -> str:
    """The MIME type ArticleCreate/ArticleGet read from a Content-Type (``word/word`` at its start)."""
    match = re.match(r"(\w+/\w+)", content_type)
    return match.group(1).replace('"', "").replace("'", "") if match else ""


def mime_body(
    content_type: str, mime_type: str, charset: str, body: str, *, spaced: bool = False
) -> tuple[str, str, list[Attachment], list[Attachment]]:
    """What MIMEBase ArticleCreate stores: ``(content_type, body, attachments written before
    the given ones, attachments written after them)``.

    Without a ContentType it is built from MimeType and Charset. An HTML body is stored as
    the ``file-2`` attachment and replaced by its ToAscii text (content type ``.../plain``);
    a non-text body (except JSON) becomes an attachment named after the content type's
    ``name=`` (else ``unknown``) with a placeholder body; a text body gets CRLF -> LF.
    """
    if not content_type:
        content_type = f"{mime_type}; charset={charset}"
    charset = content_charset(content_type, spaced=spaced)
    mime = content_mime_type(content_type)
    if re.search("text/html", mime, flags=re.IGNORECASE):
        html_part = Attachment(
            filename="file-2",
            content=body.encode("utf-8"),
            content_type=f'text/html; charset="{charset}"',
            disposition="",
        )
        plain = re.sub("html", "plain", content_type, count=1, flags=re.IGNORECASE)
        return plain, html_to_ascii(body), [html_part], []
    if mime == "application/json":
        return content_type, body, [], []
    if mime and not re.search(r"\btext\b", mime, flags=re.IGNORECASE):
        name = re.search(r'name="(.+?)"', content_type, flags=re.IGNORECASE)
        part = Attachment(
            filename=name.group(1) if name else "unknown",
            content=body.encode("utf-8"),
            content_type=content_type,
            disposition="",
        )
        return "text/plain", "- no text message => see attachment -", [], [part]
    return content_type, re.sub(r"(\n\r|\r\r\n|\r\n)", "\n", body), [], []
