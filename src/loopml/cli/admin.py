"""Commands that look after the installation: init, fsck, gc, users, audit."""

from __future__ import annotations

import typer

from loopml.cli._render import console, print_json

users_app = typer.Typer(help="Users and their roles (viewer, data-scientist, approver, admin).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log: list it, verify it, anchor it.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the top-level admin commands to ``app``."""
    app.command("init")(init)
    app.command("fsck")(fsck)
    app.command("gc")(gc)


def init() -> None:
    """Create the loopml home (metadata database and artifact store). Optional: every command does it on first use."""
    from loopml.core import context

    settings = context.get_settings()
    context.get_db()
    context.get_artifacts()
    console.print(f"loopml home ready at [bold]{settings.home}[/bold]")
    console.print(f"  metadata:  {settings.db_url}\n  artifacts: {settings.artifacts_url}")


def fsck(
    deep: bool = typer.Option(True, help="Re-hash every artifact (slower); --no-deep only checks presence."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check every recorded artifact against its hash and verify the audit chain. Exit 1 on a problem."""
    from loopml.core import context
    from loopml.core.integrity import fsck as run_fsck

    report = run_fsck(context.get_db(), context.get_artifacts(), deep=deep)
    if json_out:
        print_json(report.to_dict())
    else:
        console.print(f"checked {report.checked} artifacts: {len(report.missing)} missing, "
                      f"{len(report.corrupted)} corrupted, {len(report.orphans)} orphan blobs, "
                      f"{report.temp_files} temp files; audit chain {'ok' if report.audit_ok else 'BROKEN'}")
        for digest in report.missing + report.corrupted:
            console.print(f"  [red]bad[/red] {digest}")
        if not report.audit_ok:
            console.print(f"  [red]audit[/red] {report.audit_reason}")
    raise typer.Exit(0 if report.ok else 1)


def gc(grace: float = typer.Option(3600.0, help="Only delete orphan blobs older than this many seconds.")) -> None:
    """Delete orphan blobs (written by a crashed writer, never recorded) and abandoned temp files."""
    from loopml.core import context
    from loopml.core.integrity import gc as run_gc

    deleted = run_gc(context.get_db(), context.get_artifacts(), grace_seconds=grace)
    console.print(f"deleted {len(deleted)} orphan blobs")


@users_app.command("list")
def users_list(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List users with granted roles."""
    from loopml.core import context, identity

    with context.get_db().read() as conn:
        found = identity.list_users(conn)
    if json_out:
        print_json([{"name": u.name, "roles": sorted(u.roles)} for u in found])
        return
    for user in found:
        console.print(f"{user.name:24} {', '.join(sorted(user.roles))}")


@users_app.command("grant")
def users_grant(user: str = typer.Argument(..., help="User name."),
                role: str = typer.Argument(..., help="viewer | data-scientist | approver | admin")) -> None:
    """Grant a role (needs admin; the very first admin may name themself)."""
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        added = identity.grant(conn, user, role, actor=context.current_user())
    console.print(f"{user} {'now has' if added else 'already had'} role {role}")


@users_app.command("revoke")
def users_revoke(user: str = typer.Argument(..., help="User name."),
                 role: str = typer.Argument(..., help="The role to take away.")) -> None:
    """Revoke a role (needs admin)."""
    from loopml.core import context, identity

    with context.get_db().write() as conn:
        removed = identity.revoke(conn, user, role, actor=context.current_user())
    console.print(f"{user} {'lost' if removed else 'did not have'} role {role}")


@audit_app.command("log")
def audit_log(
    resource: str = typer.Option(None, help="Only events whose resource starts with this (e.g. model:churn)."),
    action: str = typer.Option(None, help="Only events whose action starts with this (e.g. model.)."),
    limit: int = typer.Option(50, help="How many events."),
    offset: int = typer.Option(0, help="Skip this many (pagination)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List audit events, newest first."""
    from loopml.core import audit, context

    with context.get_db().read() as conn:
        found = audit.events(conn, resource=resource, action=action, limit=limit, offset=offset)
    if json_out:
        print_json([e.__dict__ for e in found])
        return
    for e in found:
        console.print(f"{e.seq:>6} {e.ts[:19]} {e.actor:16} {e.action:24} {e.resource}", highlight=False)


@audit_app.command("verify")
def audit_verify(anchor: str = typer.Option(None, help="SEQ:HASH printed earlier by 'loopml audit anchor'.")) -> None:
    """Check the hash chain; names the first edited, deleted or reordered event. Exit 1 when broken."""
    from loopml.core import audit, context
    from loopml.errors import ValidationError

    pinned = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise ValidationError(f"anchor {anchor!r} must be SEQ:HASH as printed by 'loopml audit anchor'")
        pinned = (int(seq), digest)
    with context.get_db().read() as conn:
        result = audit.verify(conn, anchor=pinned)
    if result.ok:
        console.print(f"[green]ok[/green]: {result.checked} events, chain intact")
        return
    console.print(f"[red]BROKEN[/red] at event {result.first_broken}: {result.reason}")
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Print the current head as SEQ:HASH; keep it elsewhere to detect a truncated log later."""
    from loopml.core import audit, context

    with context.get_db().read() as conn:
        seq, digest = audit.head(conn)
    print(f"{seq}:{digest}")
