"""Webhook URL safety: only http(s) to public addresses, checked at creation and again at send time.

Loopback, private, link-local (which includes the cloud metadata address 169.254.169.254), shared,
reserved, multicast and unspecified addresses are refused, in every spelling (decimal, hex, IPv6,
IPv4-mapped IPv6) because the host is resolved and each resulting address is checked. An operator can
allow extra networks (e.g. a private CI receiver) with ``LOOPML_WEBHOOK_ALLOW=10.1.0.0/16,127.0.0.1/32``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

from loopml.errors import ValidationError

_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


def check_url(url: str) -> tuple[str, list[str]]:
    """Refuse a webhook URL that is not http(s) or resolves to a non-public address.

    Returns:
        ``(url, addresses)``: the URL and the addresses its host resolved to (all checked).

    Raises:
        ValidationError: a bad scheme, credentials in the URL, no host, a host that does not resolve,
            or any resolved address that is not public.
    """
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"webhook url {url!r} is not an http(s) URL with a host; use https://host/path",
                              url=url)
    if parts.username or parts.password:
        raise ValidationError("webhook urls may not carry credentials; put a token in the rule's headers")
    addresses = _resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    for address in addresses:
        _check_address(url, address)
    return url, addresses


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"webhook host {host!r} does not resolve ({exc}); check the URL", host=host) from exc
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    spec = os.environ.get("LOOPML_WEBHOOK_ALLOW", "")
    return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]


def _check_address(url: str, text: str) -> None:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in _METADATA):
        raise ValidationError(f"webhook url {url!r} points at the cloud metadata address {address}; refused",
                              url=url)
    if any(address in net for net in _allowed_networks()):
        return
    if not address.is_global or address.is_multicast:
        raise ValidationError(
            f"webhook url {url!r} resolves to {address}, a loopback/private/link-local/reserved address; "
            "webhooks may only call public hosts (an admin can allow a network with LOOPML_WEBHOOK_ALLOW)",
            url=url, address=str(address))
