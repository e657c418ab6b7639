"""Outbound URLs given by users (webhooks, imports): only public http(s) hosts, checked again at send time.

Every stage that calls a user-supplied URL (API webhooks fields, async-endpoint notifications, event-rule
webhooks) uses this one module.

:func:`check_url` refuses loopback, private, link-local (cloud metadata ``169.254.169.254``), multicast,
reserved and unspecified addresses, whatever their spelling: dotted, decimal (``2130706433``), hex
(``0x7f000001``), octal, short (``127.1``), IPv6 and IPv4-mapped IPv6 (``::ffff:127.0.0.1``), and host names
that resolve to any of them. :func:`send_json` resolves and checks again just before connecting (so a DNS
answer that changed since creation is caught) and never follows redirects. An operator may allow extra
networks (a private CI receiver) with ``LOOPML_WEBHOOK_ALLOW=10.1.0.0/16,127.0.0.1/32``; the cloud metadata
addresses are refused even then.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from loopml.errors import BackendError, ValidationError

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def system_resolver(host: str) -> list[str]:
    """Every address ``host`` resolves to."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except OSError as exc:
        raise ValidationError(f"host {host!r} does not resolve; give a public host name", host=host) from exc


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.ip_address(socket.inet_aton(host))  # decimal, hex, octal, short forms
        except OSError:
            return None
    return None


_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


def _allowed(address: IPAddress) -> bool:
    spec = os.environ.get("LOOPML_WEBHOOK_ALLOW", "")
    nets = [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]
    mapped = getattr(address, "ipv4_mapped", None) or address
    if any(mapped in net for net in _METADATA):
        return False
    return any(mapped in net for net in nets)


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a globally routable unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    mapped = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    if mapped is not None:
        return is_public(mapped)
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_link_local)


def check_url(url: str, *, resolve: Resolver = system_resolver) -> list[str]:
    """Validate an outbound URL; returns the addresses it resolved to.

    Raises:
        ValidationError: not http(s), credentials in the URL, no host, or a host that is or resolves to a
            non-public address.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"URL {url!r} is not allowed; give an http:// or https:// URL with a host", url=url)
    if parts.username or parts.password or "\\" in url or any(ord(c) < 33 for c in url.strip()):
        raise ValidationError(f"URL {url!r} must not carry credentials, backslashes or control characters", url=url)
    host = parts.hostname
    literal = _literal(host)
    addresses = [str(literal)] if literal is not None else resolve(host)
    bad = [a for a in addresses
           if not (is_public(ip := ipaddress.ip_address(a.split("%")[0])) or _allowed(ip))]
    if bad or not addresses:
        raise ValidationError(
            f"URL {url!r} points at {', '.join(bad) or 'nothing'}, which is not a public address; loopback, "
            "private, link-local and metadata addresses are refused", url=url)
    return addresses


def send_json(url: str, payload: Any, *, resolve: Resolver = system_resolver, timeout: float = 5.0) -> int:
    """POST ``payload`` as JSON after checking the URL again; returns the status code (redirects not followed).

    Raises:
        ValidationError: the URL is (now) not allowed.
        BackendError: the receiver could not be reached.
    """
    import httpx

    check_url(url, resolve=resolve)
    try:
        response = httpx.post(url, json=payload, timeout=timeout, follow_redirects=False, trust_env=False)
    except httpx.HTTPError as exc:
        raise BackendError(f"could not deliver to {url}: {type(exc).__name__}; check the receiver", url=url) from exc
    return response.status_code
