"""Compare a re-run with the record: step by step, then the model digest; name the first difference and its
likely cause (an input that no longer resolves or changed, code that changed, a package version that differs
now, or a step that is not deterministic)."""

from __future__ import annotations

from typing import Any

from loopml.reproducibility.plan import ID_PATTERN

#: The order in which causes are believed when several could explain a difference.
CAUSES = ("input", "code", "data", "package", "nondeterministic")


def compare_steps(plan: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per step: ``same``, ``same-but-ids`` or ``different`` with what differs and why."""
    if plan["kind"] == "training":
        return [_job_row(plan, result)]
    now = {s["step"]: s for s in result.get("steps") or []}
    recorded_runs, new_runs = plan["execution"]["runs"], result.get("runs") or {}
    rows = []
    for old in plan["execution"]["steps"]:
        new = now.get(old["step"], {})
        row = {"step": old["step"], "recorded": old["output"], "reproduced": new.get("output"),
               "status": new.get("status"), "code_changed": bool(new) and new.get("code_hash") != old["code_hash"]}
        if old["status"] == "SKIPPED" and new.get("status") == "SKIPPED":
            row["outcome"] = "same"
        elif old["output"] and old["output"] == new.get("output"):
            row["outcome"] = "same"
        else:
            row.update(_value_difference(old.get("value"), new.get("value"), recorded_runs, new_runs))
        rows.append(row)
    return rows


def _job_row(plan: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    run = plan["run"]
    same = bool(result.get("digest")) and result.get("digest") == run.get("model_digest")
    return {"step": "training job", "recorded": run.get("model_digest"), "reproduced": result.get("digest"),
            "status": result.get("status"), "outcome": "same" if same else "different",
            "what": [] if same else ["model digest"],
            "code_changed": bool(result.get("code", {}).get("script_sha256"))
            and result["code"]["script_sha256"] != run["code"].get("script_sha256")}


def _value_difference(old: Any, new: Any, recorded_runs: dict[str, Any], new_runs: dict[str, Any]) -> dict[str, Any]:
    if old is None or new is None:
        return {"outcome": "different", "what": ["output bytes"]}
    what: list[str] = []
    _walk(old, new, "", what, recorded_runs, new_runs)
    if not what:
        return {"outcome": "same-but-ids", "what": []}
    return {"outcome": "different", "what": what}


def _walk(old: Any, new: Any, path: str, what: list[str], recorded_runs: dict[str, Any],
          new_runs: dict[str, Any]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(old.get(key), new.get(key), f"{path}.{key}" if path else key, what, recorded_runs, new_runs)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk(a, b, f"{path}[{i}]", what, recorded_runs, new_runs)
    elif isinstance(old, str) and isinstance(new, str) and ID_PATTERN.match(old) and ID_PATTERN.match(new):
        if old in recorded_runs and recorded_runs[old] != new_runs.get(new):
            what.append(f"{path}: the model of run {old} ({_short(recorded_runs[old])}) differs from the re-run's "
                        f"({_short(new_runs.get(new))})")
    elif old != new:
        what.append(f"{path}: recorded {_short(old)}, re-run {_short(new)}")


def _short(value: Any) -> str:
    text = str(value)
    return text[:19] + "…" if text.startswith("sha256:") else (text if len(text) <= 60 else text[:57] + "…")


def verdict(plan: dict[str, Any], result: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """``identical`` or ``different``, with the first difference and its likely cause."""
    if result.get("digest") and result["digest"] == plan["digest"]:
        return {"outcome": "identical", "summary": f"identical: {plan['model']} re-made byte for byte "
                f"({plan['digest'][:19]}…)", "cause": None, "first_difference": None}
    first = next((s for s in steps if s["outcome"] == "different"), None)
    cause = _cause(plan, first, result)
    where = first["step"] if first else "the model"
    detail = "; ".join((first or {}).get("what") or []) or "the model's bytes"
    if not result.get("digest"):
        detail = f"the re-run made no model ({result.get('status')}: {result.get('error') or 'no version registered'})"
    return {"outcome": "different", "first_difference": {"step": where, "detail": detail},
            "cause": cause, "summary": f"different: first at {where} ({detail}); likely cause: {cause['text']}"}


def _cause(plan: dict[str, Any], first: dict[str, Any] | None, result: dict[str, Any]) -> dict[str, Any]:
    checks = plan["checks"]
    broken = [i for i in checks["inputs"] if i["status"] != "ok"]
    if broken:
        i = broken[0]
        text = (f"the input {i['input']} ({i.get('source')}) no longer resolves: {i['sha256'][:19]}… is not in the "
                "artifact store" if i["status"] == "missing" else
                f"the input {i['input']} ({i.get('source')}) changed: recorded {i['sha256'][:19]}…, now "
                f"{str(i.get('now'))[:19]}…")
        return {"kind": "input", "text": text, "inputs": broken}
    changed = [c for c in checks["code"] if c["what"] != "commit"]
    if (first and first.get("code_changed")) or changed:
        files = [c["file"] for c in changed]
        step = f"the code of step {first['step']} changed" if first and first.get("code_changed") else "code changed"
        return {"kind": "code", "text": f"{step}{' (' + ', '.join(files[:5]) + ')' if files else ''}",
                "files": checks["code"]}
    data = [w for w in (first or {}).get("what", []) if "sha256" in w and "model of run" not in w]
    if data and first is not None:  # data comes from first's record, so first is there
        return {"kind": "data", "text": f"the data step {first['step']} produced differs from the record ({data[0]}); "
                "a file or table it reads changed", "detail": data}
    packages = [d for d in _now_vs_recorded(plan, result) if d["kind"] in ("package", "python")]
    if packages:
        named = ", ".join(f"{d['name']} {d['recorded']} → {d['now']}" for d in packages[:5])
        return {"kind": "package", "text": f"package versions differ now: {named}", "packages": packages}
    step = first["step"] if first else "the training job"
    settings = [d for d in _now_vs_recorded(plan, result) if d["kind"] in ("threads", "seeds")]
    hint = (f"; thread/seed settings differ: {', '.join(d['name'] for d in settings)}" if settings else "")
    return {"kind": "nondeterministic", "step": step, "text": f"step {step} is not deterministic: the same code, "
            f"inputs and packages gave different bytes{hint}", "settings": settings,
            "metrics": result.get("metrics_agreement")}


def _now_vs_recorded(plan: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    """Environment differences between the record and the process the re-run ran in."""
    from loopml.core.environment import differences

    recorded, ran = plan.get("environment") or {}, result.get("environment") or {}
    return differences(recorded, ran) if recorded and ran else list(plan["checks"]["environment"])
