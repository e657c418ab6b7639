"""Commands that look after the installation: init, fsck, gc, users, audit."""

from __future__ import annotations

import typer
from rich.text import Text

from loopml.cli._render import bold, console, done, line, print_json, red

users_app = typer.Typer(invoke_without_command=True, add_completion=False)
audit_app = typer.Typer(no_args_is_help=True, add_completion=False)


_JSON = typer.Option(False, "--json", help="Print as JSON.")


def init(json_out: bool = _JSON) -> None:
    """Create the loopml home (metadata database and artifact store). Optional: every command does it on first use."""
    from loopml.core import context

    settings = context.get_settings()
    context.get_db()
    context.get_artifacts()
    if json_out:
        print_json({"home": str(settings.home), "metadata": settings.db_url, "artifacts": settings.artifacts_url})
        return
    console.print(line("loopml home ready at ", bold(settings.home)))
    console.print(f"  metadata:  {settings.db_url}\n  artifacts: {settings.artifacts_url}")


def fsck(
    deep: bool = typer.Option(True, help="Re-hash every artifact (slower); --no-deep only checks presence."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check every artifact a record names (model files, datasets, feature files, reports, capture, checkpoints,
    queue payloads...) against its hash, and verify the audit chain. Names the record behind each bad one;
    exit 1 on a problem."""
    from loopml.core import context
    from loopml.core.integrity import fsck as run_fsck

    report = run_fsck(context.get_db(), context.get_artifacts(), deep=deep)
    if json_out:
        print_json(report.to_dict())
    else:
        console.print(f"checked {report.checked} artifacts: {len(report.missing)} missing, "
                      f"{len(report.corrupted)} corrupted, {len(report.orphans)} orphan blobs (no record names "
                      f"them), {report.temp_files} temp files; audit chain {'ok' if report.audit_ok else 'BROKEN'}",
                      highlight=False, soft_wrap=True)
        for problem in report.problems:
            console.print(line("  ", red("bad"), f" {problem}"), soft_wrap=True)
        if not report.audit_ok:
            console.print(line("  ", red("audit"), f" {report.audit_reason}"))
    raise typer.Exit(0 if report.ok else 1)


def gc(grace: float = typer.Option(3600.0, min=0, help="Only delete orphan blobs older than this many seconds "
                                   "(protects writers that have stored a blob but not yet recorded it)."),
       json_out: bool = _JSON) -> None:
    """Delete orphan blobs: those no record names (left by a crashed writer, or by records deleted since), and
    abandoned temp files. Everything a record names is kept."""
    from loopml.core import context
    from loopml.core.integrity import gc as run_gc

    deleted = run_gc(context.get_db(), context.get_artifacts(), grace_seconds=grace)
    done(json_out, {"deleted": [str(d) for d in deleted]}, f"deleted {len(deleted)} orphan blobs")


@users_app.callback()
def users_default(ctx: typer.Context) -> None:
    """Users and their roles; 'loopml users' alone lists them."""
    if ctx.invoked_subcommand is None:
        users_list(json_out=False)


@users_app.command("list")
def users_list(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List users with granted roles."""
    from loopml.core import governance

    found = governance.list_users()
    if json_out:
        print_json([{"name": u.name, "roles": sorted(u.roles)} for u in found])
        return
    for user in found:
        console.print(f"{user.name:24} {', '.join(sorted(user.roles))}")


@users_app.command("grant")
def users_grant(user: str = typer.Argument(..., help="User name."),
                role: str = typer.Argument(..., help="viewer | data-scientist | approver | admin | invoker"),
                json_out: bool = _JSON) -> None:
    """Grant a role (needs admin; the very first admin may name themself)."""
    from loopml.core import context, governance

    added = governance.grant_role(user, role, actor=context.claimed_user())
    done(json_out, {"user": user, "role": role, "granted": added},
         f"{user} {'now has' if added else 'already had'} role {role}")


@users_app.command("revoke")
def users_revoke(user: str = typer.Argument(..., help="User name."),
                 role: str = typer.Argument(..., help="The role to take away."), json_out: bool = _JSON) -> None:
    """Revoke a role (needs admin)."""
    from loopml.core import context, governance

    removed = governance.revoke_role(user, role, actor=context.claimed_user())
    done(json_out, {"user": user, "role": role, "revoked": removed},
         f"{user} {'lost' if removed else 'did not have'} role {role}")


@audit_app.command("log")
def audit_log(
    resource: str = typer.Option(None, help="Only events whose resource starts with this (e.g. model:churn)."),
    action: str = typer.Option(None, help="Only events whose action starts with this (e.g. model.)."),
    actor: str = typer.Option(None, help="Only events by this identity (e.g. bob, automation:auto-approval)."),
    order: str = typer.Option("newest", help="newest | oldest first."),
    limit: int = typer.Option(50, help="How many events."),
    offset: int = typer.Option(0, help="Skip this many (pagination)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List audit events, newest first (--order oldest for the other way)."""
    from loopml.core import governance
    from loopml.errors import ValidationError

    if order not in ("newest", "oldest"):
        raise ValidationError(f"--order must be 'newest' or 'oldest', not {order!r}")
    found = governance.audit_log(resource=resource, action=action, actor=actor, limit=limit, offset=offset,
                                 newest_first=order == "newest")
    if json_out:
        print_json([e.__dict__ for e in found])
        return
    for e in found:
        console.print(f"{e.seq:>6} {e.ts[:19]} {e.actor:16} {e.action:24} {e.resource}")


@audit_app.command("verify")
def audit_verify(anchor: str = typer.Option(None, help="SEQ:HASH printed earlier by 'loopml audit anchor'."),
                 json_out: bool = _JSON) -> None:
    """Check the hash chain; names the first edited, deleted or reordered event. Exit 1 when broken."""
    from loopml.core import governance

    result, _head = governance.verify_audit(anchor=anchor)
    if json_out:
        print_json(result.__dict__)
        raise typer.Exit(0 if result.ok else 1)
    if result.ok:
        console.print(line(Text("ok", style="green"), f": {result.checked} events, chain intact"))
        return
    console.print(line(red("BROKEN"), f" at event {result.first_broken}: {result.reason}"))
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(json_out: bool = _JSON) -> None:
    """Print the current head as SEQ:HASH; keep it elsewhere to detect a truncated log later."""
    from loopml.core import governance

    seq, digest = governance.audit_anchor()
    if json_out:
        print_json({"seq": seq, "hash": digest, "anchor": f"{seq}:{digest}"})
    else:
        print(f"{seq}:{digest}")
