"""``loopml model`` and ``loopml lineage``: the registry from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from loopml.cli._render import ago, bold, console, line, print_json, print_table, styled

app = typer.Typer(no_args_is_help=True, add_completion=False)
lineage_app = typer.Typer(no_args_is_help=True, add_completion=False)

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
        print_table(table)
        return
    versions = registry.list_versions(group, status=status, limit=limit, offset=offset)
    if json_out:
        print_json([v.to_dict() for v in versions])
        return
    table = Table("version", "status", "flavor", "metrics", "created", "by", box=None, header_style="bold")
    for v in versions:
        metrics = ", ".join(f"{k}={val:.4g}" if isinstance(val, float) else f"{k}={val}" for k, val in v.metrics.items())
        table.add_row(v.name, styled(v.status), v.flavor, metrics[:60], ago(v.created_at), v.created_by)
    print_table(table)


@app.command("show")
def show(ref: str = _REF, json_out: bool = _JSON) -> None:
    """Show one version: digest, flavor, signature, metrics, lineage links and approval trail."""
    from loopml import registry

    version = _version(ref)
    trail = registry.approval_trail(version.group, version.version)
    if json_out:
        print_json({**version.to_dict(), "approval_trail": trail})
        return
    console.print(line(bold(version.name), "  ", styled(version.status), f"  {version.flavor}  {version.digest}"))
    console.print(f"registered by {version.created_by} at {ago(version.created_at)}")
    if version.description:
        console.print(version.description)
    cols = ", ".join(f"{c.get('name')}:{c.get('dtype', c.get('type', '?'))}" for c in version.signature.get("inputs", []))
    console.print(f"inputs: {cols or '-'}")
    console.print(f"metrics: {version.metrics or '-'}")
    for t in trail:
        console.print(line(f"  {t['at'][:19]}  {t['from'] or '-':>21} → ", styled(t['to']), f"  by {t['actor']}  {t['note']}"))


def _split(ref: str) -> tuple[str, int]:
    version = _version(ref)
    return version.group, version.version


def _decided(version: Any, json_out: bool, bound: bool = False) -> None:
    if json_out:
        print_json(version.to_dict())
        return
    console.print(line(f"{version.name} is now ", styled(version.status),
                       f" (bound to {version.digest[:19]}…)" if bound else ""))


_NOTE = typer.Option("", help="Why (kept in the approval trail).")


@app.command("approve")
def approve(ref: str = _REF, note: str = _NOTE, json_out: bool = _JSON) -> None:
    """Approve a version (approver role; not the person who registered it, unless the group allows it)."""
    from loopml import registry

    group, number = _split(ref)
    _decided(registry.approve(group, number, note=note), json_out, bound=True)


@app.command("reject")
def reject(ref: str = _REF, note: str = _NOTE, json_out: bool = _JSON) -> None:
    """Reject a version (approver role; not the person who registered it, unless the group allows it)."""
    from loopml import registry

    group, number = _split(ref)
    _decided(registry.reject(group, number, note=note), json_out)


@app.command("reopen")
def reopen(ref: str = _REF, note: str = _NOTE, json_out: bool = _JSON) -> None:
    """Send a rejected version back to PendingManualApproval (approver role), to be decided again."""
    from loopml import registry

    group, number = _split(ref)
    _decided(registry.reopen(group, number, note=note), json_out)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    from loopml.errors import ValidationError

    found = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"{what} {item!r} must be KEY=VALUE")
        found[key.strip()] = value
    return found


def _metrics(items: list[str]) -> dict[str, Any]:
    from loopml.errors import ValidationError

    found: dict[str, Any] = {}
    for key, value in _pairs(items, "metric").items():
        try:
            found[key] = float(value)
        except ValueError:
            raise ValidationError(f"metric {key}={value!r} must be a number") from None
    return found


@app.command("register")
def register(
    group: str = typer.Argument(..., help="The model group (created on first use)."),
    folder: Path = typer.Argument(None, help="A model folder: loopml's model format, or a SageMaker model folder "
                                  "with code/inference.py."),
    run: str = typer.Option(None, "--run", help="Register what this training run left (instead of a folder)."),
    description: str = typer.Option("", "--description", "-d", help="Free text for listings and the card."),
    metric: list[str] = typer.Option(None, "--metric", help="NAME=NUMBER, a headline metric (repeat)."),
    tag: list[str] = typer.Option(None, "--tag", help="KEY=VALUE (repeat)."),
    evaluation: str = typer.Option(None, "--evaluation", help="Digest of a stored evaluation report (sha256:…)."),
    trust_code: bool = typer.Option(False, "--trust-code", help="The model is code (pyfunc pickle, inference "
                                    "script): you vouch for it, and that is recorded."),
    json_out: bool = _JSON,
) -> None:
    """Register a model folder, or a training run's output, as the next version of GROUP (pending approval)."""
    from loopml import registry
    from loopml.core import userfiles
    from loopml.errors import ValidationError

    if (folder is None) == (run is None):
        raise ValidationError("give a model FOLDER or --run RUN_ID (one of them)")
    options: dict[str, Any] = {"description": description, "tags": _pairs(tag, "tag") or None,
                               "metrics": _metrics(metric) or None, "evaluation_digest": evaluation,
                               "trust_code": trust_code}
    if run is not None:
        version = registry.register_run(run, group, **options)
    else:
        version = registry.register(userfiles.input_folder(folder, "model folder"), group, **options)
    if json_out:
        print_json(version.to_dict())
        return
    console.print(line(f"registered {version.name} ", styled(version.status), f" ({version.flavor}, "
                       f"{version.digest[:19]}…); an approver decides: loopml model approve {version.name}"))


@app.command("tag")
def tag(
    ref: str = _REF,
    pairs: list[str] = typer.Argument(None, help="KEY=VALUE tags to add or replace."),
    remove: list[str] = typer.Option(None, "--remove", help="A tag to remove (repeat)."),
    json_out: bool = _JSON,
) -> None:
    """Add, replace or remove tags of a version (tags are not the model's bytes: approval is untouched)."""
    from loopml.registry import labels

    group, number = _split(ref)
    version = _version(ref)
    if pairs:
        version = labels.set_tags(group, number, _pairs(pairs, "tag"))
    for key in remove or []:
        version = labels.delete_tag(group, number, key)
    if json_out:
        print_json(version.to_dict())
        return
    console.print(f"{version.name} tags: {version.tags or '-'}")


alias_app = typer.Typer(no_args_is_help=True, add_completion=False,
                        help="Aliases of a group (GROUP@production): point one at an Approved version, remove, list.")
app.add_typer(alias_app, name="alias")


@alias_app.command("set")
def alias_set(
    ref: str = typer.Argument(..., help="The Approved version the alias points at: GROUP:VERSION."),
    alias: str = typer.Argument(..., help="The alias name, e.g. production."),
    json_out: bool = _JSON,
) -> None:
    """Point ALIAS at a version (approver role; moved with compare-and-swap against a concurrent move)."""
    from loopml import registry

    group, number = _split(ref)
    before = registry.get_group(group).aliases.get(alias)
    registry.set_alias(group, alias, number, expected=before)
    if json_out:
        print_json({"group": group, "alias": alias, "version": number, "previous": before})
        return
    console.print(f"{group}@{alias} → {group}:{number}" + (f" (was {group}:{before})" if before else ""))


@alias_app.command("delete")
def alias_delete(group: str = typer.Argument(..., help="The model group."),
                 alias: str = typer.Argument(..., help="The alias to remove."), json_out: bool = _JSON) -> None:
    """Remove an alias (approver role)."""
    from loopml.registry import labels

    pointed = labels.delete_alias(group, alias)
    if json_out:
        print_json({"group": group, "alias": alias, "version": None, "previous": pointed})
        return
    console.print(f"removed {group}@{alias} (it pointed at {group}:{pointed})")


@alias_app.command("list")
def alias_list(group: str = typer.Argument(..., help="The model group."), json_out: bool = _JSON) -> None:
    """The aliases of a group and the versions they point at."""
    from loopml import registry

    found = registry.get_group(group).aliases
    if json_out:
        print_json(found)
        return
    for alias, number in sorted(found.items()):
        console.print(f"{group}@{alias} → {group}:{number}")
    if not found:
        console.print(f"{group} has no aliases")


@app.command("card")
def card(
    ref: str = _REF,
    fmt: str = typer.Option("md", "--format", "-f", help="md, html or json"),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file instead of the screen."),
    intended_use: str = typer.Option(None, help="Set the intended use."),
    limitations: str = typer.Option(None, help="Set the limitations."),
    ethical_considerations: str = typer.Option(None, help="Set the ethical considerations."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON (the same as --format json)."),
) -> None:
    """Print (or edit) the model card: user-written sections plus metrics, evaluation, data, lineage, approvals."""
    from loopml import registry
    from loopml.core import userfiles

    if output:
        userfiles.output_file(output, "model card file")
    group, number = _split(ref)
    edits = {"intended_use": intended_use, "limitations": limitations, "ethical_considerations": ethical_considerations}
    if any(v is not None for v in edits.values()):
        registry.update_card(group, number, **{k: v for k, v in edits.items() if v is not None})
    text = registry.render_card(registry.card(group, number), "json" if json_out else fmt)
    if output:
        userfiles.write_text(output, text, "model card file")
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
    json_out: bool = _JSON,
) -> None:
    """Show or change a group's governance settings (changing needs admin; audited)."""
    from loopml import registry

    if allow_self_approval is None and auto_approve is None:
        found = registry.get_group(group)
    else:
        found = registry.set_group_settings(group, allow_self_approval=allow_self_approval, auto_approve=auto_approve)
    if json_out:
        print_json({"group": found.name, "settings": found.settings})
        return
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
    tree = Tree(line(bold(model['name']), "  ", styled(model['status']), f"  {model['flavor']}  {model['digest']}"))
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
