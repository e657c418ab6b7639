"""boto3's ``sagemaker-runtime`` against loopml: SigV4 with issued key pairs, InvokeEndpoint and
InvokeEndpointAsync as AWS documents them, and refusals with the error codes AWS gives."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # endpoints and servers started for real, on a busy machine

ROW = json.dumps([{"a": 0.5, "b": -1.0, "c": 2.0}]).encode()


@pytest.fixture
def api_url(served: Any) -> Iterator[str]:
    """The control plane (REST + SageMaker runtime routes) served by uvicorn on loopback."""
    from loopml.api import create_app
    from tests.serve.live import uvicorn_thread

    with uvicorn_thread(create_app()) as url:
        yield url


def issue(user: str, role: str | None = None) -> tuple[str, str, str]:
    """(access key id, secret, token id) for ``user``, granted ``role`` first."""
    from loopml.core import access_keys, context, identity

    with context.get_db().write() as conn:
        if role:
            identity.grant(conn, user, role, actor="root")
        pair = access_keys.create(conn, user, actor="root", description="test")
    return pair.access_key_id, pair.secret_access_key, pair.token.id


def runtime(url: str, key: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sagemaker-runtime", endpoint_url=url, region_name="eu-west-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def error_of(call: Any) -> tuple[str, int, dict[str, Any]]:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response


def test_invoke_endpoint_signed_with_an_issued_key(served: Any, api_url: str) -> None:
    from loopml import serve
    from loopml.core import context, tokens

    version = served(0)
    serve.create("churn", "churn@approved", capture_percent=100)
    key, secret, token_id = issue("alice")
    client = runtime(api_url, key, secret)

    answer = client.invoke_endpoint(EndpointName="churn", Body=ROW, ContentType="application/json",
                                    InferenceId="order-17", CustomAttributes="region=eu")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == f"churn-v{version.version}"
    assert json.loads(answer["Body"].read())["predictions"] in ([0], [1])

    csv = client.invoke_endpoint(EndpointName="churn", Body=b"0.5,-1.0,2.0\n1.0,1.0,1.0\n", ContentType="text/csv",
                                 Accept="text/csv", TargetVariant=f"churn-v{version.version}")
    assert csv["ContentType"] == "text/csv"
    assert len(csv["Body"].read().decode().strip().splitlines()) == 2

    probs = client.invoke_endpoint(EndpointName="churn", Body=ROW, ContentType="application/json",
                                   CustomAttributes="probabilities=true")
    doc = json.loads(probs["Body"].read())
    assert len(doc["probabilities"][0]) == 2 and abs(sum(doc["probabilities"][0]) - 1) < 1e-9

    code, status, _ = error_of(lambda: client.invoke_endpoint(EndpointName="churn", Body=ROW, TargetVariant="nope"))
    assert (code, status) == ("ValidationError", 400)
    code, status, response = error_of(lambda: client.invoke_endpoint(
        EndpointName="churn", Body=b'[{"a": "x", "b": 1, "c": 1}]', ContentType="application/json"))
    assert (code, status, response["OriginalStatusCode"]) == ("ModelError", 424, 422)
    assert "/0/a" in response["OriginalMessage"]
    code, status, _ = error_of(lambda: client.invoke_endpoint(EndpointName="ghost", Body=ROW))
    assert (code, status) == ("ValidationError", 400)
    code, status, response = error_of(lambda: client.invoke_endpoint(
        EndpointName="churn", Body=ROW, ContentType="application/json", CustomAttributes="x" * 1025))
    assert (code, status) == ("ValidationError", 400) and "at most 1024" in response["Error"]["Message"]

    # the capture carries the caller's InferenceId and CustomAttributes
    serve.flush_capture("churn")
    from loopml.serve import capture

    records = capture.read_records("churn")
    assert any(r["eventMetadata"].get("inferenceId") == "order-17" and
               r["eventMetadata"].get("customAttributes") == "region=eu" for r in records)

    # refusals, each with the code an AWS SDK user already handles
    wrong = secret[:-1] + ("y" if secret.endswith("x") else "x")  # a random secret ends in "x" one time in 64
    code, status, _ = error_of(lambda: runtime(api_url, key, wrong).invoke_endpoint(EndpointName="churn", Body=ROW))
    assert (code, status) == ("InvalidSignatureException", 403)
    code, status, _ = error_of(lambda: runtime(api_url, "LKIAUNKNOWNUNKNOWN00", secret).invoke_endpoint(
        EndpointName="churn", Body=ROW))
    assert (code, status) == ("UnrecognizedClientException", 403)
    viewer_key, viewer_secret, _ = issue("vic", "viewer")
    code, status, response = error_of(lambda: runtime(api_url, viewer_key, viewer_secret).invoke_endpoint(
        EndpointName="churn", Body=ROW))
    assert (code, status) == ("AccessDeniedException", 403)
    assert "sagemaker:InvokeEndpoint" in response["Error"]["Message"]
    with context.get_db().write() as conn:
        tokens.revoke(conn, token_id, actor="root")
    code, status, _ = error_of(lambda: client.invoke_endpoint(EndpointName="churn", Body=ROW))
    assert (code, status) == ("UnrecognizedClientException", 403)
    # the same key pair is no bearer token
    import httpx

    assert httpx.get(api_url + "/api/v1/models", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_a_stale_signature_is_refused(served: Any, api_url: str) -> None:
    """A request signed more than 5 minutes ago (a replay) is refused even though its signature is right."""
    import datetime as dt

    import httpx
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    key, secret, _ = issue("alice")
    request = AWSRequest("POST", api_url + "/endpoints/churn/invocations", data=ROW,
                         headers={"Content-Type": "application/json"})
    signer = SigV4Auth(Credentials(key, secret), "sagemaker", "eu-west-1")
    # botocore's own signing steps (what add_auth does), at a time six minutes ago
    request.context["timestamp"] = f"{dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6):%Y%m%dT%H%M%SZ}"
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signer._inject_signature_to_request(request, signer.signature(signer.string_to_sign(request, canonical), request))
    answer = httpx.post(request.url, content=ROW, headers=dict(request.headers))
    assert answer.status_code == 403 and answer.headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert "Signature expired" in answer.json()["message"]


def test_invoke_endpoint_async_reads_input_location_and_writes_output_location(
        served: Any, api_url: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    from loopml import serve

    bucket = s3_bucket.split("/")[2]
    monkeypatch.setenv("LOOPML_ASYNC_ROOT", f"s3://{bucket}/async")
    served(0)
    serve.create("churn-async", "churn@approved", mode="async", idle_seconds=30)
    s3 = boto3.client("s3", endpoint_url=__import__("os").environ["LOOPML_S3_ENDPOINT"])
    s3.put_object(Bucket=bucket, Key="async/input/req-1.csv", Body=b"0.5,-1.0,2.0\n")
    key, secret, _ = issue("alice")
    client = runtime(api_url, key, secret)

    answer = client.invoke_endpoint_async(EndpointName="churn-async", ContentType="text/csv",
                                          InputLocation=f"s3://{bucket}/async/input/req-1.csv",
                                          InferenceId="batch-7", RequestTTLSeconds=600)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert answer["InferenceId"] == "batch-7"
    output = answer["OutputLocation"]
    assert output.startswith(f"s3://{bucket}/async/output/churn-async/") and output.endswith(".out")
    assert answer["FailureLocation"].startswith(f"s3://{bucket}/async/failure/churn-async/")
    out_key = output.split("/", 3)[3]
    deadline = time.monotonic() + 120
    while True:
        try:
            body = s3.get_object(Bucket=bucket, Key=out_key)["Body"].read()
            break
        except s3.exceptions.NoSuchKey:
            assert time.monotonic() < deadline, "the async answer never reached its OutputLocation"
            time.sleep(0.2)
    assert json.loads(body)["predictions"] in ([0], [1])

    code, status, _ = error_of(lambda: client.invoke_endpoint_async(
        EndpointName="churn-async", InputLocation="s3://elsewhere/secret.csv"))
    assert (code, status) == ("ValidationError", 400)
    code, status, _ = error_of(lambda: client.invoke_endpoint(EndpointName="churn-async", Body=ROW,
                                                              ContentType="application/json"))
    assert status >= 400


def test_target_model_of_a_multi_model_endpoint_and_probabilities_by_accept(served: Any, api_url: str) -> None:
    from loopml import serve

    v1, v2 = served(0), served(1)
    serve.create("churn-mm", f"churn:{v1.version}", targets=[f"churn:{v2.version}"])
    key, secret, _ = issue("alice")
    client = runtime(api_url, key, secret)
    for version in (v1, v2):
        answer = client.invoke_endpoint(EndpointName="churn-mm", Body=ROW, ContentType="application/json",
                                        TargetModel=version.name)
        assert answer["ResponseMetadata"]["HTTPHeaders"]["x-model-digest"] == version.digest
    code, status, response = error_of(lambda: client.invoke_endpoint(EndpointName="churn-mm", Body=ROW,
                                                                     TargetModel="other:9"))
    assert (code, status, response["OriginalStatusCode"]) == ("ModelError", 424, 404)

    serve.create("churn", f"churn:{v1.version}")
    csv = client.invoke_endpoint(EndpointName="churn", Body=b"0.5,-1.0,2.0\n", ContentType="text/csv",
                                 Accept="text/csv; probabilities=true")
    (row,) = csv["Body"].read().decode().splitlines()
    assert len(row.split(",")) == 2 and abs(sum(map(float, row.split(","))) - 1) < 1e-9


def test_invoke_endpoint_async_carries_accept_and_custom_attributes_to_the_model(
        served: Any, api_url: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An application's invoker key; the Accept and CustomAttributes given at submission decide, when a worker
    runs the request later, the answer's format (CSV, stored as text/csv) and what the model does with them."""
    import boto3

    from loopml import serve
    from loopml.serve import capture

    bucket = s3_bucket.split("/")[2]
    monkeypatch.setenv("LOOPML_ASYNC_ROOT", f"s3://{bucket}/async")
    served(0)
    serve.create("churn-async", "churn@approved", mode="async", idle_seconds=30, capture_percent=100)
    s3 = boto3.client("s3", endpoint_url=__import__("os").environ["LOOPML_S3_ENDPOINT"])
    s3.put_object(Bucket=bucket, Key="async/input/two.csv", Body=b"0.5,-1.0,2.0\n3.0,2.0,1.0\n")
    key, secret, _ = issue("ivy", "invoker")
    client = runtime(api_url, key, secret)

    def submit(**extra: Any) -> str:
        answer = client.invoke_endpoint_async(EndpointName="churn-async", ContentType="text/csv", Accept="text/csv",
                                              InputLocation=f"s3://{bucket}/async/input/two.csv", **extra)
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
        return str(answer["OutputLocation"]).split("/", 3)[3]

    plain = submit(InferenceId="csv-plain")
    proba = submit(InferenceId="csv-proba", CustomAttributes="probabilities=true")
    deadline = time.monotonic() + 120
    found: dict[str, Any] = {}
    while len(found) < 2:
        for out_key in {plain, proba} - found.keys():
            try:
                found[out_key] = s3.get_object(Bucket=bucket, Key=out_key)
            except s3.exceptions.NoSuchKey:
                assert time.monotonic() < deadline, f"the async answer never reached {out_key}"
        time.sleep(0.2)
    rows = found[plain]["Body"].read().decode().splitlines()
    assert found[plain]["ContentType"] == "text/csv" and len(rows) == 2 and set(rows) <= {"0", "1"}, rows
    rows = found[proba]["Body"].read().decode().splitlines()
    assert found[proba]["ContentType"] == "text/csv" and len(rows) == 2, rows
    for row in rows:  # one row of class probabilities per input row: the custom attribute reached the model
        assert len(row.split(",")) == 2 and abs(sum(map(float, row.split(","))) - 1) < 1e-9, row

    serve.flush_capture("churn-async")
    meta = [r["eventMetadata"] for r in capture.read_records("churn-async")]
    assert {"inferenceId": "csv-proba", "customAttributes": "probabilities=true"}.items() <= \
        next(m for m in meta if m.get("inferenceId") == "csv-proba").items(), meta
    assert not any("customAttributes" in m for m in meta if m.get("inferenceId") == "csv-plain"), meta

    code, status, _ = error_of(lambda: client.invoke_endpoint_async(
        EndpointName="churn-async", ContentType="text/csv", CustomAttributes="x" * 1025,
        InputLocation=f"s3://{bucket}/async/input/two.csv"))
    assert (code, status) == ("ValidationError", 400)

    # the endpoint's own /async-invocations route (plain Accept) keeps it the same way
    import httpx

    url = serve.get("churn-async").runtime["url"]
    queued = httpx.post(url + "/async-invocations", content=b"0.5,-1.0,2.0\n",
                        headers={"Content-Type": "text/csv", "Accept": "text/csv"}).json()
    while (status := httpx.get(f"{url}/async-invocations/{queued['inference_id']}").json()["status"]) != "Completed":
        assert status in ("Pending", "InProgress") and time.monotonic() < deadline + 60, status
        time.sleep(0.2)
    assert httpx.get(f"{url}/async-invocations/{queued['inference_id']}/result").text.strip() in ("0", "1")
