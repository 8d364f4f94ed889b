"""Alembic migrations of the service database (``db.upgrade_schema`` runs them)."""
