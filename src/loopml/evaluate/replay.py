"""Replay an endpoint's captured traffic through a challenger, offline, and compare it with the champion.

:func:`replay` reads the requests the endpoint captured in a window, decodes each one as the model server
would (:func:`loopml.serve.decode_request` and the signature check) for the champion it served *and* for the
challenger — a request the challenger's signature refuses is a payload failure, never a crash — and scores
both models in batch, away from live traffic. Where ground truth arrived (``loopml endpoint ground-truth``) the
rows are evaluated with :func:`loopml.evaluate.evaluate`: the gate's metrics, paired-bootstrap intervals,
slices and bias, on exactly those rows. Every replayed row also gives agreement, the shift between the two
prediction distributions and per-row latency. The report is stored (JSON and HTML) and linked from both
versions by a ``model.replay`` audit event; ``replay.*`` rules of a :class:`~loopml.evaluate.Gate` check it.
"""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from loopml.core import audit, clock, context
from loopml.errors import LoopmlError, NotFoundError, ValidationError

LABEL = "__label__"
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_window(text: str | float | timedelta) -> timedelta:
    """``7d``, ``24h``, ``90m``, ``3600s``, ``2w`` or a number of seconds."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _WINDOW.match(str(text))
        if not match:
            raise ValidationError(f"window {text!r} is not a duration; write it as 7d, 24h, 90m or 3600s")
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if seconds <= 0:
        raise ValidationError(f"window {text!r} must be longer than 0 seconds")
    return timedelta(seconds=seconds)


def replay(endpoint: str, challenger: str, *, window: str | float | timedelta = "7d", end: datetime | None = None,
           champion: str | None = None, slices: tuple[str, ...] = (), sensitive: tuple[str, ...] = (),
           bootstrap: int = 200, seed: int = 0, rules: list[str] | None = None, latency_rows: int = 200,
           save: bool = True) -> dict[str, Any]:
    """Replay ``endpoint``'s captured requests of the last ``window`` through ``challenger``.

    Args:
        endpoint: the endpoint whose capture is read.
        challenger: the version to try (``churn:4``).
        window: how far back from ``end`` (``7d``, ``24h``…).
        end: the window's end (default: now).
        champion: the version to compare with (default: the model the endpoint's primary variant serves).
        slices, sensitive: as for :func:`loopml.evaluate.evaluate` (columns of the requests).
        bootstrap: paired-bootstrap replicates.
        seed: the bootstrap's seed.
        rules: gate rules checked on the result (``replay.roc_auc >= replay.champion.roc_auc``…).
        latency_rows: rows scored one at a time per model to measure per-row latency.
        save: store the JSON and HTML report and link it from both versions.

    Returns:
        The report as a JSON-ready dict (``summary``, ``evaluation``, ``failures``, ``latency``, ``gate``,
        ``json_digest``/``html_digest`` when saved).

    Raises:
        ValidationError: a bad window, or nothing captured in it.
        NotFoundError: no such endpoint or version.
    """
    from loopml import registry, serve

    span = parse_window(window)
    stop = clock.as_utc(end) if end else clock.now()
    start = stop - span
    champ = registry.resolve(champion or _served(endpoint))
    chall = registry.resolve(challenger)
    records = _records(endpoint, start, stop)
    if not records:
        raise ValidationError(f"endpoint {endpoint} captured no request between {start:%Y-%m-%d %H:%M} and "
                              f"{stop:%Y-%m-%d %H:%M} UTC; widen --window or turn capture on (capture_percent)")
    champ_cols = serve.parse_signature(champ.signature or {})
    chall_cols = serve.parse_signature(chall.signature or {})
    decoded = _decode_all(records, champ_cols, chall_cols)
    champion_model, challenger_model = registry.load_model(champ), registry.load_model(chall)
    report = _compare(decoded, champion_model, challenger_model, endpoint=endpoint, slices=slices,
                      sensitive=sensitive, bootstrap=bootstrap, seed=seed, latency_rows=latency_rows)
    report.update(endpoint=endpoint, champion=champ.name, challenger=chall.name, window={
        "start": start.isoformat(), "end": stop.isoformat(), "seconds": span.total_seconds()},
        records=len(records))
    if rules:
        from loopml.evaluate.gate import Gate

        verdict = Gate.from_rules(rules).evaluate(_evaluation(report), replay=report)
        report["gate"] = verdict.model_dump()
    if save:
        _save(report)
    return report


def _served(endpoint: str) -> str:
    from loopml import serve

    variants = [v for v in serve.get(endpoint).variants if not v.get("shadow")]
    if not variants:
        raise NotFoundError(f"endpoint {endpoint} serves no model; pass champion=GROUP:VERSION")
    return str(variants[0]["model"])


def _records(endpoint: str, start: datetime, stop: datetime) -> list[dict[str, Any]]:
    from loopml import serve
    from loopml.serve import capture

    if stop > clock.now() - timedelta(minutes=5):
        try:
            serve.flush_capture(endpoint)
        except LoopmlError:
            pass  # not running here: what was uploaded is what there is
    out = []
    for record in capture.read_records(endpoint, start=start, end=stop):
        at = capture.inference_time(record)
        if at is not None and start <= at < stop:
            out.append(record)
    return out


def _body(record: dict[str, Any]) -> tuple[bytes, str | None]:
    payload = record["captureData"]["endpointInput"]
    data = payload.get("data", "")
    raw = base64.b64decode(data) if payload.get("encoding") == "BASE64" else str(data).encode()
    return raw, payload.get("observedContentType")


def _decode_one(body: bytes, kind: str | None, columns: tuple[Any, ...]) -> pd.DataFrame:
    from loopml import serve

    frame = serve.decode_request(body, kind, columns)
    checked, errors = serve.check_frame(frame, columns)
    if errors:
        raise ValidationError(f"{len(errors)} value(s) the signature refuses, e.g. {errors[0]}")
    return checked


def _decode_all(records: list[dict[str, Any]], champ_cols: tuple[Any, ...],
                chall_cols: tuple[Any, ...]) -> dict[str, Any]:
    """Rows both models accept (with their merge ids), and the requests each refused, with why."""
    champ_frames, chall_frames, ids = [], [], []
    failures: dict[str, list[dict[str, Any]]] = {"champion": [], "challenger": []}
    for record in records:
        meta = record.get("eventMetadata", {})
        base = str(meta.get("inferenceId") or meta.get("eventId", ""))
        try:
            body, kind = _body(record)
            theirs = _decode_one(body, kind, champ_cols)
        except (LoopmlError, KeyError, ValueError, TypeError) as exc:
            failures["champion"].append({"eventId": meta.get("eventId"), "error": str(exc)[:300]})
            continue
        try:
            ours = _decode_one(body, kind, chall_cols)
        except (LoopmlError, KeyError, ValueError, TypeError) as exc:
            failures["challenger"].append({"eventId": meta.get("eventId"), "error": str(exc)[:300]})
            continue
        if len(ours) != len(theirs):
            failures["challenger"].append({"eventId": meta.get("eventId"), "error": "a different number of rows"})
            continue
        champ_frames.append(theirs)
        chall_frames.append(ours)
        ids += [base if i == 0 else f"{base}-{i}" for i in range(len(ours))]
    join = pd.concat if champ_frames else (lambda frames, **_: pd.DataFrame())
    return {"champion": join(champ_frames, ignore_index=True), "challenger": join(chall_frames, ignore_index=True),
            "ids": ids, "failures": failures}


def _compare(decoded: dict[str, Any], champion: Any, challenger: Any, *, endpoint: str, slices: tuple[str, ...],
             sensitive: tuple[str, ...], bootstrap: int, seed: int, latency_rows: int) -> dict[str, Any]:
    from loopml.serve import capture

    champ_x, chall_x, ids = decoded["champion"], decoded["challenger"], decoded["ids"]
    failures = decoded["failures"]
    attempted = len(ids) + len(failures["challenger"])
    summary: dict[str, Any] = {"rows": len(ids), "failures": len(failures["challenger"]),
                               "failure_rate": len(failures["challenger"]) / attempted if attempted else None,
                               "champion_refused": len(failures["champion"])}
    report: dict[str, Any] = {"summary": summary, "failures": {k: v[:20] for k, v in failures.items()}}
    if not ids:
        summary.update(agreement=None, shift=None, labelled_rows=0)
        report.update(evaluation=None, latency={}, distribution={})
        return report
    champ_pred, chall_pred = np.asarray(champion.predict(champ_x)), np.asarray(challenger.predict(chall_x))
    summary["agreement"] = float(np.mean(_text(champ_pred) == _text(chall_pred)))
    report["distribution"] = _distribution(champion, challenger, champ_x, chall_x, champ_pred, chall_pred)
    summary["shift"] = report["distribution"]["ks"]
    report["latency"] = {"challenger": _latency(challenger, chall_x, latency_rows),
                         "champion": _latency(champion, champ_x, latency_rows)}
    summary["latency_p99_ms"] = report["latency"]["challenger"]["p99_ms"]
    summary["champion_latency_p99_ms"] = report["latency"]["champion"]["p99_ms"]
    labels = capture.read_ground_truth(endpoint)
    report["evaluation"] = _labelled(labels, ids, champ_x, chall_x, champion, challenger, champ_pred,
                                     slices=slices, sensitive=sensitive, bootstrap=bootstrap, seed=seed)
    summary["labelled_rows"] = (report["evaluation"] or {}).get("n_rows", 0)
    return report


def _labelled(labels: dict[str, str], ids: list[str], champ_x: pd.DataFrame, chall_x: pd.DataFrame,
              champion: Any, challenger: Any, champ_pred: np.ndarray, **options: Any) -> dict[str, Any] | None:
    from loopml.evaluate import evaluate

    keep = [i for i, row_id in enumerate(ids) if row_id in labels]
    if not keep:
        return None
    truth = [_label(labels[ids[i]], champ_pred[i]) for i in keep]
    same_columns = list(champ_x.columns) == list(chall_x.columns)
    frame = chall_x.iloc[keep].reset_index(drop=True).assign(**{LABEL: truth})
    found = evaluate(challenger, frame, label=LABEL, incumbent=champion if same_columns else None,
                     slices=options["slices"], sensitive=options["sensitive"], shap_sample=0,
                     bootstrap=options["bootstrap"], seed=options["seed"])
    out: dict[str, Any] = found.to_dict()
    if not same_columns:
        theirs = evaluate(champion, champ_x.iloc[keep].reset_index(drop=True).assign(**{LABEL: truth}), label=LABEL,
                          shap_sample=0, bootstrap=0)
        out["champion_alone"] = {"metrics": theirs.to_dict()["metrics"],
                                 "reason": "the two signatures differ, so no paired interval"}
    return out


def _label(text: str, like: Any) -> Any:
    """A label read back as text, in the type of the model's predictions."""
    if isinstance(like, np.bool_ | bool):
        return text.strip().lower() in ("1", "true", "yes")
    if isinstance(like, np.integer | int):
        return int(float(text))
    if isinstance(like, np.floating | float):
        return float(text)
    return text


def _text(values: np.ndarray) -> np.ndarray:
    return np.asarray([str(v.item() if hasattr(v, "item") else v) for v in values])


def _distribution(champion: Any, challenger: Any, champ_x: pd.DataFrame, chall_x: pd.DataFrame,
                  champ_pred: np.ndarray, chall_pred: np.ndarray) -> dict[str, Any]:
    """How far apart the two models' outputs are: the KS statistic of scores (positive-class probability,
    else the prediction) and each model's share of each predicted value."""
    def scores(model: Any, x: pd.DataFrame, pred: np.ndarray) -> np.ndarray:
        if hasattr(model, "predict_proba"):
            try:
                return np.asarray(model.predict_proba(x))[:, -1].astype(float)
            except (LoopmlError, ValueError, TypeError, IndexError):
                pass
        try:
            return pred.astype(float)
        except (ValueError, TypeError):
            return np.unique(_text(pred), return_inverse=True)[1].astype(float)

    a, b = scores(champion, champ_x, champ_pred), scores(challenger, chall_x, chall_pred)
    grid = np.sort(np.concatenate([a, b]))
    ks = float(np.max(np.abs(np.searchsorted(np.sort(a), grid, side="right") / len(a)
                             - np.searchsorted(np.sort(b), grid, side="right") / len(b))))
    shares = {name: {str(k): float(v) / len(p) for k, v in zip(*np.unique(_text(p), return_counts=True), strict=True)}
              for name, p in (("champion", champ_pred), ("challenger", chall_pred))}
    return {"ks": ks, "champion_mean_score": float(a.mean()), "challenger_mean_score": float(b.mean()),
            "shares": shares}


def _latency(model: Any, frame: pd.DataFrame, rows: int) -> dict[str, Any]:
    """Per-row latency: ``rows`` rows scored one at a time (p50, p99), and the whole batch per row."""
    started = time.perf_counter()
    model.predict(frame)
    batch = (time.perf_counter() - started) * 1000 / max(len(frame), 1)
    singles = []
    for i in range(min(rows, len(frame))):
        t = time.perf_counter()
        model.predict(frame.iloc[[i]])
        singles.append((time.perf_counter() - t) * 1000)
    if not singles:
        return {"p50_ms": None, "p99_ms": None, "batch_ms_per_row": batch, "rows": 0}
    return {"p50_ms": float(np.percentile(singles, 50)), "p99_ms": float(np.percentile(singles, 99)),
            "batch_ms_per_row": batch, "rows": len(singles)}


def _evaluation(report: dict[str, Any]) -> Any:
    from loopml.evaluate.report import EvaluationReport

    doc = report.get("evaluation")
    if not doc:
        return None
    known = {k: v for k, v in doc.items() if k in EvaluationReport.model_fields}
    return EvaluationReport.model_validate(known)


def _save(report: dict[str, Any]) -> None:
    from loopml.core import integrity
    from loopml.evaluate.replay_html import render_replay

    store = context.get_artifacts()
    body = json.dumps(report, allow_nan=False, default=str, sort_keys=True).encode()
    json_ref = store.put_bytes(body)
    html_ref = store.put_bytes(render_replay(report).encode())
    report.update(json_digest=json_ref.sha256, html_digest=html_ref.sha256)
    actor = context.current_user()
    passed = (report.get("gate") or {}).get("passed")
    details = {"endpoint": report["endpoint"], "champion": report["champion"], "challenger": report["challenger"],
               "json": json_ref.sha256, "html": html_ref.sha256, "window": report["window"], "passed": passed,
               "summary": report["summary"]}
    with context.get_db().write() as conn:
        integrity.record_artifact(conn, json_ref, media_type="application/json", actor=actor)
        integrity.record_artifact(conn, html_ref, media_type="text/html", actor=actor)
        for ref in (report["champion"], report["challenger"]):
            group, _, number = ref.rpartition(":")
            audit.append(conn, actor=actor, action="model.replay", resource=f"model:{group}/{number}",
                         details={**details, "role": "champion" if ref == report["champion"] else "challenger"})
        audit.append(conn, actor=actor, action="endpoint.replay", resource=f"endpoint:{report['endpoint']}",
                     details=details)


def replays(resource: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Stored replays linked from ``model:GROUP/VERSION`` or ``endpoint:NAME``, newest first."""
    action = "endpoint.replay" if resource.startswith("endpoint:") else "model.replay"
    with context.get_db().read() as conn:
        events = audit.events(conn, resource=resource, action=action, limit=limit)
    return [{**e.details, "at": e.ts, "by": e.actor} for e in events if e.resource == resource]


def load_replay(digest: str) -> dict[str, Any]:
    """A stored replay report (its JSON digest)."""
    loaded: dict[str, Any] = json.loads(context.get_artifacts().get_bytes(digest))
    return loaded


def replay_challenger(endpoint: str, challenger: str, *, rules: list[str], window: str = "7d",
                      **options: Any) -> dict[str, Any]:
    """For a pipeline step: replay, apply ``rules``, and return ``{"passed", "report", "html", "rules",
    "summary"}`` (JSON-ready), so ``when(verdict["passed"])`` can gate a registration or a rollout."""
    report = replay(endpoint, challenger, window=window, rules=rules, **options)
    gate = report["gate"]
    return {"passed": gate["passed"], "report": report["json_digest"], "html": report["html_digest"],
            "rules": gate["rules"], "summary": report["summary"], "champion": report["champion"]}
