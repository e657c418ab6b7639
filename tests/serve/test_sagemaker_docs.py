"""docs/serving.md "Coming from SageMaker": the key is issued by the documented command and each Python block
runs as written (only the control plane's port differs) and prints what its comments say."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # endpoints and servers started for real, on a busy machine

DOC = Path(__file__).resolve().parents[2] / "docs" / "serving.md"


def section() -> str:
    """The section, up to the next section of the same level (its ### subsection included)."""
    return re.split(r"\n## ", DOC.read_text().split("## Coming from SageMaker", 1)[1], maxsplit=1)[0]


def test_coming_from_sagemaker_runs_as_written(served: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    import os

    import boto3

    from loopml import serve
    from loopml.api import create_app
    from loopml.cli.main import app
    from loopml.config import reset_settings
    from loopml.core import context, identity
    from tests.serve.live import uvicorn_thread

    s3_url = os.environ["LOOPML_S3_ENDPOINT"]
    s3 = boto3.client("s3", endpoint_url=s3_url)
    if "my-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="my-bucket")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_url)  # the snippet's s3 client talks to the test S3 server
    monkeypatch.setenv("LOOPML_ASYNC_ROOT", "s3://my-bucket/async")

    served(0)
    bash = re.search(r"```bash\n(.*?)```", section(), re.S).group(1).splitlines()
    monkeypatch.setenv("LOOPML_USER", "root")  # the documented commands, run by an admin
    reset_settings()
    for line in [line for line in bash if line.startswith(("loopml users", "loopml tokens"))]:
        result = CliRunner().invoke(app, shlex.split(line.split("#")[0])[1:], catch_exceptions=False)
        assert result.exit_code == 0, (line, result.output)
    monkeypatch.setenv("LOOPML_USER", "alice")
    reset_settings()
    with context.get_db().read() as conn:  # the snippets below run with an application's key: invoker only
        assert identity.roles_of(conn, "shop-app") == {"invoker"}
    pair = dict(re.findall(r"^(aws_access_key_id|aws_secret_access_key) = (\S+)$", result.output, re.M))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", pair["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", pair["aws_secret_access_key"])
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # as in a fresh process: credentials from the environment

    serve.create("churn", "churn@approved")
    serve.create("churn-async", "churn@approved", mode="async", idle_seconds=30)
    blocks = re.findall(r"```python\n(.*?)```", section(), re.S)
    assert len(blocks) == 3
    with uvicorn_thread(create_app()) as url:
        for code in blocks:
            exec(compile(code.replace("http://127.0.0.1:8080", url), str(DOC), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["churn-v1 [0] 2", "422", "b'0\\n'", "True INT64", "r-1 [0 1] (2, 2)"]
