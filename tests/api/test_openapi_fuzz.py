"""No request generated from the OpenAPI document gets a 5xx.

Two generators: schemathesis over the whole document (skipped, with the reason, while the installed hypothesis
is too new for hypothesis-jsonschema), and a small generator of our own that draws path, query and JSON values
from each operation's schemas, plus hostile strings, and sends them as an admin.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import utils as conjecture_utils

from tests.api._raw import raw_request

JSONSCHEMA_WORKS = hasattr(conjecture_utils.many, "more")
HOSTILE = st.sampled_from(["", " ", "..", "../x", "%00", "\x00", "-1", "0", "9" * 40, "NaN", "null", "a" * 300,
                           "é", "💥", "sha256:" + "0" * 64, "Approved", "1e400", "true", "{}", "[]"])
TEXT = st.text(alphabet=string.printable + "é💥\x00", max_size=40)


def _value(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        return _value(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "anyOf" in schema:
        return st.one_of([_value(s, components) for s in schema["anyOf"]])
    kind = schema.get("type")
    if "enum" in schema:
        return st.one_of(st.sampled_from(schema["enum"]), HOSTILE)
    if kind == "integer":
        return st.one_of(st.integers(-(2**40), 2**40), HOSTILE)
    if kind == "number":
        return st.one_of(st.floats(allow_nan=False), st.integers(), HOSTILE)
    if kind == "boolean":
        return st.one_of(st.booleans(), HOSTILE)
    if kind == "object":
        props = {k: _value(v, components) for k, v in schema.get("properties", {}).items()}
        return st.fixed_dictionaries({}, optional=props) | st.dictionaries(TEXT, TEXT, max_size=3)
    if kind == "array":
        return st.lists(_value(schema.get("items", {}), components), max_size=3)
    if kind == "null":
        return st.none()
    if "pattern" in schema:
        return st.one_of(st.from_regex(schema["pattern"], fullmatch=True), HOSTILE, TEXT)
    return st.one_of(TEXT, HOSTILE)


def _operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    doc = app.openapi()
    return [(method.upper(), path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def _request(op: dict[str, Any], path: str, components: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    from urllib.parse import quote, urlencode

    params = op.get("parameters", [])
    drawn = {p["name"]: _value(p.get("schema", {}), components) for p in params}
    body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    body = _value(body_schema, components) if body_schema else st.none()

    def build(values: dict[str, Any], payload: Any) -> tuple[str, Any]:
        target, query = path, {}
        for p in params:
            text = str(values[p["name"]]).lower() if isinstance(values[p["name"]], bool) else str(values[p["name"]])
            if p["in"] == "path":
                target = target.replace("{" + p["name"] + "}", quote(text, safe="") or "x")
            elif p["in"] == "query":
                query[p["name"]] = text
        return target + ("?" + urlencode(query) if query else ""), payload

    return st.builds(build, st.fixed_dictionaries(drawn), body)


def _fuzz(app: Any, world: Any, method: str, path: str, requests: Any, failures: list[str]) -> None:
    user = "ann" if path.endswith(("/approve", "/reject", "/reopen")) else "root"

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    @given(requests)
    def check(request: tuple[str, Any]) -> None:
        target, body = request
        if method == "DELETE" and target.startswith("/api/v1/models/churn"):
            return  # keep the shared world's model group for the other operations
        response = raw_request(app, method, target, headers=world.auth(user), body=body)
        if response.status_code >= 500 and response.status_code != 503:
            failures.append(f"{method} {target} {body!r} -> {response.status_code} {response.text[:120]}")

    check()


def _schema_operations() -> list[tuple[str, str]]:
    """Every (method, path) of the OpenAPI document (building the app reads no store)."""
    from loopml.api import create_app

    return [(m, p) for m, p, _ in _operations(create_app())]


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), _schema_operations())
def test_no_generated_request_makes_the_server_fail(shared_world, method, path):
    """One test per operation (all of them in one test outgrew its time limit on a busy machine)."""
    app = shared_world.client.app
    doc = app.openapi()
    components = doc.get("components", {}).get("schemas", {})
    failures: list[str] = []
    _fuzz(app, shared_world, method, path, _request(doc["paths"][path][method.lower()], path, components), failures)
    assert not failures, "\n".join(failures[:10])


def _error_shape(ctx: Any, response: Any, case: Any) -> None:
    """Every error answer is in the one error shape (``error``, ``message``, ``error_id``)."""
    if response.status_code >= 400:
        doc = response.json()
        assert isinstance(doc, dict) and {"error", "message", "error_id"} <= set(doc), (response.status_code, doc)


def _schemathesis(world: Any, method: str, path: str, *, negative: bool) -> Any:
    import schemathesis
    from schemathesis import DataGenerationMethod, experimental

    experimental.OPEN_API_3_1.enable()
    app = world.client.app
    methods = [DataGenerationMethod.negative if negative else DataGenerationMethod.positive]
    schema = schemathesis.from_dict(app.openapi(), app=app, base_url="http://127.0.0.1",
                                    data_generation_methods=methods)
    return schema[path][method]


def _user(path: str) -> str:
    return "ann" if path.endswith(("/approve", "/reject", "/reopen")) else "root"


NEEDS_JSONSCHEMA = pytest.mark.skipif(
    not JSONSCHEMA_WORKS, reason="hypothesis-jsonschema 0.23 needs many.more(), which the installed hypothesis no "
    "longer has; pin hypothesis to a version that has it to run schemathesis")


@pytest.mark.slow
@pytest.mark.timeout(600)  # a rich body schema (POST /charts) is slow to generate on a busy machine
@NEEDS_JSONSCHEMA
@pytest.mark.parametrize(("method", "path"), _schema_operations())
def test_schemathesis_finds_no_server_error_and_no_undocumented_status(shared_world, method, path):
    """One test per operation, so each gets the whole time limit (a rich body schema is slow to generate)."""
    from schemathesis.checks import not_a_server_error, status_code_conformance

    operation = _schemathesis(shared_world, method, path, negative=False)

    @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(operation.as_strategy())
    def check(case: Any) -> None:
        if method == "DELETE" and case.formatted_path.startswith("/api/v1/models/churn"):
            return  # keep the shared world's model group for the other operations
        response = case.call_asgi(headers={**shared_world.auth(_user(path)), "Host": "127.0.0.1"})
        case.validate_response(response, checks=(not_a_server_error, status_code_conformance, _error_shape))

    check()


def _refused(ctx: Any, response: Any, case: Any) -> Any:
    """Schemathesis's ``negative_data_rejection`` (a schema-forbidden input must not get a 2xx), less a bug of
    schemathesis 3.39: for an operation with no path parameters, its negative generator still marks the (absent)
    path parameters as negated (``can_negate_path_parameters`` is true when there are none), and the check then
    skips its own rule that a case whose only negation is an unknown query parameter (``?=false``) proves
    nothing — the document cannot forbid extra query parameters, and the app ignores them as HTTP APIs do."""
    from dataclasses import replace

    from schemathesis.checks import negative_data_rejection

    if case.meta is not None and not case.operation.path_parameters:
        case.meta = replace(case.meta, path_parameters=None)
    return negative_data_rejection(ctx, response, case)


def _as_sent(case: Any) -> Any:
    """The case as it goes on the wire, so that ``negative_data_rejection`` judges what was sent. Schemathesis
    3.39 judges a negated query parameter by the JSON value drawn, but a query carries text:

    - values that requests leaves out of the URL (``[]``, ``[None]``, ``None``) are sent as no parameter at all
      (``GET /users?limit=[]`` goes out as ``GET /users``, then "accepted negative data"): dropped here;
    - a string drawn for a boolean, integer or number parameter whose text is a valid value of it is that value
      on the wire (``"false"`` for a boolean ``top_level`` goes out as ``top_level=false``, exactly what
      ``False`` is sent as): read as that value here;
    - a list or an object drawn for a single-valued parameter goes out as one parameter per item (an object's
      keys: ``{"null": []}`` for a text ``metric`` is sent as ``metric=null``), of which the server reads the
      last: when that text is a valid value, it is what was sent."""
    from jsonschema import Draft202012Validator

    def items(value: Any) -> list[Any]:
        return [i for i in (list(value) if isinstance(value, (list, tuple, dict)) else [value]) if i is not None]

    def as_read(value: Any, schema: dict[str, Any]) -> Any:
        if isinstance(value, (list, tuple, dict)) and schema.get("type") != "array":
            last = items(value)[-1]
            text = last if isinstance(last, str) else str(last)
            value = text if Draft202012Validator(schema).is_valid(text) else value
        if not isinstance(value, str) or schema.get("type") not in ("boolean", "integer", "number"):
            return value
        try:
            read = json.loads(value)
        except ValueError:
            return value
        return read if Draft202012Validator(schema).is_valid(read) else value

    if isinstance(case.query, dict):
        schemas = {p.name: p.definition.get("schema", {}) for p in case.operation.query}
        case.query = {name: as_read(value, schemas.get(name, {})) for name, value in case.query.items()
                      if items(value)}
    return case


def _negative_check(world: Any, path: str, operation: Any, *, sent: Any = None, examples: int = 10) -> None:
    """Negative cases drawn from ``operation``, each sent to the app, must get a 4xx in the error shape.
    ``sent``, when given, turns a drawn case into the case to send (or ``None``: not sent)."""
    from hypothesis import reject
    from schemathesis import DataGenerationMethod
    from schemathesis.checks import not_a_server_error

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)  # the same cases every run: a suite that passes once passes again
    @given(operation.as_strategy(data_generation_method=DataGenerationMethod.negative))
    def check(drawn: Any) -> None:
        assert drawn.data_generation_method.is_negative, "schemathesis drew a positive case"
        case = sent(drawn) if sent is not None else _as_sent(drawn)
        if case is None:
            reject()
        response = case.call_asgi(headers={**world.auth(_user(path)), "Host": "127.0.0.1"})
        case.validate_response(response, checks=(not_a_server_error, _refused, _error_shape))

    check()


def _operations_with_inputs() -> list[tuple[str, str]]:
    """The operations with a parameter or a body (the others, such as GET /me, take nothing to forbid)."""
    from loopml.api import create_app

    return [(m, p) for m, p, op in _operations(create_app()) if op.get("parameters") or "requestBody" in op]


@pytest.mark.slow
@pytest.mark.timeout(600)
@NEEDS_JSONSCHEMA
@pytest.mark.parametrize(("method", "path"), _operations_with_inputs())
def test_schemathesis_inputs_the_schema_forbids_are_refused(shared_world, method, path):
    """Negative cases: values the document says are invalid (a negative version, a wrong type, a missing field,
    a pattern broken) get a 4xx, never a success."""
    _negative_check(shared_world, path, _schemathesis(shared_world, method, path, negative=True))


CHARTS = "/api/v1/charts"


def _chart_kinds() -> list[str]:
    from loopml.api import create_app

    charts = create_app().openapi()["components"]["schemas"]["ChartRequest"]["properties"]["charts"]
    return [branch["$ref"].rsplit("/", 1)[1] for branch in charts["items"]["anyOf"]]


@pytest.mark.slow
@NEEDS_JSONSCHEMA
@pytest.mark.parametrize("kind", _chart_kinds())
def test_schemathesis_chart_bodies_the_schema_forbids_are_refused(shared_world, kind):
    """POST /charts with a chart made invalid inside (a width out of range, a colour that is no colour, a point
    that is no pair, a label missing, an unknown field). Schemathesis 3.39 negates an ``anyOf`` only as a whole
    (``not: {anyOf}``: items that are no chart at all) and never mutates inside one of its branches, so over the
    real document its negative bodies for /charts stop above the charts. Here it draws negative instances of one
    kind of chart (from a copy of the document whose body is that kind), each sent as ``{"charts": [it]}`` if the
    real document forbids that body too (JSON Schema 2020-12, which ``const`` and ``prefixItems`` need)."""
    import copy

    import schemathesis
    from jsonschema import Draft202012Validator
    from schemathesis import DataGenerationMethod

    real = _schemathesis(shared_world, "POST", CHARTS, negative=True)
    forbidden = Draft202012Validator(real.body.items[0].as_json_schema(real))
    doc = copy.deepcopy(shared_world.client.app.openapi())
    doc["paths"][CHARTS]["post"]["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": f"#/components/schemas/{kind}"}
    one_kind = schemathesis.from_dict(doc, app=shared_world.client.app, base_url="http://127.0.0.1",
                                      data_generation_methods=[DataGenerationMethod.negative])[CHARTS]["POST"]

    def sent(drawn: Any) -> Any:
        body = {"charts": [drawn.body]}
        if forbidden.is_valid(body):
            return None
        case = real.make_case(body=body, media_type="application/json")
        case.data_generation_method = DataGenerationMethod.negative
        return case

    _negative_check(shared_world, CHARTS, one_kind, sent=sent, examples=25)
