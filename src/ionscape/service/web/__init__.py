"""The browser UI: a static single-page app (``index.html`` + ``static/``) served next to the API.

Every GET outside the API and ``/static`` answers with ``index.html``, so the app's own routes
(``/datasets/<id>``, ...) load the page; the scripts then render the view.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.convertors import Convertor, register_url_convertor

WEB_DIR = Path(__file__).parent
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _PagePath(Convertor[str]):
    """Any path except the API's, so API routes keep their own 404s and trailing-slash redirects."""

    def __init__(self, api_root: str) -> None:
        self.regex = rf"(?!{re.escape(api_root)}(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


def add_web_ui(app: FastAPI, api_prefix: str) -> None:
    """Serve the UI at ``/`` and ``/static``; every other path outside ``api_prefix`` gets ``index.html``."""
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    register_url_convertor("ionscape_page", _PagePath(api_prefix.strip("/").split("/")[0]))

    @app.get("/{path:ionscape_page}", include_in_schema=False)
    def page(path: str) -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)
