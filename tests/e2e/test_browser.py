"""Browser tests: Debian's Chromium (headless) drives the web UI served by a real ``loopml server``.

The world (tests/ui/world.py) is a whole loop: pipeline executions, a gated and an approved version, a tuning
study, a built-in training job, monitoring windows with violations, an alarm and its rule, and an endpoint
serving traffic. Every page is opened (no script error, no error box) and photographed into
``test-output/screenshots/``; the links between objects are followed by mouse, keyboard and new tab; an
approver decides on a version with its evaluation report on screen; lists page, sort and filter; and every
chart legend has distinct colours.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_server
from tests.ui.world import served_home

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(600),  # the module's world is a whole loop
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    for _home, ids in served_home(tmp_path_factory):
        proc, base = start_server()
        try:
            yield base, ids
        finally:
            proc.terminate()
            proc.wait(15)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    import shutil

    from playwright.sync_api import sync_playwright

    shutil.rmtree(SHOTS, ignore_errors=True)  # only this run's pictures
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A signed-in page: visits wait for the page's route to finish rendering, fail on errors, photograph."""

    def __init__(self, browser, base: str, secret: str) -> None:  # noqa: ANN001
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", lambda d: (self.errors.append(f"unexpected dialog: {d.message}"), d.dismiss()))
        self.page.goto(base + "/ui")
        self.page.wait_for_selector("#token")
        self.page.fill("#token", secret)
        self.page.click("#login")
        self.page.wait_for_selector("#who #sign-out")

    def wait(self, hash_: str, selector: str = "h1") -> None:
        self.page.wait_for_selector(f'main[data-route="{hash_}"] {selector}'.strip())
        assert self.page.locator("main .error").count() == 0, self.page.inner_text("main")[:2000]
        assert not self.errors, self.errors

    def visit(self, hash_: str, selector: str = "h1", shot: str | None = None) -> None:
        target = f"{self.base}/ui/index.html{hash_}"
        if self.page.url == target:
            self.page.reload()  # the same address does not navigate: start the page afresh
        else:
            self.page.goto(target)
        self.wait(hash_, selector)
        if shot:
            self.shot(shot)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def route(self) -> str:
        self.page.wait_for_function("document.querySelector('main').dataset.route !== undefined")
        return self.page.get_attribute("main", "data-route")


@pytest.fixture(scope="module")
def ann(served, browser) -> Tab:  # noqa: ANN001
    base, ids = served
    return Tab(browser, base, ids["ann"])


@pytest.fixture(scope="module")
def dana(served, browser) -> Tab:  # noqa: ANN001
    base, ids = served
    return Tab(browser, base, ids["dana"])


def _legends_are_distinct(tab: Tab) -> int:
    """Every chart on the page: legend swatches all differ, and each shows the colour it declares."""
    charts = tab.page.evaluate("""() => [...document.querySelectorAll('main svg.lml-chart')].map((svg) =>
        [...svg.querySelectorAll('g.legend-item')].map((g) => [g.dataset.color, getComputedStyle(g.querySelector('rect')).fill]))""")
    for items in charts:
        declared = [d for d, _ in items]
        assert len(set(declared)) == len(declared), declared
        for color, shown in items:
            r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
            assert shown == f"rgb({r}, {g}, {b})", (color, shown)
    return sum(1 for items in charts if len(items) > 1)


def _sticking_out(tab: Tab) -> list[str]:
    """What breaks the layout: the page wider than the window, or a card whose content runs past its edge
    (a wide table belongs in a box that scrolls inside the card)."""
    return tab.page.evaluate("""() => {
        const out = document.documentElement.scrollWidth > window.innerWidth + 1
            ? [`the page is ${document.documentElement.scrollWidth}px wide in a ${window.innerWidth}px window`] : [];
        for (const card of document.querySelectorAll('main .card')) {
            if (card.scrollWidth > card.clientWidth + 1) {
                out.push(`card "${(card.querySelector('h2') || card).textContent.slice(0, 40)}" holds ` +
                         `${card.scrollWidth}px in ${card.clientWidth}px`);
            }
        }
        return out;
    }""")


PAGES = [  # (hash, what must be there, screenshot)
    ("#/pipelines", "table.list[data-list=executions] tbody tr a", "pipelines"),
    ("#/executions/{execution}", "#dag svg .node", "execution"),
    ("#/executions/{execution}?step=train", "#logs", "execution-step-logs"),
    ("#/executions/{failed_execution}", "#dag svg .node", "execution-failed"),
    ("#/runs", "table.list[data-list=runs] tbody tr", "runs"),
    ("#/runs/{job}", "#run-view svg.lml-line", "run-builtin"),
    ("#/runs/{tuning}", "#run-view svg.lml-parallel", "run-tuning"),
    ("#/models", "table.list[data-list=groups] tbody tr a", "models"),
    ("#/models/churn", "table.list[data-list=versions] svg, .chart svg", "model-group"),
    ("#/models/churn/2", "#evaluation svg", "version-pending"),
    ("#/models/churn/3", "#no-evaluation", "version-without-evaluation"),
    ("#/lineage/churn/2", "#lineage svg .node", "lineage"),
    ("#/endpoints", "table.list[data-list=endpoints] tbody tr a", "endpoints"),
    ("#/endpoints/churn-live", "#over-time svg", "endpoint"),
    ("#/monitoring", "#drift svg", "monitoring"),
    ("#/monitoring/schedules/churn-quality", "#violations", "monitoring-schedule"),
    ("#/monitoring/executions/{monitoring}", "#monitoring-report table", "monitoring-execution"),
    ("#/monitoring/alarms/churn-drift", "svg.lml-line", "alarm"),
    ("#/data", "table.list[data-list=features] tbody tr", "data"),
    ("#/data/datasets/customers/2", "#schema", "dataset"),
    ("#/data/feature-groups/customer_features", "#feature-list", "feature-group"),
    ("#/audit", "table.list[data-list=audit] tbody tr", "audit"),
]


def test_every_page_renders_without_errors_and_every_legend_tells_its_series_apart(served, ann):
    _, ids = served
    multi = 0
    for hash_, selector, shot in PAGES:
        ann.visit(hash_.format(**ids), selector, shot)
        multi += _legends_are_distinct(ann)
        assert not _sticking_out(ann), (hash_, _sticking_out(ann))
    assert multi >= 5  # charts with several series were checked, not only single ones
    ann.visit("#/models/churn/2", "#evaluation")
    text = ann.page.inner_text("#evaluation")
    for part in ("Gate:", "PASSED", "Champion vs challenger", "ROC curve", "Slices", "Bias", "95% interval"):
        assert part in text, part
    ann.visit("#/runs/{job}".format(**ids), "#run-view")
    assert "null" not in ann.page.inner_text("main") and "e+" not in ann.page.inner_text("main")
    ann.visit("#/monitoring", "table.list[data-list=rules] tbody tr")
    rules = ann.page.inner_text("table.list[data-list=rules]")
    assert "detail-type is Alarm State Change" in rules and '{"' not in rules  # rules read as words, not JSON
    ann.visit("#/data", "table.list[data-list=features]")
    assert "tenure_months" in ann.page.inner_text("table.list[data-list=features]")  # the features column


def test_the_execution_dag_is_whole_and_its_nodes_open_the_step_logs(served, ann):
    _, ids = served
    ann.visit(f"#/executions/{ids['execution']}", "#dag svg .node")
    assert ann.page.locator("#dag .node").count() == 6
    box = ann.page.locator("#dag svg.lml-graph").bounding_box()
    for node in ann.page.locator("#dag svg.lml-graph .node rect").all():
        inner = node.bounding_box()
        assert inner["x"] >= box["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"] + 1
    ann.page.locator("#dag svg a").nth(2).click()
    ann.wait(f"#/executions/{ids['execution']}?step=train", "#logs")
    assert "Step train" in ann.page.inner_text("#step-logs")


def _follow(tab: Tab, selector: str) -> str:
    """Click a link (a real ``<a href>``) and wait for the page it names; returns that page."""
    link = tab.page.locator(selector).first
    href = link.get_attribute("href")
    assert link.evaluate("a => a.localName") == "a" and href.startswith("#/")
    link.click()
    tab.wait(href)
    return href


def test_objects_link_to_each_other(served, ann):
    _, ids = served
    ann.visit("#/models/churn/2", "#version-view")
    run_id = re.search(r"#/runs/(run_\w+)", ann.page.inner_html("#version-view")).group(1)
    _follow(ann, f'#version-view a[href="#/runs/{run_id}"]')
    ann.visit("#/models/churn/2", "#version-view")
    _follow(ann, f'#version-view a[href="#/executions/{ids["execution"]}"]')
    ann.visit("#/models/churn/2", "#version-view")
    _follow(ann, '#version-view a[href="#/data/datasets/customers/2"]')
    ann.visit("#/models/churn/1", "#version-view")
    _follow(ann, 'main a[href="#/endpoints/churn-live"]')
    _follow(ann, '#variants a[href="#/models/churn/1"]')
    ann.visit("#/lineage/churn/2", "#lineage svg")
    for target in ("#/data/datasets/customers/2", f"#/executions/{ids['execution']}", "#/models/churn/2"):
        assert ann.page.locator(f'#lineage svg a[href="{target}"]').count() == 1, target
    _follow(ann, f'#lineage svg a[href="#/executions/{ids["execution"]}"]')
    ann.visit("#/runs", "table.list[data-list=runs]")
    _follow(ann, f'table.list[data-list=runs] a[href="#/runs/{ids["tuning"]}"]')
    _follow(ann, "#run-view table a[href^='#/runs/']")
    assert ann.page.evaluate("() => [...document.querySelectorAll('tr')].filter((tr) => tr.onclick || "
                             "getComputedStyle(tr).cursor === 'pointer').length") == 0


def test_links_work_from_the_keyboard_and_in_a_new_tab(served, ann):
    _, ids = served
    ann.visit("#/models", "table.list[data-list=groups]")
    ann.page.locator('table.list[data-list=groups] a[href="#/models/churn"]').focus()
    ann.page.keyboard.press("Enter")
    ann.wait("#/models/churn", "table.list[data-list=versions]")
    with ann.context.expect_page() as opened:
        ann.page.locator('table.list[data-list=versions] a[href="#/models/churn/2"]').click(modifiers=["Control"])
    tab = opened.value
    tab.wait_for_selector('main[data-route="#/models/churn/2"] #evaluation')  # signed in, from the first tab
    assert "ann" in tab.inner_text("#who")
    tab.close()


def test_an_approver_decides_with_the_report_on_screen(served, ann):
    _, ids = served
    ann.visit("#/models/churn/2", "#approve")
    assert ann.page.locator("#evaluation").is_visible() and "gate PASSED" in ann.page.inner_text(".verdict")
    ann.page.click("#approve")
    ann.page.wait_for_selector("dialog[open] #dialog-note")
    assert "churn:1" in ann.page.inner_text("dialog[open]")  # the champion it was compared with
    ann.shot("approve-dialog")
    ann.page.click("#dialog-confirm")
    assert "Write a note" in ann.page.inner_text("dialog[open] .error")  # a decision needs a note
    ann.page.fill("#dialog-note", "beats the champion on AUC; slices and bias within bounds")
    ann.page.click("#dialog-confirm")
    ann.page.wait_for_selector("#version-view >> text=Approved")
    ann.wait("#/models/churn/2", "#version-view")
    assert ann.page.locator("#approve").count() == 0
    ann.shot("version-approved")
    trail = httpx.get(f"{ann.base}/api/v1/models/churn/versions/2/trail",
                      headers={"Authorization": f"Bearer {ids['vic']}"}).json()["items"]
    assert (trail[-1]["actor"], trail[-1]["to"]) == ("ann", "Approved") and "AUC" in trail[-1]["note"]


def test_a_rejected_version_can_be_reopened_and_the_missing_report_is_said(served, ann):
    ann.visit("#/models/churn/3", "#reopen")
    assert "No evaluation report" in ann.page.inner_text("#no-evaluation")
    ann.page.click("#reopen")
    ann.page.fill("#dialog-note", "re-run the evaluation before deciding")
    ann.page.click("#dialog-confirm")
    ann.page.wait_for_selector("main h1 >> text=PendingManualApproval")
    ann.page.click("#reject")
    ann.page.click("#dialog-cancel")  # cancelling changes nothing
    assert ann.page.locator("main h1 .badge").inner_text() == "PendingManualApproval"


def test_lists_page_sort_and_filter(served, ann):
    ann.visit("#/audit?audit.n=10", "table.list[data-list=audit] tbody tr")
    first = ann.page.locator("table.list[data-list=audit] tbody tr td").first.inner_text()
    ann.page.click("nav.pager[data-list=audit] a[rel=next]")
    ann.wait("#/audit?audit.n=10&audit.o=10", "table.list[data-list=audit] tbody tr")
    assert ann.page.locator("table.list[data-list=audit] tbody tr td").first.inner_text() == str(int(first) - 10)
    assert ann.page.inner_text("nav.pager[data-list=audit] .range").startswith("11–20")
    ann.page.click("nav.pager[data-list=audit] a[rel=prev]")
    ann.wait("#/audit?audit.n=10", "table.list[data-list=audit]")
    ann.page.click('table.list[data-list=audit] th a[data-sort="seq"]')
    ann.wait("#/audit?audit.n=10&audit.s=seq", "table.list[data-list=audit]")
    assert ann.page.locator("table.list[data-list=audit] tbody tr td").first.inner_text() == "1"
    ann.page.fill("form[data-list=audit] input[name=action]", "model.approve")
    ann.page.click("form[data-list=audit] button[type=submit]")
    ann.page.wait_for_selector('main[data-route*="audit.f.action=model.approve"] table.list[data-list=audit]')
    actions = ann.page.locator("table.list[data-list=audit] tbody tr td:nth-child(4)").all_inner_texts()
    assert actions and all(a == "model.approve" for a in actions)
    ann.shot("audit-filtered")


def test_the_runs_table_sorts_by_a_metric_chooses_columns_and_nests_trials(served, ann):
    _, ids = served
    ann.visit("#/runs", "table.list[data-list=runs]")
    ann.page.click('table.list[data-list=runs] th a[data-sort="metrics.validation:auc"]')
    ann.wait("#/runs?runs.s=metrics.validation%3Aauc", "table.list[data-list=runs]")
    ann.page.click('table.list[data-list=runs] th a[data-sort="metrics.validation:auc"]')
    ann.wait("#/runs?runs.s=-metrics.validation%3Aauc", "table.list[data-list=runs]")
    column = ann.page.locator("table.list[data-list=runs] thead th").all_inner_texts().index(
        next(t for t in ann.page.locator("table.list[data-list=runs] thead th").all_inner_texts() if "validation:auc" in t))
    values = [float(v) for v in ann.page.locator(f"table.list[data-list=runs] tbody tr td:nth-child({column + 1})")
              .all_inner_texts() if v != "–"]
    assert values == sorted(values, reverse=True) and len(values) >= 3
    ann.page.click("details.columns summary")
    ann.page.locator('details.columns input[value="took"]').check()
    ann.page.click("details.columns button[type=submit]")
    ann.page.wait_for_selector('main[data-route*="runs.c="] table.list[data-list=runs]')
    assert "took" in ann.page.locator("table.list[data-list=runs] thead").inner_text()
    ann.visit("#/runs", "table.list[data-list=runs]")
    ann.page.locator(f'table.list[data-list=runs] tr[data-id="{ids["tuning"]}"] button.expand').click()
    ann.page.wait_for_selector("table.list[data-list=runs] tr.child")
    assert ann.page.locator("table.list[data-list=runs] tr.child").count() == 4
    ann.shot("runs-nested")


def test_runs_compare_with_parallel_coordinates_a_scatter_and_the_differences(served, ann):
    _, ids = served
    ann.visit("#/runs", "table.list[data-list=runs]")
    ann.page.locator(f'table.list[data-list=runs] tr[data-id="{ids["tuning"]}"] button.expand').click()
    ann.page.wait_for_selector("table.list[data-list=runs] tr.child input.pick")
    for box in ann.page.locator("table.list[data-list=runs] tr.child input.pick").all()[:3]:
        box.check()
    ann.page.click("#compare")
    ann.page.wait_for_selector('main[data-route^="#/compare"] #parallel svg')
    ann.wait(ann.route(), "#scatter svg")
    assert ann.page.locator("#comparison tr.differs").count() >= 2  # alpha, penalty and the metrics differ
    assert ann.page.locator("#parallel svg .legend-item").count() == 3
    ann.page.select_option("#axis-y", "metrics.validation:auc")
    ann.page.select_option("#axis-x", "params.alpha")
    ann.page.wait_for_selector('main[data-route*="x=params.alpha"] #scatter svg')
    assert "params.alpha" in ann.page.inner_text("#scatter")
    _legends_are_distinct(ann)
    # close values (0.8544 vs 0.8584) are told apart: the bars' axis does not start at 0, and says so
    assert "axis starts at 0.85" in ann.page.inner_text("main")
    ann.shot("runs-compare")


def test_artifacts_are_browsed_and_previewed_by_digest(served, ann):
    _, ids = served
    ann.visit(f"#/runs/{ids['job']}", "#artifacts a.artifact")
    ann.page.click('#artifacts a.artifact:text("input/train/data.parquet")')
    ann.page.wait_for_selector("#artifact-preview table.preview-table tbody tr")
    assert "churned" in ann.page.inner_text("#artifact-preview thead")
    ann.shot("run-artifacts")
    ann.page.click('#artifacts a.artifact:text("logs/job.log")')
    ann.page.wait_for_selector("#artifact-preview pre")
    ann.visit("#/models/churn/2", "#artifacts a.artifact")
    ann.page.click('#artifacts a.artifact:text("evaluation/report.json")')
    ann.page.wait_for_selector("#artifact-preview pre")
    assert '"gate"' in ann.page.inner_text("#artifact-preview pre")


def test_a_data_scientist_tags_starts_and_retries_but_sees_no_approve_button(served, dana):
    _, ids = served
    dana.visit("#/models/churn/1", "#add-tag")
    assert dana.page.locator("#approve").count() == 0 and dana.page.locator("#reject").count() == 0
    dana.page.click("#add-tag")
    dana.page.fill("dialog[open] input[name=key]", "team")
    dana.page.fill("dialog[open] input[name=value]", "growth")
    dana.page.click("#dialog-confirm")
    dana.page.wait_for_selector("#tags >> text=growth")
    status = dana.page.evaluate("""async () => {
        const r = await fetch('/api/v1/models/churn/versions/1/approve', {method: 'POST',
          headers: {'Authorization': 'Bearer ' + sessionStorage.getItem('loopml.token'),
                    'Content-Type': 'application/json'}, body: '{"note": "self"}'});
        return r.status; }""")
    assert status == 403
    before = httpx.get(f"{dana.base}/api/v1/executions?limit=500", headers={"Authorization": f"Bearer {ids['vic']}"}).json()
    dana.visit("#/pipelines", 'button.start[data-pipeline="churn_small"]')
    dana.page.click('button.start[data-pipeline="churn_small"]')
    dana.page.wait_for_selector("dialog[open] input[name=seed]")
    dana.page.fill("dialog[open] input[name=seed]", "2")
    dana.page.click("#dialog-confirm")
    dana.page.wait_for_selector("#started")
    dana.visit(f"#/executions/{ids['failed_execution']}", "#retry")
    dana.page.click("#retry")
    dana.page.wait_for_selector("#action-result .notice")
    deadline = time.time() + 240
    while time.time() < deadline:
        listed = httpx.get(f"{dana.base}/api/v1/executions?limit=500",
                           headers={"Authorization": f"Bearer {ids['vic']}"}).json()["items"]
        failed = httpx.get(f"{dana.base}/api/v1/executions/{ids['failed_execution']}",
                           headers={"Authorization": f"Bearer {ids['vic']}"}).json()
        if len(listed) > len(before["items"]) and failed["resume_count"] >= 1:
            break
        time.sleep(1)
    assert len(listed) > len(before["items"]), "the started run never appeared"
    assert failed["resume_count"] >= 1, "the retry never resumed the failed execution"


def test_stored_text_is_never_markup(served, ann):
    from loopml import train

    run = train.create_run("churn", name='<img src=x onerror="document.title=1">', params={"<b>p</b>": "</td>"})
    train.log_metrics(run.id, {"<svg onload=alert(1)>": 1.0}, step=0)
    train.log_metrics(run.id, {"<svg onload=alert(1)>": 2.0}, step=1)
    ann.visit("#/runs", "table.list[data-list=runs]")
    ann.visit(f"#/runs/{run.id}", "#run-view svg")
    assert ann.page.locator("img[src=x]").count() == 0 and ann.page.locator("main b").count() == 0
    assert '<img src=x onerror="document.title=1">' in ann.page.inner_text("main")
    assert ann.page.title() != "1"


def test_a_bad_token_stays_on_the_sign_in_page(served, browser):
    base, _ = served
    page = browser.new_page()
    page.goto(base + "/")
    page.fill("#token", "lml_wrong")
    page.click("#login")
    page.wait_for_selector(".error")
    assert "not known" in page.inner_text(".error")
    page.close()
