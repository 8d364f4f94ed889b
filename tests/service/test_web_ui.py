"""The browser app's files as the service serves them: pages, static files, and a consistent module graph."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ionscape.service.web import WEB_DIR
from tests.service.conftest import build_service

STATIC = WEB_DIR / "static"
IMPORT = re.compile(r'^import\s+(?:\{([^}]*)\}\s+from\s+)?"([^"]+)";', re.MULTILINE)
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function|const|let|class)\s+(\w+)", re.MULTILINE)


@pytest.fixture(scope="module")
def client(new_database, tmp_path_factory, lithops_local):
    svc = build_service(new_database("sqlite"), tmp_path_factory.mktemp("data"), "sqlite", lithops_local)
    yield svc.client()
    svc.app.state.engine.dispose()


@pytest.mark.parametrize("path", ["/", "/datasets/abc123", "/projects/x/y", "/login?next=/upload"])
def test_app_routes_get_the_page(client, path):
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_api_paths_keep_their_behaviour(client):
    assert client.get("/api/v1/health").json()["status"] == "ok"
    missing = client.get("/api/v1/no-such-route")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    assert client.get("/api").status_code == 404
    redirect = client.get("/api/v1/datasets/", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"].endswith("/api/v1/datasets")
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "ionscape"


def test_static_files_referenced_by_the_page_are_served(client):
    page = (WEB_DIR / "index.html").read_text()
    references = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert {"/static/js/app.js", "/static/css/app.css", "/static/favicon.svg"} <= set(references)
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for reference in references:
        response = client.get(reference)
        assert response.status_code == 200, reference
        assert response.headers["content-type"].startswith(types[Path(reference).suffix]), reference
    assert client.get("/static/js/no-such-module.js").status_code == 404


def _exports(module: Path) -> set[str]:
    return set(EXPORT.findall(module.read_text()))


def test_every_import_resolves_to_an_exported_name():
    modules = sorted(STATIC.rglob("*.js"))
    assert len(modules) > 10
    for module in modules:
        for names, target in IMPORT.findall(module.read_text()):
            assert target.startswith("."), f"{module.name} imports {target!r}: only local modules"
            path = (module.parent / target).resolve()
            assert path.is_file(), f"{module.relative_to(STATIC)} imports missing {target}"
            wanted = {name.strip() for name in names.split(",") if name.strip()}
            missing = wanted - _exports(path)
            assert not missing, f"{module.relative_to(STATIC)}: {target} does not export {missing}"


def test_nothing_is_fetched_from_elsewhere():
    external = re.compile(
        r"""(?:src|href)=["']https?:|url\(\s*["']?https?:|from\s+["']https?:|import\(["']https?:"""
    )
    for path in [WEB_DIR / "index.html", *STATIC.rglob("*.js"), *STATIC.rglob("*.css")]:
        assert not external.search(path.read_text()), path
