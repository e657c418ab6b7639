"""``loopml server`` and ``loopml tokens``: run the control plane; create, list and revoke bearer tokens."""

from __future__ import annotations

import typer

from loopml.cli._render import console, print_json, print_table

tokens_app = typer.Typer(no_args_is_help=True, add_completion=False)


def server(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8080, help="TCP port."),
    single_user: bool = typer.Option(False, "--single-user",
                                     help="No tokens: you are the only user. Loopback addresses only."),
    allowed_host: list[str] = typer.Option([], "--allowed-host", help="Extra Host header name to accept."),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web UI (at /) over the configured stores."""
    from loopml.api import check_bind, serve
    from loopml.api.server import check_single_user

    check_bind(host, single_user=single_user, port=port, allowed_hosts=tuple(allowed_host))
    if single_user:
        check_single_user()
    console.print(f"loopml control plane on http://{host}:{port}/  (Ctrl-C to stop)")
    serve(host, port, single_user=single_user, allowed_hosts=tuple(allowed_host))


@tokens_app.command("create")
def create(
    user: str = typer.Option(..., "--user", help="Whose identity the token carries."),
    expires_days: float = typer.Option(None, "--expires-days", help="Lifetime in days (default: until revoked)."),
    description: str = typer.Option("", help="A note, e.g. 'CI deploy job'."),
    aws: bool = typer.Option(False, "--aws", help="An AWS-style access key pair for AWS SDKs (SigV4), e.g. boto3."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Create a token for USER (yourself, or anyone if you are an admin). The secret is shown once."""
    from loopml.core import context, governance

    if aws:
        _create_key_pair(user, expires_days, description, json_out)
        return
    secret, token = governance.create_token(user, actor=context.claimed_user(), expires_days=expires_days,
                                            description=description)
    if json_out:
        print_json({"id": token.id, "user": token.user, "token": secret, "expires_at": token.expires_at})
        return
    console.print(f"token {token.id} for {token.user} (shown once; store it now):")
    print(secret)


def _create_key_pair(user: str, expires_days: float | None, description: str, json_out: bool) -> None:
    from loopml.core import context, governance

    pair = governance.create_key_pair(user, actor=context.claimed_user(), expires_days=expires_days,
                                      description=description)
    doc = {"id": pair.token.id, "user": pair.token.user, "aws_access_key_id": pair.access_key_id,
           "aws_secret_access_key": pair.secret_access_key, "expires_at": pair.token.expires_at}
    if json_out:
        print_json(doc)
        return
    console.print(f"access key pair {pair.token.id} for {pair.token.user} (the secret is shown once; store it now):")
    print(f"aws_access_key_id = {pair.access_key_id}\naws_secret_access_key = {pair.secret_access_key}")


@tokens_app.command("list")
def list_(
    user: str = typer.Option(None, "--user", help="Only this user's tokens (admins: anyone's)."),
    all_users: bool = typer.Option(False, "--all", help="Everyone's tokens (admin)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List tokens (never their secrets)."""
    from rich.table import Table

    from loopml.core import context, governance

    actor = context.claimed_user()
    found = governance.list_tokens(user=None if all_users else (user or actor), actor=actor)
    keys = governance.access_key_ids([t.id for t in found])
    if json_out:
        print_json([t.__dict__ | {"active": t.is_active(), "aws_access_key_id": keys.get(t.id)} for t in found])
        return
    table = Table("id", "user", "kind", "created", "expires", "state", "description", box=None, header_style="bold")
    for t in found:
        state = "revoked" if t.revoked_at else ("active" if t.is_active() else "expired")
        table.add_row(t.id, t.user, f"aws {keys[t.id]}" if t.id in keys else "bearer", f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never", state, t.description)
    print_table(table)


@tokens_app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The token id (from 'loopml tokens list')."),
           json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Revoke a token at once; requests carrying it get 401 from then on."""
    from loopml.core import context, governance

    token = governance.revoke_token(token_id, actor=context.claimed_user())
    if json_out:
        print_json({"id": token.id, "user": token.user, "revoked": True})
        return
    console.print(f"revoked {token.id} of {token.user}")
