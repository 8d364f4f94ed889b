"""Real Lithops storage backends for the tests: an S3 server (moto) and Redis, both on 127.0.0.1.

Each helper also records what the storage server was asked to do, so a test can check how the
pipeline's tasks (separate processes) read their inputs.
"""

from __future__ import annotations

import re
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

S3_KEYS = {"access_key_id": "testing", "secret_access_key": "testing"}
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_TEST_DBS = range(8, 16)
"""Redis databases the tests may use; a session claims a free one so parallel sessions never meet."""
_CLAIM_KEY = "ionscape-tests:claim"


def localhost_compute(storage: str, **lithops: Any) -> dict[str, Any]:
    """A Lithops config: localhost compute (2 worker processes) with the given storage backend."""
    return {
        "lithops": {"backend": "localhost", "storage": storage, "log_level": "WARNING", **lithops},
        "localhost": {"runtime": sys.executable, "version": 1, "worker_processes": 2},
    }


@dataclass(frozen=True)
class Request:
    """One HTTP request the S3 server received."""

    method: str
    path: str
    range: str | None


class _Recorder:
    """WSGI middleware that notes every request before handing it on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[Request] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests.append(
            Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), environ.get("HTTP_RANGE"))
        )
        return self.app(environ, start_response)


class S3Server:
    """moto's S3 server on 127.0.0.1 in a thread of this process, with a log of its requests."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args: Any, **kwargs: Any) -> None:
                pass

        self._recorder = _Recorder(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", 0, self._recorder, threaded=True, request_handler=QuietHandler
        )
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list[Request]:
        """Requests received so far, oldest first."""
        return list(self._recorder.requests)

    def create_bucket(self, bucket: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_KEYS["access_key_id"],
            aws_secret_access_key=S3_KEYS["secret_access_key"],
        )
        client.create_bucket(Bucket=bucket)

    def stop(self) -> None:
        """Stop serving and close the port: clients get "connection refused" from now on."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()

    def minio_config(self, bucket: str) -> dict[str, Any]:
        """Lithops config for the ``minio`` storage backend on this server."""
        config = localhost_compute("minio", monitoring_interval=0.2)
        config["minio"] = {"endpoint": self.endpoint, "storage_bucket": bucket, **S3_KEYS}
        return config


def aws_s3_config(bucket: str) -> dict[str, Any]:
    """Lithops config for the ``aws_s3`` backend; the endpoint comes from ``AWS_ENDPOINT_URL_S3``."""
    config = localhost_compute("aws_s3", monitoring_interval=0.2)
    config["aws"] = {"region": "us-east-1", **S3_KEYS}
    config["aws_s3"] = {"storage_bucket": bucket}
    return config


def redis_config(db: int, port: int = REDIS_PORT) -> dict[str, Any]:
    """Lithops config for the ``redis`` storage backend (and Redis monitoring) on database ``db``."""
    config = localhost_compute("redis", monitoring="redis")
    config["redis"] = {"host": REDIS_HOST, "port": port, "db": db}
    return config


def redis_client(db: int) -> Any:
    import redis

    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)


@contextmanager
def claimed_redis_db() -> Iterator[int]:
    """A Redis database no other test session uses, emptied before and after.

    Raises ``redis.exceptions.ConnectionError`` when Redis does not answer.
    """
    token = uuid.uuid4().hex
    for db in REDIS_TEST_DBS:
        client = redis_client(db)
        if client.set(_CLAIM_KEY, token, nx=True, ex=3600):
            break
    else:
        raise RuntimeError(f"all Redis databases {REDIS_TEST_DBS} are claimed by other test sessions")
    try:
        _empty(client)
        yield db
    finally:
        _empty(client)
        if client.get(_CLAIM_KEY) == token.encode():
            client.delete(_CLAIM_KEY)


def _empty(client: Any) -> None:
    """Delete every key but the claim (what Lithops and a crashed earlier session left)."""
    keys = [k for k in client.scan_iter(count=1000) if k != _CLAIM_KEY.encode()]
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


class RedisCommandLog:
    """The commands Redis executes on one database, seen through ``MONITOR`` while in the block."""

    def __init__(self, db: int) -> None:
        self.db = db
        self.commands: list[list[str]] = []
        self._sentinel = f"ionscape-monitor-end-{uuid.uuid4().hex}"
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)

    def __enter__(self) -> RedisCommandLog:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("Redis MONITOR did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        redis_client(self.db).echo(self._sentinel)
        self._thread.join(10)

    def _listen(self) -> None:
        with redis_client(self.db).monitor() as monitor:
            self._ready.set()
            while True:
                event = monitor.next_command()
                if self._sentinel in event["command"]:
                    return
                if event["db"] == self.db:
                    self.commands.append(event["command"].split(" "))


def byte_range(header: str) -> tuple[int, int]:
    """A ``Range: bytes=a-b`` header value → the half-open interval (a, b + 1)."""
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", header)
    assert match, f"unexpected Range header {header!r}"
    return int(match[1]), int(match[2]) + 1
