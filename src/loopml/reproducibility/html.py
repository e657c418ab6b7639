"""A reproduction as HTML: the verdict, the first difference and its cause, and every step compared."""

from __future__ import annotations

from typing import Any

from loopml.core import fragments as f


def render_reproduction(found: dict[str, Any]) -> str:
    """The whole comparison of :func:`loopml.reproduce.reproduce` (its ``to_dict()``)."""
    cause = found.get("cause") or {}
    agreement = found.get("metrics_agreement") or {}
    head = f.dl([
        ("outcome", f.status(found["outcome"])),
        ("summary", f.value(found["summary"])), ("recorded digest", f.short(found["recorded_digest"])),
        ("re-made digest", f.short(found.get("reproduced_digest"))), ("re-ran", f.value(found["kind"])),
        ("likely cause", f.value(cause.get("text")) if cause else ""),
        ("metrics agree (bootstrap CI)", f.value(agreement.get("agree")) + " " + f.value(agreement.get("reason"))
         if agreement else ""),
        ("took", f.value(f"{found.get('seconds', 0):.1f} s"))])
    rows = [[f.cell(s["step"]), f.cell(f.status("same" if s["outcome"] != "different" else "different")
                                       + ("" if s["outcome"] != "same-but-ids" else " (ids differ)"), raw=True),
             f.cell(f.short(s.get("recorded")), raw=True), f.cell(f.short(s.get("reproduced")), raw=True),
             f.cell("; ".join(s.get("what") or []) or None)] for s in found.get("steps") or []]
    env = found.get("checks", {}).get("environment") or []
    env_rows = [[f.cell(d["kind"]), f.cell(d["name"]), f.cell(d.get("recorded")), f.cell(d.get("now"))] for d in env]
    return (head + f.section("Steps", f.table(["step", "outcome", "recorded", "re-run", "what differs"], rows,
                                             scroll=True))
            + f.section("Environment differences now", f.table(["kind", "name", "recorded", "now"], env_rows)
                        if env_rows else ""))


def render_summary(group: str, version: int, last: dict[str, Any] | None,
                   environment: dict[str, Any] | None) -> str:
    """The model version page's section: the last reproduction (from the audit log) and what was recorded."""
    command = f"<code>loopml reproduce {group}:{version}</code>"
    if last:
        outcome = f.status(last.get("outcome"))
        verdict = f.dl([("last reproduction", outcome + " " + f.value(last.get("summary"))),
                        ("cause", f.value(last.get("cause")) if last.get("cause") else ""),
                        ("re-made digest", f.short(last.get("reproduced_digest"))),
                        ("when", f"{f.when(last.get('at'))} by {f.value(last.get('by'))}"),
                        ("run again", command)])
    else:
        verdict = f"<p class='muted'>Not reproduced yet. Run {command} to re-make it in a fresh home.</p>"
    recorded = ""
    if environment:
        recorded = f.section("Recorded for reproduction", f.dl([
            ("python", f.value(environment.get("python"))), ("lock", f.short(environment.get("lock_sha256"))),
            ("packages", f.value(environment.get("packages"))), ("threads", f.pairs(environment.get("threads"))),
            ("seeds", f.pairs(environment.get("seeds")))]))
    return verdict + recorded
