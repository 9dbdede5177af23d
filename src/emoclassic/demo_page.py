"""The demo page that ``emoclassic serve`` answers at ``GET /``: one self-contained HTML file.

The page (``resources/demo/index.html``) carries its CSS and JavaScript inline and
loads nothing from anywhere else, so it works offline and needs no build step. It
talks to the server's own JSON endpoints: ``GET /model`` and ``GET /labels`` once,
then ``POST /predict`` and ``POST /explain`` as the user types. Everything it
writes into the document goes through ``textContent``, never through HTML.

:func:`demo_page` returns the page with the headers it is served with: a
Content-Security-Policy that allows exactly its own inline script and style (by
their SHA-256 hashes), requests to its own origin and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

__all__ = ["DemoPage", "content_security_policy", "demo_page"]

_INLINE = {
    "script": re.compile(r"<script>(.*?)</script>", re.S),
    "style": re.compile(r"<style>(.*?)</style>", re.S),
}


@dataclass(frozen=True)
class DemoPage:
    """The demo page's bytes and the headers to serve them with.

    Attributes
    ----------
    body : bytes
        The UTF-8 HTML document.
    headers : dict of str to str
        ``Content-Security-Policy`` and the other security headers.
    """

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _source_hash(source: str) -> str:
    """Return the CSP source expression of one inline block (``'sha256-...'``)."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(document: str) -> str:
    """Return a policy that allows the document's own inline script and style, and no other.

    Each inline ``<script>`` and ``<style>`` block is allowed by the SHA-256 hash
    of its content, so an injected script or style would not run; ``fetch`` may
    reach the page's own origin only; images only from ``data:`` (the empty
    favicon); the page may not be framed, and its forms submit nowhere.

    Parameters
    ----------
    document : str
        The HTML document.

    Returns
    -------
    str
        The header's value.

    Examples
    --------
    >>> policy = content_security_policy("<style>p{}</style><script>f()</script>")
    >>> policy.split("; ")[:2]
    ["default-src 'none'", "script-src 'sha256-GcEEE0IkDzIP5EQ6DXZaDPORqT5RTBELX8Fyzyg9yvo='"]
    >>> "connect-src 'self'" in policy
    True
    """
    sources = {
        kind: " ".join(_source_hash(block) for block in pattern.findall(document)) or "'none'"
        for kind, pattern in _INLINE.items()
    }
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {sources['script']}",
            f"style-src {sources['style']}",
            "connect-src 'self'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


@cache
def demo_page() -> DemoPage:
    """Return the demo page, read once from the package data, with its headers.

    Returns
    -------
    DemoPage
        The page and its ``Content-Security-Policy``, ``X-Content-Type-Options``,
        ``X-Frame-Options``, ``Referrer-Policy`` and ``Cache-Control`` headers.

    Examples
    --------
    >>> page = demo_page()
    >>> page.body.startswith(b"<!DOCTYPE html>")
    True
    >>> page.headers["Content-Security-Policy"].split("; ")[1].startswith("script-src 'sha256-")
    True
    """
    body = files("emoclassic.resources.demo").joinpath("index.html").read_bytes()
    headers = {
        "Content-Security-Policy": content_security_policy(body.decode("utf-8")),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return DemoPage(body, headers)
