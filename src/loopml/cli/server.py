"""``loopml server`` and ``loopml tokens``: run the control plane; create, list and revoke bearer tokens."""

from __future__ import annotations

import typer

from loopml.cli._render import console, print_json

tokens_app = typer.Typer(help="Bearer tokens for the REST API and web UI.", no_args_is_help=True)


def server(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8080, help="TCP port."),
    single_user: bool = typer.Option(False, "--single-user",
                                     help="No tokens: you are the only user. Loopback addresses only."),
    allowed_host: list[str] = typer.Option([], "--allowed-host", help="Extra Host header name to accept."),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web UI (at /) over the configured stores."""
    from loopml.api import check_bind, serve

    check_bind(host, single_user=single_user)
    console.print(f"loopml control plane on http://{host}:{port}/  (Ctrl-C to stop)")
    serve(host, port, single_user=single_user, allowed_hosts=tuple(allowed_host))


@tokens_app.command("create")
def create(
    user: str = typer.Option(..., "--user", help="Whose identity the token carries."),
    expires_days: float = typer.Option(None, "--expires-days", help="Lifetime in days (default: until revoked)."),
    description: str = typer.Option("", help="A note, e.g. 'CI deploy job'."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Create a token for USER (yourself, or anyone if you are an admin). The secret is shown once."""
    from datetime import timedelta

    from loopml.core import context, tokens

    lifetime = timedelta(days=expires_days) if expires_days is not None else None
    with context.get_db().write() as conn:
        secret, token = tokens.create(conn, user, actor=context.current_user(), expires_in=lifetime,
                                      description=description)
    if json_out:
        print_json({"id": token.id, "user": token.user, "token": secret, "expires_at": token.expires_at})
        return
    console.print(f"token {token.id} for {token.user} (shown once; store it now):")
    print(secret)


@tokens_app.command("list")
def list_(
    user: str = typer.Option(None, "--user", help="Only this user's tokens (admins: anyone's)."),
    all_users: bool = typer.Option(False, "--all", help="Everyone's tokens (admin)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List tokens (never their secrets)."""
    from rich.table import Table

    from loopml.core import context, tokens

    actor = context.current_user()
    with context.get_db().read() as conn:
        found = tokens.list_tokens(conn, user=None if all_users else (user or actor), actor=actor)
    if json_out:
        print_json([t.__dict__ | {"active": t.is_active()} for t in found])
        return
    table = Table("id", "user", "created", "expires", "state", "description", box=None, header_style="bold")
    for t in found:
        state = "revoked" if t.revoked_at else ("active" if t.is_active() else "expired")
        table.add_row(t.id, t.user, f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never", state, t.description)
    console.print(table)


@tokens_app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The token id (from 'loopml tokens list').")) -> None:
    """Revoke a token at once; requests carrying it get 401 from then on."""
    from loopml.core import context, tokens

    with context.get_db().write() as conn:
        token = tokens.revoke(conn, token_id, actor=context.current_user())
    console.print(f"revoked {token.id} of {token.user}")
