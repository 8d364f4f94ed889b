"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ionscape import __version__
from ionscape.errors import IonscapeError
from ionscape.service.api.routes import annotations, auth, datasets, groups, moldbs, projects, uploads
from ionscape.service.config import Settings
from ionscape.service.db import make_engine, make_sessionmaker
from ionscape.service.storage import LocalStorage
from ionscape.service.web import add_web_ui
from ionscape.service.worker import start_worker_threads

API_PREFIX = "/api/v1"
logger = logging.getLogger("ionscape.service")


def create_app(settings: Settings, *, worker_threads: int = 0) -> FastAPI:
    """The API app for ``settings``; ``worker_threads`` annotation workers run inside it while it serves.

    The database schema must be at head (``db.upgrade_schema``).
    """
    engine = make_engine(settings.database_url)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threads = start_worker_threads(settings, app.state.sessions, app.state.storage, worker_threads, stop)
        yield
        stop.set()
        for thread in threads:
            thread.join()
        engine.dispose()

    app = FastAPI(
        title="ionscape",
        version=__version__,
        description="Spatial metabolomics annotation service: upload imzML datasets, annotate them against "
        "molecular databases, browse and share the results.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.storage = LocalStorage(settings.storage_dir)
    for module in (auth, groups, moldbs, uploads, datasets, annotations, projects):
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_api_route(f"{API_PREFIX}/health", _health, methods=["GET"], tags=["service"])
    _add_error_handlers(app)
    add_web_ui(app, API_PREFIX)  # last: its catch-all route serves the browser app's pages
    return app


def _health() -> dict[str, str]:
    """Liveness check."""
    return {"status": "ok", "version": __version__}


def _add_error_handlers(app: FastAPI) -> None:
    """Every error is ``{"detail": "<message>"}`` (validation errors add ``errors``)."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return JSONResponse(
            {"detail": f"invalid request: {message}", "errors": _plain(errors)},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    @app.exception_handler(IonscapeError)
    async def ionscape_error(request: Request, exc: IonscapeError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(DataError)
    async def database_rejected_value(request: Request, exc: DataError) -> JSONResponse:
        # e.g. a NUL character, which PostgreSQL text cannot hold
        message = str(exc.orig).splitlines()[0] if exc.orig else "value rejected by the database"
        return JSONResponse(
            {"detail": f"invalid input: {message}"}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)


def _plain(errors: Any) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors]
