"""SigV4 as the server checks it: AWS's documented test-suite example, botocore's signatures, and refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from loopml.core import sigv4

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # AWS's documented example key pair
KEY = "AKIDEXAMPLE"
WHEN = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)


def test_aws_test_suite_get_vanilla() -> None:
    """AWS's SigV4 test suite, get-vanilla: the canonical request and the signature it documents."""
    header = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
              "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")]
    auth = sigv4.parse_authorization(header)
    canonical = sigv4.canonical_request("GET", "/", "", headers, auth, sigv4.payload_hash(b"", None))
    assert canonical == ("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n"
                         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    sigv4.verify(SECRET, method="GET", raw_path="/", raw_query="", headers=headers, body=b"", auth=auth, now=WHEN)


def signed(method: str, url: str, body: bytes, headers: dict[str, str], *, secret: str = SECRET,
           when: datetime = WHEN, service: str = "sagemaker") -> tuple[list[tuple[str, str]], sigv4.Authorization]:
    """The request as botocore signs it (its own steps, at ``when``)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method, url, data=body, headers=headers)
    signer = SigV4Auth(Credentials(KEY, secret), service, "eu-west-1")
    request.context["timestamp"] = f"{when:%Y%m%dT%H%M%SZ}"
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signer._inject_signature_to_request(request, signer.signature(signer.string_to_sign(request, canonical), request))
    sent = [(k, v) for k, v in request.headers.items()] + [("host", urlsplit(url).netloc)]
    return sent, sigv4.parse_authorization(request.headers["Authorization"])


@pytest.mark.parametrize(("method", "url", "body", "headers"), [
    ("POST", "http://127.0.0.1:8080/endpoints/churn/invocations", b"1,2,3\n", {"Content-Type": "text/csv"}),
    ("POST", "http://127.0.0.1:8080/endpoints/churn/invocations", b'[{"a": 1}]',
     {"Content-Type": "application/json", "X-Amzn-SageMaker-Custom-Attributes": "a=1;  b=2",
      "X-Amzn-SageMaker-Inference-Id": "id 7"}),
    ("GET", "http://127.0.0.1:8080/api/v1/models?b=2&a=1&a=0&name=x%20y&t=%E2%9C%93", b"", {}),
    ("POST", "http://localhost/endpoints/a-b/async-invocations", b"", {"X-Amzn-SageMaker-InputLocation": "s3://b/k"}),
])
def test_botocore_signatures_verify(method: str, url: str, body: bytes, headers: dict[str, str]) -> None:
    sent, auth = signed(method, url, body, headers)
    split = urlsplit(url)
    sigv4.verify(SECRET, method=method, raw_path=split.path, raw_query=split.query, headers=sent, body=body,
                 auth=auth, now=WHEN + timedelta(seconds=30))


def refused(code: str, **change: object) -> sigv4.SignatureRefused:
    url = "http://127.0.0.1:8080/endpoints/churn/invocations"
    sent, auth = signed("POST", url, b"1,2,3\n", {"Content-Type": "text/csv"})
    args: dict[str, object] = {"method": "POST", "raw_path": "/endpoints/churn/invocations", "raw_query": "",
                               "headers": sent, "body": b"1,2,3\n", "auth": auth, "now": WHEN}
    args.update(change)
    with pytest.raises(sigv4.SignatureRefused) as caught:
        sigv4.verify(str(args.pop("secret", SECRET)), **args)  # type: ignore[arg-type]
    assert caught.value.code == code
    return caught.value


def test_refusals() -> None:
    """A wrong secret, a changed body, path or method, and a date more than 5 minutes off; within 5 minutes
    either way is accepted."""
    refused("InvalidSignatureException", secret=SECRET[:-1] + "x")
    refused("InvalidSignatureException", body=b"9,9,9\n")  # the payload hash is signed
    refused("InvalidSignatureException", raw_path="/endpoints/other/invocations")
    refused("InvalidSignatureException", method="PUT")
    late = refused("InvalidSignatureException", now=WHEN + timedelta(minutes=5, seconds=1))
    assert late.message.startswith("Signature expired: 20150830T123600Z is now earlier than")
    refused("InvalidSignatureException", now=WHEN - timedelta(minutes=5, seconds=1))
    for skew in (timedelta(minutes=4, seconds=59), -timedelta(minutes=4, seconds=59)):
        url = "http://127.0.0.1:8080/endpoints/churn/invocations"
        sent, auth = signed("POST", url, b"x", {})
        sigv4.verify(SECRET, method="POST", raw_path="/endpoints/churn/invocations", raw_query="", headers=sent,
                     body=b"x", auth=auth, now=WHEN + skew)


def test_malformed_authorization_headers() -> None:
    for value in ("AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s/aws4_request",
                  "AWS4-HMAC-SHA256 Credential=bad, SignedHeaders=host, Signature=" + "0" * 64,
                  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE1234567/20150830/us-east-1/s/aws4_request, "
                  "SignedHeaders=host, Signature=xyz"):
        with pytest.raises(sigv4.SignatureRefused) as caught:
            sigv4.parse_authorization(value)
        assert (caught.value.code, caught.value.status) == ("IncompleteSignatureException", 400)
    with pytest.raises(sigv4.SignatureRefused, match="Host header must be signed"):
        sigv4.parse_authorization("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE1234567/20150830/us-east-1/s/aws4_request, "
                                  "SignedHeaders=x-amz-date, Signature=" + "0" * 64)
