"""Lineage and model cards: the data, code, parameters and approvals behind a version."""

from __future__ import annotations

import json
from pathlib import Path

from loopml import registry
from loopml.pipelines import run


def test_a_model_registered_in_a_pipeline_step_knows_its_execution(roles, tmp_path: Path) -> None:
    script = tmp_path / "p.py"
    script.write_text(
        "from loopml.pipelines import pipeline, step\n"
        "from loopml import registry\n"
        "@step\n"
        "def fit(c: float = 1.0) -> dict:\n"
        "    from tests.registry.conftest import tiny_model\n"
        "    v = registry.register(tiny_model(c)[0], 'churn', metrics={'auc': 0.9},\n"
        "                          lineage={'datasets': [{'name': 'customers', 'version': 3, 'sha256': 'sha256:' + 'a' * 64}]})\n"
        "    return {'version': v.version}\n"
        "@pipeline\n"
        "def train(c: float = 1.0):\n"
        "    fit(c=c)\n"
    )
    info = run(f"{script}:train", executor="inline", params={"c": 0.5})
    assert info.status == "SUCCEEDED", info.error
    registry.approve("churn", 1, actor="bob", note="ship it")
    facts = registry.lineage("churn", 1)
    assert facts["execution"]["id"] == info.id
    assert facts["params"] == {"c": 0.5}
    assert facts["data"] == [{"name": "customers", "version": 3, "sha256": "sha256:" + "a" * 64}]
    assert set(facts["code"]["step_code_hashes"]) == {"fit"}
    assert facts["registered"]["by"] == "alice"
    assert facts["approval"]["by"] == "bob" and facts["approval"]["bound_digest"] == facts["model"]["digest"]
    assert [e["action"] for e in facts["events"]] == ["model.register", "model.approve"]


def test_model_cards_render_as_markdown_html_and_json(roles, model) -> None:
    registry.register(model, "churn", metrics={"auc": 0.83})
    registry.update_card("churn", 1, intended_use="Rank customers for retention calls.",
                         limitations="Trained on 2026 data only.")
    registry.approve("churn", 1, actor="bob")
    card = registry.card("churn", 1)
    assert card["intended_use"].startswith("Rank customers")
    md = registry.render_card(card, "md")
    assert "# Model card: churn:1" in md and "Trained on 2026 data only." in md and "| auc | 0.83 |" in md
    page = registry.render_card(card, "html")
    assert page.startswith("<!doctype html>") and "Approved" in page
    assert json.loads(registry.render_card(card, "json"))["approval"]["by"] == "bob"


def test_the_cards_bias_section_is_a_table_of_facets_and_metrics(roles) -> None:
    import numpy as np

    from loopml.evaluate import evaluate
    from loopml.evaluate.records import save_report
    from tests.registry.conftest import tiny_model

    model, frame = tiny_model()
    rng = np.random.default_rng(1)
    test = frame.assign(sex=rng.choice(["F", "M"], len(frame)), y=(frame["a"] + frame["b"] > 0).astype(int))
    digest = save_report(evaluate(model, test, label="y", sensitive=("sex",), shap_sample=0, bootstrap=0))
    registry.register(model, "churn", evaluation_digest=digest)
    card = registry.card("churn", 1)
    md = registry.render_card(card, "md")
    bias = md.split("## Bias\n\n", 1)[1].split("\n## ", 1)[0]
    header, rule, *rows = bias.strip().splitlines()[:4]
    assert header.startswith("| column | facet | n (facet) | n (others) | ") and "DPPL" in header
    assert rule.startswith("|---|---|") and rows[0].startswith("| sex | F |") and rows[1].startswith("| sex | M |")
    assert "{" not in bias and "pre_training" not in bias
    page = registry.render_card(card, "html")
    assert "<th>DPPL</th>" in page and "pre_training" not in page
