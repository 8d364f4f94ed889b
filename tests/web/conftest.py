"""Browser-test fixtures: the whole service (API, UI, one annotation worker) under uvicorn on a free
port with a fresh SQLite database, and Debian's chromium driven by Playwright.

Playwright's own browser downloads are not used: the tests need ``/usr/bin/chromium`` (Debian package
``chromium``; set ``IONSCAPE_TEST_CHROMIUM`` for another binary). Screenshots of every step go to a
temporary folder (``IONSCAPE_TEST_SCREENSHOTS`` to keep them somewhere).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("IONSCAPE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The service runs in a process of its own, with its own TMPDIR (hence its own Lithops state), as
# `ionscape serve` would: the test process has run many Lithops jobs before these tests.
_SERVER = """
import json, sys
import uvicorn
from ionscape.service.app import create_app
from ionscape.service.config import Settings
from ionscape.service.db import make_engine, upgrade_schema
args = json.loads(sys.argv[1])
settings = Settings.for_data_dir(
    args["data_dir"], secret_key="web-test-secret", lithops_config=args["lithops"],
    annotation_workers=2, heartbeat_seconds=0.2, poll_seconds=0.1,
)
engine = make_engine(settings.database_url)
upgrade_schema(engine)
engine.dispose()
uvicorn.run(create_app(settings, worker_threads=1), host="127.0.0.1", port=args["port"], log_level="warning")
"""


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, lithops_local) -> Iterator[str]:
    """Base URL of the running service (API + UI + one worker thread) on a fresh SQLite database."""
    import httpx

    port = _free_port()
    args = {"data_dir": str(tmp_path_factory.mktemp("web-data")), "lithops": lithops_local, "port": port}
    env = {**os.environ, "TMPDIR": str(tmp_path_factory.mktemp("web-lithops"))}
    server = subprocess.Popen([sys.executable, "-c", _SERVER, json.dumps(args)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail("the service did not start", pytrace=False)
        time.sleep(0.1)
    yield url
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian chromium under Playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set "
            "IONSCAPE_TEST_CHROMIUM",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Folder for the screenshots taken along the way."""
    folder = os.environ.get("IONSCAPE_TEST_SCREENSHOTS") or tempfile.mkdtemp(prefix="ionscape-screens-")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path
