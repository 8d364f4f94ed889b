"""Alembic environment: migrations run on the connection handed over by ``db.upgrade_schema``.

For ``alembic revision --autogenerate`` from a shell, set ``IONSCAPE_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ionscape.service.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from ionscape.service.config import Settings
    from ionscape.service.db import make_engine

    engine = make_engine(Settings.from_env().database_url)
    with engine.begin() as own_connection:
        _run(own_connection)
    engine.dispose()


_run_online()
