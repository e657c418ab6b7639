"""Browser tests: Chromium (Debian's, headless) drives the web UI served by a real ``loopml server``.

After the churn example pipeline has run and two versions are registered, an approver logs in with a token,
opens every page, approves a version; a data-scientist sees no approve button and gets 403 from the API.
Screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import make_users, tiny_model
from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]


def _loop(home: Path) -> dict[str, str]:
    """Run the churn pipeline and register two versions with its lineage; return the users' tokens."""
    from loopml import registry
    from loopml.demo.pipeline_ref import example_path
    from loopml.pipelines import run

    secrets = make_users(home)
    execution = run(f"{example_path('churn')}:churn", executor="inline")
    lineage = {"execution_id": execution.id, "code": {"commit": "3f2c9a1e7b4d", "dirty": False},
               "datasets": [{"name": "churn_customers", "version": 1, "sha256": "sha256:" + "ab12" * 16}]}
    registry.register(tiny_model(1.0), "churn", metrics={"auc": 0.81, "accuracy": 0.77}, lineage=lineage,
                      description="logistic regression on the churn features", actor="dana")
    registry.register(tiny_model(2.0), "churn", metrics={"auc": 0.84, "accuracy": 0.79}, lineage=lineage,
                      actor="dana")
    tuning = _runs()
    _alarm()
    return secrets | {"execution": execution.id, "tuning": tuning}


def _alarm() -> None:
    """A drift alarm that fires, and a rule that would log a retraining request for it."""
    from loopml import events, monitor

    events.put_rule("retrain-on-drift", {"detail-type": ["Alarm State Change"]}, [{"type": "log"}])
    monitor.put_alarm("churn-drift", source="endpoint:churn-live", metric="feature_baseline_drift_tenure",
                      threshold=0.2)
    monitor.put_metric("endpoint:churn-live", "feature_baseline_drift_tenure", 0.35)
    monitor.evaluate_alarms()
    events.process_events()


def _runs() -> str:
    """A tuning run with three trials, each logging a loss curve and an AUC."""
    from loopml import train

    parent = train.create_run("churn", kind="tuning", name="tune-lr", params={"trials": 3})
    for i, c in enumerate((0.1, 1.0, 10.0)):
        trial = train.create_run("churn", kind="training", name=f"trial-{i}", params={"C": c}, parent_id=parent.id)
        for step in range(10):
            train.log_metrics(trial.id, {"loss": 1.0 / (step + 1 + i)}, step=step)
        train.log_metrics(trial.id, {"auc": 0.78 + 0.02 * i}, step=10)
    train.log_metrics(parent.id, {"best_auc": 0.82}, step=0)
    return parent.id


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    from loopml.config import reset_settings

    home = tmp_path_factory.mktemp("e2e") / "loopml-home"
    saved = os.environ.copy()
    os.environ.update(LOOPML_HOME=str(home), LOOPML_USER="dana")
    reset_settings()
    port = free_port()
    proc = None
    try:
        secrets = _loop(home)
        code = f"from loopml.api import serve; serve('127.0.0.1', {port}, log_level='warning')"
        proc = subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, secrets
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _login(browser, base: str, secret: str):  # noqa: ANN001, ANN202
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.wait_for_selector("#token")
    page.fill("#token", secret)
    page.click("#login")
    page.wait_for_selector("#who button")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _visit(page, base: str, hash_: str, selector: str, shot: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/ui/index.html{hash_}")
    scoped = selector.removeprefix("main ").removeprefix("main")
    page.wait_for_selector(f'main[data-route="{hash_}"] {scoped}'.strip())
    assert page.locator(".error").count() == 0, page.inner_text("main")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


def test_an_approver_sees_every_page_and_approves(served, browser):
    from playwright.sync_api import expect

    base, secrets = served
    page = _login(browser, base, secrets["ann"])
    assert "ann (approver)" in page.inner_text("#who")
    _visit(page, base, "#/pipelines", "main table", "pipelines")
    _visit(page, base, f"#/executions/{secrets['execution']}", "#dag svg .node", "execution-dag")
    assert page.locator("#dag .node").count() == 7  # the churn pipeline's seven steps
    page.click("#dag .node >> nth=3")
    expect(page.locator("#logs")).not_to_have_text("Click a step to see its logs.")
    _visit(page, base, "#/models", "main table", "models")
    _visit(page, base, "#/models/churn", "main svg", "model-group")
    _visit(page, base, "#/lineage/churn/1", "#lineage svg .node", "lineage")
    assert page.locator("#lineage .node").count() >= 4
    _visit(page, base, "#/data", "main table", "data")
    _visit(page, base, "#/audit", "main table", "audit")
    _visit(page, base, "#/runs", "main table", "runs")
    page.check("input[type=checkbox] >> nth=1")
    page.check("input[type=checkbox] >> nth=2")
    page.click("#compare")
    page.wait_for_selector("text=Comparison")
    page.screenshot(path=str(SHOTS / "runs-compare.png"), full_page=True)
    _visit(page, base, f"#/runs/{secrets['tuning']}", "#trials svg", "tuning-trials")
    _visit(page, base, "#/endpoints", "main table", "endpoints")
    _visit(page, base, "#/monitoring", "main table", "monitoring")
    assert "churn-drift" in page.inner_text("main") and "ALARM" in page.inner_text("main")
    _visit(page, base, "#/models/churn/1", "#approve", "version-pending")
    page.fill("#note", "metrics and card reviewed")
    page.click("#approve")
    page.wait_for_selector("#trail >> text=Approved")
    assert page.locator("#approve").count() == 0
    page.screenshot(path=str(SHOTS / "version-approved.png"), full_page=True)
    assert not page.errors  # type: ignore[attr-defined]
    trail = httpx.get(base + "/api/v1/models/churn/versions/1/trail",
                      headers={"Authorization": f"Bearer {secrets['vic']}"}).json()["items"]
    assert (trail[-1]["actor"], trail[-1]["to"], trail[-1]["note"]) == ("ann", "Approved", "metrics and card reviewed")


def test_a_data_scientist_sees_no_approve_button_and_gets_403(served, browser):
    base, secrets = served
    page = _login(browser, base, secrets["dana"])
    _visit(page, base, "#/models/churn/2", "#model-card", "version-as-data-scientist")
    assert page.locator("#approve").count() == 0 and page.locator("#reject").count() == 0
    status = page.evaluate("""async () => {
        const r = await fetch('/api/v1/models/churn/versions/2/approve', {method: 'POST',
          headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('loopml.token'),
                    'Content-Type': 'application/json'}, body: '{"note": "self"}'});
        return r.status; }""")
    assert status == 403


def test_a_bad_token_stays_on_the_login_page(served, browser):
    base, _ = served
    page = browser.new_page()
    page.goto(base + "/")
    page.fill("#token", "lml_wrong")
    page.click("#login")
    page.wait_for_selector(".error")
    assert "not known" in page.inner_text(".error")
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
