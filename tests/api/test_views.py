"""The HTML views and the chart route the web UI reads: each renders what the notebook shows, links to the
UI's pages, escapes stored text, and refuses what it should."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.ui.world import served_home

P = "/api/v1"
#: The module's world is a whole loop (pipelines, a training job, an endpoint): its first test may take a while.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):  # noqa: ANN001, ANN201
    from loopml.api import create_app

    for _home, ids in served_home(tmp_path_factory):
        with TestClient(create_app(), base_url="http://127.0.0.1") as client:
            client.headers["Authorization"] = f"Bearer {ids['vic']}"
            yield client, ids


def _charts(html: str) -> list[str]:
    return re.findall(r'class="lml-chart lml-(\w+)"', html)


def test_metric_keys_with_a_colon_have_a_history(world):
    client, ids = world
    trial = client.get(f"{P}/runs?parent_id={ids['tuning']}&limit=1").json()["items"][0]
    response = client.get(f"{P}/runs/{trial['id']}/metrics/validation:auc")
    assert response.status_code == 200, response.text  # 422 before: the key pattern refused ':'
    assert [p["value"] for p in response.json()["points"]] == [trial["metrics"]["validation:auc"]]
    assert client.get(f"{P}/runs/{trial['id']}/metrics/..hidden").status_code == 422


def test_the_run_view_charts_each_metric_over_steps(world):
    client, ids = world
    run = client.get(f"{P}/runs?q=name = 'sgd-alpha-0.001'&limit=1").json()["items"][0]
    html = client.get(f"{P}/runs/{run['id']}/view").json()["html"]
    assert _charts(html) == ["line", "line"]  # auc, and loss (train:loss with validation:loss)
    assert "validation:loss" in html and "null" not in html
    assert 'href="#/data/datasets/customers/1"' not in html or "customers@1" in html


def test_the_tuning_view_links_its_trials_and_draws_parallel_coordinates(world):
    client, ids = world
    html = client.get(f"{P}/runs/{ids['tuning']}/view").json()["html"]
    trials = client.get(f"{P}/runs?parent_id={ids['tuning']}").json()["items"]
    for trial in trials:
        assert f'href="#/runs/{trial["id"]}"' in html
    assert "parallel" in _charts(html) and "Trials (4)" in html


def test_the_execution_view_draws_the_dag_with_a_link_per_step(world):
    client, ids = world
    html = client.get(f"{P}/executions/{ids['execution']}/view").json()["html"]
    assert _charts(html) == ["graph", "bars"]
    for step in ("prepare", "build_features", "train", "gate", "register", "keep_champion"):
        assert f'href="#/executions/{ids["execution"]}?step={step}"' in html
    assert "e+" not in html  # durations are never in exponent form


def test_the_version_view_links_run_execution_and_data(world):
    client, ids = world
    html = client.get(f"{P}/models/churn/versions/2/view").json()["html"]
    assert f'href="#/executions/{ids["execution"]}"' in html
    assert re.search(r'href="#/runs/run_\w+"', html) and 'href="#/data/datasets/customers/2"' in html
    assert 'href="#/lineage/churn/2"' in html and "gate <span class='pass'>PASSED</span>" in html


def test_the_evaluation_view_is_the_report_with_the_gate_and_the_champion(world):
    client, ids = world
    body = client.get(f"{P}/models/churn/versions/2/evaluation").json()
    assert body["passed"] is True and body["champion"] == "churn:1" and body["digest"].startswith("sha256:")
    html = body["html"]
    for part in ("Gate:", "Champion vs challenger", "ROC curve", "Slices", "Bias", "95% interval"):
        assert part in html, part
    assert "<script" not in html and " style=" not in html  # the UI's CSP allows neither


def test_a_version_without_evaluation_answers_404_saying_so(world):
    client, _ = world
    response = client.get(f"{P}/models/churn/versions/3/evaluation")
    assert response.status_code == 404 and "no evaluation report" in response.json()["message"]


def test_the_lineage_view_links_every_node_it_can(world):
    client, ids = world
    html = client.get(f"{P}/models/churn/versions/1/lineage/view").json()["html"]
    assert 'href="#/data/datasets/customers/1"' in html and f'href="#/executions/{ids["first_execution"]}"' in html
    assert 'href="#/models/churn/1"' in html and "approved by ann" in html


def test_the_monitoring_view_lists_violations_per_feature(world):
    client, ids = world
    html = client.get(f"{P}/monitoring/executions/{ids['monitoring']}/view").json()["html"]
    assert "baseline_drift_check" in html and "support_calls" in html
    assert 'href="#/monitoring/schedules/churn-quality"' in html and 'href="#/endpoints/churn-live"' in html


def test_views_escape_stored_text(world):
    from loopml import train

    client, _ = world
    run = train.create_run("churn", name='<img src=x onerror="alert(1)">', params={"<b>": "</td><script>"})
    train.log_metrics(run.id, {"<svg onload=alert(1)>": 1.0}, step=0)
    train.log_metrics(run.id, {"<svg onload=alert(1)>": 2.0}, step=1)
    html = client.get(f"{P}/runs/{run.id}/view").json()["html"]
    assert "<img" not in html and "<script" not in html and "<svg onload" not in html and "&lt;svg" in html


def test_the_chart_route_draws_what_it_is_sent(world):
    client, _ = world
    body = {"charts": [
        {"kind": "bars", "title": "auc", "items": [{"label": "v1", "value": 0.8544, "href": "#/models/churn/1"},
                                                   {"label": "v2", "value": 0.8564}]},
        {"kind": "line", "series": [{"name": "p99", "points": [[1764324000, 12.5], [1764324060, None]]}],
         "x_time": True, "y_unit": "ms"},
        {"kind": "scatter", "x_label": "params.alpha", "y_label": "metrics.auc",
         "points": [{"x": 0.001, "y": 0.85, "label": "a"}, {"x": "l1", "y": 0.8, "label": "b"}]},
        {"kind": "parallel", "axes": ["a", "b"], "lines": [{"name": "r", "values": [1, "x"]}]},
        {"kind": "graph", "nodes": [{"id": "a", "label": "a"}, {"id": "b", "label": "b"}], "edges": [["a", "b"]]}]}
    svgs = client.post(f"{P}/charts", json=body).json()["svgs"]
    assert [re.search(r"lml-chart lml-(\w+)", s).group(1) for s in svgs] == ["bars", "line", "scatter", "parallel", "graph"]
    assert 'href="#/models/churn/1"' in svgs[0] and "axis starts at" in svgs[0]


@pytest.mark.parametrize("bad", [
    {"kind": "bars", "items": [{"label": "x", "value": 1, "href": "javascript:alert(1)"}]},
    {"kind": "bars", "items": [{"label": "x", "value": 1, "href": "https://evil.example/"}]},
    {"kind": "bars", "items": [{"label": "x", "value": "NaN"}]},
    {"kind": "line", "series": [{"name": "x", "points": [[1e300, 1]]}]},
    {"kind": "line", "series": [{"name": "x", "points": [[-5, 1]]}], "x_time": True},
    {"kind": "pie", "items": []},
    {"kind": "graph", "nodes": [{"id": "a", "label": "a", "fill": "red;background:url(x)"}], "edges": []},
])
def test_the_chart_route_refuses_bad_figures(world, bad):
    client, _ = world
    response = client.post(f"{P}/charts", json={"charts": [bad]})
    assert response.status_code == 422, response.text


def test_ui_answers_at_the_address_the_readme_prints(world):
    client, _ = world
    response = client.get("/ui", headers={"Authorization": ""}, follow_redirects=False)
    assert response.status_code in (302, 307) and response.headers["location"] == "/ui/index.html"
    css = client.get("/ui/fragments.css", headers={"Authorization": ""})
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css") and ".lml" in css.text


def _svgs(html: str) -> list[str]:
    """The charts of a fragment, links removed."""
    return re.findall(r"<svg.*?</svg>", re.sub(r'<a href="[^"]*">|</a>', "", html), flags=re.S)


def test_notebooks_show_what_the_ui_shows(world):
    """Each object's ``_repr_html_`` has the UI's charts (without the links), and the stylesheet."""
    from loopml import monitor, pipelines, registry, train
    from loopml.evaluate import EvaluationReport
    from loopml.evaluate.records import report_for

    client, ids = world
    version = registry.get_version("churn", 2)
    report = EvaluationReport.model_validate({k: v for k, v in report_for("churn:2").items()
                                              if k in EvaluationReport.model_fields})
    shown = {
        f"/runs/{ids['tuning']}/view": train.get_run(ids["tuning"]),
        f"/executions/{ids['execution']}/view": pipelines.get_execution(ids["execution"]),
        "/models/churn/versions/2/view": version,
        "/models/churn/versions/2/lineage/view": registry.lineage("churn", 2),
        f"/monitoring/executions/{ids['monitoring']}/view": monitor.get_execution(ids["monitoring"]),
    }
    for path, obj in shown.items():
        notebook = obj._repr_html_()
        assert notebook.startswith('<div class="lml"><style>') and ".lml table" in notebook
        ui = client.get(P + path).json()["html"]
        assert _charts(notebook) == _charts(ui) and _charts(ui), path
        assert _svgs(ui) == _svgs(notebook), path  # the same charts, drawn by the same code
    page = report._repr_html_()
    assert _charts(page) == [c for c in _charts(client.get(f"{P}/models/churn/versions/2/evaluation").json()["html"])]


def test_runs_sort_and_leave_out_trials_over_the_api(world):
    client, ids = world
    found = client.get(f"{P}/runs", params={"top_level": "true", "order_by": "metrics.validation:auc DESC",
                                            "experiment": "churn"}).json()["items"]
    assert ids["tuning"] in [r["id"] for r in found] and not any(r["parent_id"] for r in found)
    aucs = [r["metrics"]["validation:auc"] for r in found if "validation:auc" in r["metrics"]]
    assert aucs == sorted(aucs, reverse=True) and len(aucs) >= 3
    assert client.get(f"{P}/runs", params={"order_by": "nonsense"}).status_code == 422


def test_the_audit_log_pages_both_ways(world):
    client, _ = world
    newest = client.get(f"{P}/audit?limit=5").json()
    oldest = client.get(f"{P}/audit?limit=5&order=oldest").json()
    assert [e["seq"] for e in oldest["items"]] == [1, 2, 3, 4, 5] and newest["items"][0]["seq"] > 5
    assert newest["next_offset"] == 5


def test_a_run_lists_its_artifacts_and_previews_them_by_digest(world):
    client, ids = world
    files = {f["path"]: f for f in client.get(f"{P}/runs/{ids['job']}/artifacts").json()["items"]}
    assert {"input/train/data.parquet", "logs/job.log"} <= set(files) and any(p.startswith("model/") for p in files)
    table = client.get(f"{P}/runs/{ids['job']}/artifacts/{files['input/train/data.parquet']['digest']}").json()
    assert table["kind"] == "table" and table["total_rows"] > 0 and len(table["rows"]) <= 50
    assert any(c.startswith("churned") for c in table["columns"])
    logs = client.get(f"{P}/runs/{ids['job']}/artifacts/{files['logs/job.log']['digest']}").json()
    assert logs["kind"] == "text"


def test_a_version_previews_only_its_own_files(world):
    client, ids = world
    files = {f["path"]: f for f in client.get(f"{P}/models/churn/versions/2/artifacts").json()["items"]}
    assert {"evaluation/report.json", "evaluation/report.html"} <= set(files)
    report = client.get(f"{P}/models/churn/versions/2/artifacts/{files['evaluation/report.json']['digest']}").json()
    assert report["kind"] == "json" and report["json"]["gate"]["passed"] is True
    html = client.get(f"{P}/models/churn/versions/2/artifacts/{files['evaluation/report.html']['digest']}").json()
    assert html["kind"] == "text" and html["text"].startswith("<!DOCTYPE html>")  # shown as text, never rendered
    other = client.get(f"{P}/runs/{ids['job']}/artifacts").json()["items"][0]["digest"]
    refused = client.get(f"{P}/models/churn/versions/2/artifacts/{other}")
    assert refused.status_code == 404 and "has no artifact" in refused.json()["message"]
    assert client.get(f"{P}/models/churn/versions/2/artifacts/..%2f..%2fetc%2fpasswd").status_code in (400, 404, 422)


def test_datapoints_and_violations_per_feature(world):
    client, ids = world
    points = client.get(f"{P}/datapoints", params={"source": "endpoint:churn-live",
                                                   "metric": ["feature_baseline_drift_support_calls", "violations"]})
    series = points.json()["series"]
    assert series["feature_baseline_drift_support_calls"][-1][1] == 0.35 and len(series["violations"]) == 4
    history = client.get(f"{P}/monitoring/schedules/churn-quality/violations").json()
    assert len(history["executions"]) == 4 and history["executions"][-1]["id"] == ids["monitoring"]
    assert "support_calls" in history["features"] and len(history["drift"]["support_calls"]) == 4
    assert client.get(f"{P}/datapoints?source=file:/etc/passwd&metric=x").status_code == 422


def test_tags_and_aliases_are_editable_by_the_right_roles(world):
    client, ids = world
    as_dana = {"Authorization": f"Bearer {ids['dana']}"}
    as_ann = {"Authorization": f"Bearer {ids['ann']}"}
    put = client.put(f"{P}/models/churn/versions/1/tags/team", json={"value": "growth"}, headers=as_dana)
    assert put.status_code == 200 and put.json()["tags"]["team"] == "growth"
    assert client.put(f"{P}/models/churn/versions/1/tags/team", json={"value": "x"}).status_code == 403  # viewer
    assert client.delete(f"{P}/models/churn/versions/1/tags/team", headers=as_dana).json()["tags"] == {}
    assert client.put(f"{P}/models/churn/aliases/production", json={"version": 1}, headers=as_ann).status_code == 200
    assert client.get(f"{P}/models/churn").json()["aliases"] == {"production": 1}
    assert client.delete(f"{P}/models/churn/aliases/production", headers=as_dana).status_code == 403
    assert client.delete(f"{P}/models/churn/aliases/production", headers=as_ann).json()["previous"] == 1
    assert client.get(f"{P}/models/churn").json()["aliases"] == {}
    assert client.delete(f"{P}/models/churn/aliases/production", headers=as_ann).status_code == 404


def test_a_running_endpoint_has_a_history_of_latency_throughput_and_errors(world):
    from datetime import datetime, timedelta

    from loopml.monitor import metric_alarms

    client, ids = world
    metrics = ["invocations", "error_rate", "p50_latency_ms", "p99_latency_ms"]
    series = client.get(f"{P}/datapoints", params={"source": "endpoint:churn-live", "metric": metrics}).json()["series"]
    assert [v for _, v in series["invocations"]] == [4, 6, 8, 10, 12]
    assert all(v > 0 for _, v in series["p50_latency_ms"]) and all(v == 0 for _, v in series["error_rate"])
    live = client.get(f"{P}/endpoints/churn-live").json()["live"]["variants"]
    assert live[0]["requests"] == 40 and live[0]["p99_ms"] > 0  # the per-variant figures the UI shows
    last = datetime.fromisoformat(ids["sampled_at"])
    assert "churn-live" not in metric_alarms.endpoints_due_for_history(last + timedelta(seconds=30))
    assert "churn-live" in metric_alarms.endpoints_due_for_history(last + timedelta(seconds=90))
