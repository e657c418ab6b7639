"""``loopml model`` and ``loopml lineage``: the registry from the command line."""

from __future__ import annotations

from typing import Any

import typer

from loopml.cli._render import ago, console, print_json, styled

app = typer.Typer(help="Model groups and versions: list, show, approve, reject, cards, settings.",
                  no_args_is_help=True)
lineage_app = typer.Typer(help="Where things came from: which data and code produced a model, who approved it.",
                          no_args_is_help=True)

_JSON = typer.Option(False, "--json", help="Print as JSON.")
_REF = typer.Argument(..., help="GROUP:VERSION, GROUP@approved or GROUP@latest")


def _version(ref: str) -> Any:
    from loopml.registry import resolve

    return resolve(ref)


@app.command("list")
def list_(
    group: str = typer.Argument(None, help="A model group: list its versions. Without it: list the groups."),
    status: str = typer.Option(None, help="PendingManualApproval, Approved or Rejected."),
    limit: int = typer.Option(50, help="How many."),
    offset: int = typer.Option(0, help="Skip this many (pagination)."),
    json_out: bool = _JSON,
) -> None:
    """List model groups, or the versions of one group (newest first)."""
    from rich.table import Table

    from loopml import registry

    if group is None and status is None:
        groups = registry.list_groups(limit=limit, offset=offset)
        if json_out:
            print_json([g.to_dict() for g in groups])
            return
        table = Table("group", "latest", "approved", "pending", "rejected", "created by", box=None, header_style="bold")
        for g in groups:
            table.add_row(g.name, str(g.latest_version or "-"), str(g.counts.get("Approved", 0)),
                          str(g.counts.get("PendingManualApproval", 0)), str(g.counts.get("Rejected", 0)), g.created_by)
        console.print(table)
        return
    versions = registry.list_versions(group, status=status, limit=limit, offset=offset)
    if json_out:
        print_json([v.to_dict() for v in versions])
        return
    table = Table("version", "status", "flavor", "metrics", "created", "by", box=None, header_style="bold")
    for v in versions:
        metrics = ", ".join(f"{k}={val:.4g}" if isinstance(val, float) else f"{k}={val}" for k, val in v.metrics.items())
        table.add_row(v.name, styled(v.status), v.flavor, metrics[:60], ago(v.created_at), v.created_by)
    console.print(table)


@app.command("show")
def show(ref: str = _REF, json_out: bool = _JSON) -> None:
    """Show one version: digest, flavor, signature, metrics, lineage links and approval trail."""
    from loopml import registry

    version = _version(ref)
    trail = registry.approval_trail(version.group, version.version)
    if json_out:
        print_json({**version.to_dict(), "approval_trail": trail})
        return
    console.print(f"[bold]{version.name}[/bold]  {styled(version.status)}  {version.flavor}  {version.digest}")
    console.print(f"registered by {version.created_by} at {ago(version.created_at)}")
    if version.description:
        console.print(version.description)
    cols = ", ".join(f"{c.get('name')}:{c.get('dtype', c.get('type', '?'))}" for c in version.signature.get("inputs", []))
    console.print(f"inputs: {cols or '-'}")
    console.print(f"metrics: {version.metrics or '-'}")
    for t in trail:
        console.print(f"  {t['at'][:19]}  {t['from'] or '-':>21} → {styled(t['to'])}  by {t['actor']}  {t['note']}")


def _split(ref: str) -> tuple[str, int]:
    version = _version(ref)
    return version.group, version.version


@app.command("approve")
def approve(ref: str = _REF, note: str = typer.Option("", help="Why (kept in the approval trail).")) -> None:
    """Approve a version (approver role; not the person who registered it, unless the group allows it)."""
    from loopml import registry

    group, number = _split(ref)
    version = registry.approve(group, number, note=note)
    console.print(f"{version.name} is now {styled(version.status)} (bound to {version.digest[:19]}…)")


@app.command("reject")
def reject(ref: str = _REF, note: str = typer.Option("", help="Why (kept in the approval trail).")) -> None:
    """Reject a version (approver role; not the person who registered it, unless the group allows it)."""
    from loopml import registry

    group, number = _split(ref)
    version = registry.reject(group, number, note=note)
    console.print(f"{version.name} is now {styled(version.status)}")


@app.command("card")
def card(
    ref: str = _REF,
    fmt: str = typer.Option("md", "--format", "-f", help="md, html or json"),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file instead of the screen."),
    intended_use: str = typer.Option(None, help="Set the intended use."),
    limitations: str = typer.Option(None, help="Set the limitations."),
    ethical_considerations: str = typer.Option(None, help="Set the ethical considerations."),
) -> None:
    """Print (or edit) the model card: user-written sections plus metrics, evaluation, data, lineage, approvals."""
    from pathlib import Path

    from loopml import registry

    group, number = _split(ref)
    edits = {"intended_use": intended_use, "limitations": limitations, "ethical_considerations": ethical_considerations}
    if any(v is not None for v in edits.values()):
        registry.update_card(group, number, **{k: v for k, v in edits.items() if v is not None})
    text = registry.render_card(registry.card(group, number), fmt)
    if output:
        Path(output).write_text(text)
        console.print(f"wrote {output}")
    else:
        print(text)


@app.command("settings")
def settings(
    group: str = typer.Argument(..., help="The model group."),
    allow_self_approval: bool = typer.Option(None, "--allow-self-approval/--no-self-approval",
                                             help="Let the creator approve their own versions."),
    auto_approve: bool = typer.Option(None, "--auto-approve/--no-auto-approve",
                                      help="Approve passing versions automatically (as automation:auto-approval)."),
) -> None:
    """Show or change a group's governance settings (changing needs admin; audited)."""
    from loopml import registry

    if allow_self_approval is None and auto_approve is None:
        found = registry.get_group(group)
    else:
        found = registry.set_group_settings(group, allow_self_approval=allow_self_approval, auto_approve=auto_approve)
    console.print(f"{found.name}: {found.settings}")


@lineage_app.command("model")
def lineage_model(ref: str = _REF, json_out: bool = _JSON) -> None:
    """Which data and code produced this model, with which parameters and metrics, and who approved it."""
    from rich.tree import Tree

    from loopml import registry

    group, number = _split(ref)
    facts = registry.lineage(group, number)
    if json_out:
        print_json(facts)
        return
    model, approval = facts["model"], facts["approval"]
    tree = Tree(f"[bold]{model['name']}[/bold]  {styled(model['status'])}  {model['flavor']}  {model['digest']}")
    data = tree.add("data")
    for d in facts["data"] or [{"name": "not recorded"}]:
        data.add(f"{d.get('name', '?')}@{d.get('version', '?')}  {d.get('sha256', '')}  {d.get('uri', '')}")
    code = facts["code"]
    code_node = tree.add(f"code  commit {str(code.get('commit') or '-')[:12]}"
                         f"{' (dirty, diff ' + str(code.get('diff_sha256'))[:12] + ')' if code.get('dirty') else ''}")
    for step, digest in (code.get("step_code_hashes") or {}).items():
        code_node.add(f"{step}  {digest[:12]}")
    tree.add(f"params  {facts['params'] or '-'}")
    tree.add(f"metrics  {facts['metrics'] or '-'}")
    if facts["evaluation"]:
        tree.add(f"evaluation report  {facts['evaluation']['digest']}")
    if facts["execution"]:
        ex = facts["execution"]
        tree.add(f"pipeline execution  {ex['id']}  {ex.get('pipeline', '')}  {ex.get('status', '')}")
    if facts["run"]:
        tree.add(f"training run  {facts['run']}")
    reg = facts["registered"]
    tree.add(f"registered by {reg['by']} at {reg['at'][:19]}")
    tree.add(f"approved by {approval['by']} at {str(approval['at'])[:19]}" if approval["by"]
             else f"not approved ({approval['status']})")
    console.print(tree)


app.command("lineage", help="Which data and code produced this model, and who approved it (same as "
            "'loopml lineage model').")(lineage_model)
