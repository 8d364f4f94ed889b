"""``ionscape serve`` (API + in-process workers) and ``ionscape worker`` (a separate worker process)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any, NoReturn

from ionscape.errors import ConfigError


def add_service_commands(subparsers: Any) -> None:
    """Register ``serve`` and ``worker`` on the ``ionscape`` command's subparsers."""
    serve = subparsers.add_parser(
        "serve",
        help="run the web service (API and annotation workers)",
        description="Run the web service on this machine. Settings come from IONSCAPE_* environment "
        "variables: IONSCAPE_DATA_DIR (default ~/.ionscape), IONSCAPE_DATABASE_URL (default SQLite "
        "in the data folder), IONSCAPE_LITHOPS_CONFIG, ...",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers", type=int, default=1, help="annotation workers inside the server (default 1; 0: none)"
    )
    serve.set_defaults(run=_serve)

    worker = subparsers.add_parser(
        "worker",
        help="run an annotation worker for a running service",
        description="Take annotation jobs from the service's database queue and run them. Start as "
        "many as you like, on any machine that reaches the database and the storage.",
    )
    worker.add_argument("--once", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(run=_worker)


def _prepare() -> Any:
    from ionscape.service.config import Settings
    from ionscape.service.db import make_engine, upgrade_schema

    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        upgrade_schema(engine)
    except Exception as exc:
        raise ConfigError(f"cannot prepare the database {engine.url!r}: {exc}") from exc
    return settings, engine


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ionscape.service.app import create_app

    if args.workers < 0:
        raise ConfigError("--workers must be 0 or more")
    settings, engine = _prepare()
    engine.dispose()
    logging.getLogger("ionscape").setLevel(logging.INFO)
    app = create_app(settings, worker_threads=args.workers)
    print(f"ionscape web app on http://{args.host}:{args.port}/ (API: /api/v1; data: {settings.data_dir})")
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from ionscape.service.db import make_sessionmaker
    from ionscape.service.storage import LocalStorage
    from ionscape.service.worker import Worker

    settings, engine = _prepare()
    logging.getLogger("ionscape").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _interrupt)
    worker = Worker(settings, make_sessionmaker(engine), LocalStorage(settings.storage_dir))
    try:
        if args.once:
            while worker.run_once():
                pass
        else:
            worker.run_forever(threading.Event())
    finally:
        engine.dispose()
    return 0


def _interrupt(signum: int, frame: Any) -> NoReturn:
    """SIGTERM: stop like Ctrl-C, giving the running job back to the queue."""
    raise KeyboardInterrupt
