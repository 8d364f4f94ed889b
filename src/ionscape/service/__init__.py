"""The ionscape web service: JSON API, durable job queue and annotation workers.

Nothing here is imported by ``import ionscape``; the service needs the ``service`` extras
(FastAPI, SQLAlchemy, Alembic, uvicorn, psycopg).
"""
