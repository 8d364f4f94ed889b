"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ionscape.service.db import MIGRATIONS, current_revision, make_engine, upgrade_schema
from ionscape.service.models import Base
from tests.service.conftest import BACKENDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_match_the_models(new_database, backend):
    from alembic.config import Config

    engine = make_engine(new_database(backend))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert current_revision(engine) == head
    upgrade_schema(engine)  # a second upgrade changes nothing
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_fresh_sqlite_file_is_created_and_upgraded(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'ionscape.db'}")
    assert current_revision(engine) is None
    upgrade_schema(engine)
    assert current_revision(engine) is not None
    engine.dispose()
