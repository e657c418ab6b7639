"""AWS Signature Version 4, checked on the server side, as AWS documents it.

A request signed by an AWS SDK carries ``Authorization: AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
SERVICE/aws4_request, SignedHeaders=h1;h2, Signature=HEX`` and ``X-Amz-Date``. The server rebuilds the
canonical request (method, canonical URI, canonical query string, canonical headers, signed headers, hex
sha256 of the payload), the string to sign (algorithm, request time, credential scope, hash of the
canonical request) and the signing key (HMAC chain over date, region, service and ``aws4_request``,
keyed by ``"AWS4" + secret``), and compares signatures in constant time.

Each failure is a :class:`SignatureRefused` carrying the error code an AWS JSON service answers with, so
an SDK raises the ``ClientError`` its users already handle.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
#: How far the request's X-Amz-Date may be from the server's clock (AWS: 5 minutes).
MAX_SKEW = timedelta(minutes=5)
_CREDENTIAL = re.compile(r"^([A-Za-z0-9]{1,128})/(\d{8})/([a-z0-9-]{1,40})/([a-z0-9-]{1,40})/aws4_request$")
_SPACES = re.compile(r" +")


class SignatureRefused(Exception):
    """The request's signature cannot be accepted; ``code`` is the AWS error code, ``status`` its HTTP status."""

    def __init__(self, code: str, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class Authorization:
    """The parts of a SigV4 ``Authorization`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def is_sigv4(value: str | None) -> bool:
    """Whether an ``Authorization`` header value is a SigV4 signature."""
    return bool(value) and value.startswith(ALGORITHM + " ")  # type: ignore[union-attr]


def parse_authorization(value: str) -> Authorization:
    """Split the header; a malformed one is ``IncompleteSignatureException`` (400), as AWS answers."""
    parts = {}
    for item in value[len(ALGORITHM):].split(","):
        key, _, val = item.strip().partition("=")
        parts[key] = val.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not parts.get(k)]
    if missing:
        raise SignatureRefused("IncompleteSignatureException", f"Authorization header requires {', '.join(missing)} "
                               "parameter(s); sign the request with an AWS SDK", status=400)
    match = _CREDENTIAL.match(parts["Credential"])
    if not match or not re.fullmatch(r"[0-9a-f]{64}", parts["Signature"]):
        raise SignatureRefused("IncompleteSignatureException", "the Credential or Signature of the Authorization "
                               "header is malformed; expected AKID/yyyymmdd/region/service/aws4_request and 64 hex "
                               "digits", status=400)
    headers = tuple(parts["SignedHeaders"].split(";"))
    if "host" not in headers:
        raise SignatureRefused("InvalidSignatureException", "the Host header must be signed (SignedHeaders lacks host)")
    return Authorization(match[1], match[2], match[3], match[4], headers, parts["Signature"])


def request_time(amz_date: str | None, auth: Authorization, *, now: datetime | None = None) -> datetime:
    """The signed ``X-Amz-Date`` as a UTC time, within :data:`MAX_SKEW` of ``now`` and matching the scope's date."""
    try:
        when = datetime.strptime(amz_date or "", "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRefused("IncompleteSignatureException", "the request needs an X-Amz-Date header in "
                               "yyyymmddThhmmssZ form (AWS SDKs send it)", status=400) from None
    now = now or datetime.now(UTC)
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    if when < now - MAX_SKEW:
        raise SignatureRefused("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier than "
                               f"{now - MAX_SKEW:%Y%m%dT%H%M%SZ} ({stamp} - 5 min.)")
    if when > now + MAX_SKEW:
        raise SignatureRefused("InvalidSignatureException", f"Signature not yet current: {amz_date} is still later "
                               f"than {now + MAX_SKEW:%Y%m%dT%H%M%SZ} ({stamp} + 5 min.)")
    if auth.date != f"{when:%Y%m%d}":
        raise SignatureRefused("InvalidSignatureException", f"the credential scope's date {auth.date} is not the "
                               f"date of X-Amz-Date {amz_date}")
    return when


def _encode(text: str) -> str:
    """URI-encode as SigV4 does: every byte except the unreserved characters A-Z a-z 0-9 - _ . ~."""
    return quote(text, safe="-_.~")


def canonical_uri(raw_path: str) -> str:
    """The canonical URI of a non-S3 service: the path as sent, each segment URI-encoded once more."""
    return quote(raw_path or "/", safe="/~")


def canonical_query(raw_query: str) -> str:
    """Parameters sorted by encoded name, then value; names and values URI-encoded (``%20``, never ``+``)."""
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        name, _, value = item.partition("=")
        pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_headers(headers: list[tuple[str, str]], signed: tuple[str, ...]) -> str:
    """``name:value\\n`` for each signed header: lowercase names, trimmed values, repeated values joined by commas."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(_SPACES.sub(" ", value.strip()))
    missing = [h for h in signed if h not in values]
    if missing:
        raise SignatureRefused("InvalidSignatureException", f"signed header(s) {', '.join(missing)} are not in the "
                               "request")
    return "".join(f"{h}:{','.join(values[h])}\n" for h in signed)


def canonical_request(method: str, raw_path: str, raw_query: str, headers: list[tuple[str, str]],
                      auth: Authorization, payload_hash: str) -> str:
    """The canonical request AWS documents, from the request as received."""
    return "\n".join([method, canonical_uri(raw_path), canonical_query(raw_query),
                      canonical_headers(headers, auth.signed_headers), ";".join(auth.signed_headers), payload_hash])


def string_to_sign(amz_date: str, auth: Authorization, canonical: str) -> str:
    return "\n".join([ALGORITHM, amz_date, auth.scope, hashlib.sha256(canonical.encode()).hexdigest()])


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """``HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")``."""
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(secret: str, auth: Authorization, amz_date: str, canonical: str) -> str:
    key = signing_key(secret, auth.date, auth.region, auth.service)
    return hmac.new(key, string_to_sign(amz_date, auth, canonical).encode(), hashlib.sha256).hexdigest()


def payload_hash(body: bytes, declared: str | None) -> str:
    """The payload hash to sign: the body's sha256; a declared ``X-Amz-Content-Sha256`` must equal it."""
    actual = hashlib.sha256(body).hexdigest()
    if declared is not None and declared != actual:
        raise SignatureRefused("InvalidSignatureException", "X-Amz-Content-Sha256 does not match the sha256 of the "
                               "body; the body was changed after signing or the header is wrong")
    return actual


def verify(secret: str, *, method: str, raw_path: str, raw_query: str, headers: list[tuple[str, str]],
           body: bytes, auth: Authorization, now: datetime | None = None) -> None:
    """Check one request's signature with the key pair's ``secret``.

    Raises:
        SignatureRefused: the date is missing or more than 5 minutes off, or the signature does not match.
    """
    lookup = {k.lower(): v for k, v in headers}
    amz_date = lookup.get("x-amz-date")
    request_time(amz_date, auth, now=now)
    canonical = canonical_request(method, raw_path, raw_query, headers, auth,
                                  payload_hash(body, lookup.get("x-amz-content-sha256")))
    if not hmac.compare_digest(signature(secret, auth, amz_date or "", canonical), auth.signature):
        raise SignatureRefused("InvalidSignatureException", "The request signature we calculated does not match the "
                               "signature you provided. Check your AWS Secret Access Key and signing method. "
                               "Consult the service documentation for details.")
