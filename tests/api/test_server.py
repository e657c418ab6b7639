"""``loopml server`` as a real uvicorn process, and the ``server``/``tokens`` CLI commands."""

from __future__ import annotations

import signal

import httpx
import pytest
import typer
from typer.testing import CliRunner

from loopml.cli.server import server, tokens_app
from tests.conftest import start_server


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("server")(server)
    app.add_typer(tokens_app, name="tokens")
    return app


def test_tokens_cli_creates_lists_and_revokes(home):
    runner = CliRunner()
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        identity.grant(conn, "alice", "admin", actor="alice")
    created = runner.invoke(_cli(), ["tokens", "create", "--user", "bob", "--expires-days", "1", "--json"])
    assert created.exit_code == 0, created.output
    import json

    token = json.loads(created.output)
    assert token["token"].startswith("lml_") and token["user"] == "bob"
    listed = runner.invoke(_cli(), ["tokens", "list", "--all", "--json"])
    assert token["id"] in listed.output and token["token"] not in listed.output
    revoked = runner.invoke(_cli(), ["tokens", "revoke", token["id"]])
    assert revoked.exit_code == 0 and "revoked" in revoked.output


def test_server_refuses_single_user_mode_off_loopback(home):
    result = CliRunner().invoke(_cli(), ["server", "--single-user", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "127.0.0.1" in str(result.exception)


@pytest.mark.slow
def test_the_server_serves_and_stops_on_sigterm(home):
    from loopml.core import context, tokens

    with context.get_db().write() as conn:
        secret, _ = tokens.create(conn, "alice", actor="alice")
    proc, base = start_server()
    try:
        assert httpx.get(base + "/api/v1/me").status_code == 401
        me = httpx.get(base + "/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["user"] == "alice"
        assert httpx.get(base + "/ui/index.html").status_code == 200
        assert "server" not in httpx.get(base + "/healthz").headers
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after draining
