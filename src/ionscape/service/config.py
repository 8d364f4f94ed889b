"""Service settings, read from ``IONSCAPE_*`` environment variables with laptop defaults."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ionscape.errors import ConfigError

GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to run; build with :meth:`from_env` or directly in tests.

    Attributes
    ----------
    data_dir : folder of the SQLite file, the storage folder and the generated secret key.
    database_url : SQLAlchemy URL; default ``sqlite:///<data_dir>/ionscape.db``.
    storage_dir : where uploads and results live; default ``<data_dir>/storage``.
    secret_key : signs nothing by itself but seeds API-key and token hashing; generated and kept in
        ``<data_dir>/secret_key`` when not given.
    lithops_config : Lithops config dict for annotation jobs; None: the user's config or localhost.
    annotation_workers : parallel tasks per job on the worker's machine: Lithops localhost worker
        processes, or N of Spark's ``local[N]`` (None: one per core).
    annotation_executor : what runs the annotation tasks: ``lithops`` or ``spark``.
    spark_master : Spark master URL when ``annotation_executor`` is ``spark`` (None: spark-submit's
        settings, else ``local[N]``).
    lease_seconds, heartbeat_seconds : a running job's lease is renewed every ``heartbeat_seconds``;
        a job whose lease ran out (its worker died) is claimed again, up to ``max_attempts`` times.
    """

    data_dir: Path
    database_url: str
    storage_dir: Path
    secret_key: str
    lithops_config: dict[str, Any] | None = None
    max_upload_bytes: int = 100 * GIB
    max_chunk_bytes: int = 256 * MIB
    max_moldb_bytes: int = 200 * MIB
    session_days: int = 14
    secure_cookies: bool = False
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 10.0
    poll_seconds: float = 2.0
    max_attempts: int = 3
    annotation_workers: int | None = None
    annotation_executor: str = "lithops"
    spark_master: str | None = None

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike, **overrides: Any) -> Settings:
        """Defaults rooted at ``data_dir``; keyword arguments override single fields."""
        data_dir = Path(data_dir).expanduser()
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": f"sqlite:///{data_dir / 'ionscape.db'}",
            "storage_dir": data_dir / "storage",
            "secret_key": "",
        }
        values.update(overrides)
        if not values["secret_key"]:
            values["secret_key"] = _stored_secret(data_dir)
        return cls(**values)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Settings from ``IONSCAPE_*`` variables (``os.environ`` by default)."""
        env = dict(os.environ if env is None else env)
        overrides: dict[str, Any] = {}
        for name, (variable, parse) in _ENV_FIELDS.items():
            if env.get(variable):
                try:
                    overrides[name] = parse(env[variable])
                except ValueError as exc:
                    raise ConfigError(f"{variable}={env[variable]!r}: {exc}") from None
        return cls.for_data_dir(env.get("IONSCAPE_DATA_DIR") or "~/.ionscape", **overrides)


def _stored_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _executor_name(value: str) -> str:
    from ionscape.pipeline.executor import EXECUTORS

    if value not in EXECUTORS:
        raise ValueError(f"expected one of {', '.join(EXECUTORS)}")
    return value


def _lithops_config(value: str) -> dict[str, Any]:
    """A JSON object, or the path of a Lithops YAML config file."""
    if value.lstrip().startswith("{"):
        return json.loads(value)
    import yaml

    return yaml.safe_load(Path(value).read_text()) or {}


_ENV_FIELDS: dict[str, tuple[str, Any]] = {
    "database_url": ("IONSCAPE_DATABASE_URL", str),
    "storage_dir": ("IONSCAPE_STORAGE_DIR", lambda v: Path(v).expanduser()),
    "secret_key": ("IONSCAPE_SECRET_KEY", str),
    "lithops_config": ("IONSCAPE_LITHOPS_CONFIG", _lithops_config),
    "max_upload_bytes": ("IONSCAPE_MAX_UPLOAD_BYTES", int),
    "max_chunk_bytes": ("IONSCAPE_MAX_CHUNK_BYTES", int),
    "max_moldb_bytes": ("IONSCAPE_MAX_MOLDB_BYTES", int),
    "secure_cookies": ("IONSCAPE_SECURE_COOKIES", _bool),
    "lease_seconds": ("IONSCAPE_LEASE_SECONDS", float),
    "heartbeat_seconds": ("IONSCAPE_HEARTBEAT_SECONDS", float),
    "annotation_workers": ("IONSCAPE_ANNOTATION_WORKERS", int),
    "annotation_executor": ("IONSCAPE_ANNOTATION_EXECUTOR", _executor_name),
    "spark_master": ("IONSCAPE_SPARK_MASTER", str),
}
