"""The UI is static files served without a token: no data, no third-party code, no markup injection."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loopml.api import create_app, policy

STATIC = Path(__file__).resolve().parents[2] / "src" / "loopml" / "ui" / "static"
FILES = sorted(p.name for p in STATIC.iterdir())


@pytest.fixture
def client(home):  # noqa: ANN001, ANN201
    with TestClient(create_app(), base_url="http://127.0.0.1") as c:
        yield c


@pytest.mark.parametrize("name", FILES)
def test_every_asset_is_served_without_a_token_with_its_type(client, name):
    response = client.get(f"/ui/{name}")
    assert response.status_code == 200
    expected = {".html": "text/html", ".css": "text/css", ".js": "javascript", ".svg": "image/svg+xml"}
    assert expected[Path(name).suffix] in response.headers["content-type"]


def test_the_shell_loads_only_its_own_modules(client):
    html = client.get("/ui/index.html").text
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert ref.startswith("/ui/") and client.get(ref).status_code == 200, ref
    for js in STATIC.glob("*.js"):
        for imported in re.findall(r'from "\./([^"]+)"', js.read_text()):
            assert (STATIC / imported).is_file(), (js.name, imported)


@pytest.mark.parametrize("name", FILES)
def test_no_cdn_no_inner_html_no_cookies(name):
    text = (STATIC / name).read_text()
    urls = [u for u in re.findall(r"https?://[^\s\"')]+", text) if u != "http://www.w3.org/2000/svg"]
    assert not urls, f"{name} loads from elsewhere: {urls}"
    assert "innerHTML" not in text and "outerHTML" not in text and "insertAdjacentHTML" not in text
    assert "document.cookie" not in text and "localStorage" not in text


def test_every_api_path_the_ui_calls_is_a_route():
    templates = {re.sub(r"\{[^}]+\}", "X", path) for _, path in policy.POLICY}
    calls = set()
    for js in STATIC.glob("*.js"):
        for call in re.findall(r'(?:api|everything)\(`([^`]+)`|(?:api|everything)\("([^"]+)"', js.read_text()):
            path = (call[0] or call[1]).split("?")[0]
            if path.startswith("${"):
                continue  # a path built from one checked here (the artifact browser's base)
            calls.add(policy.PREFIX + re.sub(r"\$\{[^}]+\}", "X", path))
    def matches(call: str, template: str) -> bool:
        a, b = call.split("/"), template.split("/")
        return len(a) == len(b) and all(x == y or "X" in (x, y) for x, y in zip(a, b, strict=True))

    unknown = {c for c in calls if not any(matches(c, t) for t in templates)}
    assert calls and not unknown, unknown
