"""``loopml cluster``: the Ray cluster named by LOOPML_CLUSTER (or ``cluster`` in loopml.toml)."""

from __future__ import annotations

import typer

from loopml.cli._render import bold, console, line, print_json, print_table

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("status")
def status(json_out: bool = typer.Option(False, "--json", help="Print the status as JSON.")) -> None:
    """Show the cluster's nodes, their resources and which loopml work runs on each.

    Exit 2 with one line when no cluster is set, Ray is not installed, the cluster cannot be reached or
    its Ray version differs from this machine's.
    """
    from loopml.core.cluster import describe
    from loopml.core.work import cluster_status

    found = cluster_status()
    if json_out:
        print_json(found)
        return
    from rich.table import Table

    console.print(line("cluster ", bold(found['address']), f" (Ray {found['ray_version']}), "
                       f"{len(found['nodes'])} node(s)"))
    table = Table(show_header=True, header_style="bold", box=None)
    for column in ("node", "address", "resources", "loopml work running"):
        table.add_column(column)
    for node in found["nodes"]:
        work = "\n".join(f"{w['kind']} {w['ref']}" for w in node["work"]) or "-"
        name = node["id"][:12] + (" (head)" if node["head"] else "")
        table.add_row(name, node["address"], describe(node["resources"]), work)
    print_table(table)
    for item in found["lost"]:
        console.print(f"lost {item['kind']} {item['ref']} (its node {item['node_ip']} is gone)")
