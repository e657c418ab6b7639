"""Outbound URLs given by users (webhooks, imports): only public http(s) hosts, checked again at send time.

Every stage that calls a user-supplied URL (API webhooks fields, async-endpoint notifications, event-rule
webhooks) uses this one module.

:func:`check_url` refuses loopback, private, link-local (cloud metadata ``169.254.169.254``), multicast,
reserved and unspecified addresses, whatever their spelling: dotted, decimal (``2130706433``), hex
(``0x7f000001``), octal, short (``127.1``), IPv6 and IPv4-mapped IPv6 (``::ffff:127.0.0.1``), and host names
that resolve to any of them. :func:`send_json` (and :func:`asend_json`) resolve and check again just before
connecting, then connect to exactly the address checked: the request is pinned to it, with the ``Host``
header and the TLS server name (and certificate check) kept on the name, so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot redirect the call; redirects are never
followed. Names are resolved by the system, or by the DNS server in ``LOOPML_DNS`` when set. An operator
may allow extra networks (a private CI receiver) with ``LOOPML_WEBHOOK_ALLOW=10.1.0.0/16,127.0.0.1/32``; the cloud metadata
addresses are refused even then.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from loopml.config import get_settings
from loopml.errors import BackendError, ValidationError

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def configured_resolver() -> Resolver:
    """The resolver for outbound hosts: the DNS server in ``LOOPML_DNS`` (``host[:port]``) when set,
    else the system's."""
    server = get_settings().dns.strip()
    return partial(dns_resolver, server=server) if server else system_resolver


def dns_resolver(host: str, *, server: str) -> list[str]:
    """Every A and AAAA address ``host`` has, asked of the DNS server ``server`` (``host[:port]``)."""
    import dns.exception
    import dns.resolver

    name, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [name.strip("[]")], int(port or 53)
    found: set[str] = set()
    for kind in ("A", "AAAA"):
        try:
            found.update(r.to_text() for r in resolver.resolve(host, kind, lifetime=5.0))
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except dns.exception.DNSException as exc:
            raise ValidationError(f"host {host!r} could not be resolved with LOOPML_DNS={server}: "
                                  f"{type(exc).__name__}", host=host) from exc
    if not found:
        raise ValidationError(f"host {host!r} does not resolve; give a public host name", host=host)
    return sorted(found)


def system_resolver(host: str) -> list[str]:
    """Every address ``host`` resolves to."""
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
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
    spec = get_settings().webhook_allow
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


def check_url(url: str, *, resolve: Resolver | None = None) -> list[str]:
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
    addresses = [str(literal)] if literal is not None else (resolve or configured_resolver())(host)
    bad = [a for a in addresses
           if not (is_public(ip := ipaddress.ip_address(a.split("%")[0])) or _allowed(ip))]
    if bad or not addresses:
        raise ValidationError(
            f"URL {url!r} points at {', '.join(bad) or 'nothing'}, which is not a public address; loopback, "
            "private, link-local and metadata addresses are refused", url=url)
    return addresses


@dataclass(frozen=True)
class Pinned:
    """An outbound request bound to the address that was checked: connect to ``url`` (the host replaced by
    that address), send ``headers`` (``Host`` is the name the user gave) and, for https, ``extensions``
    (the TLS server name and certificate check stay on that name)."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]
    address: str


def pin(url: str, *, resolve: Resolver | None = None) -> Pinned:
    """Resolve ``url``'s host once, check the address, and bind the request to it (no second lookup).

    Raises:
        ValidationError: the URL is (now) not allowed.
    """
    address = check_url(url, resolve=resolve or configured_resolver())[0]
    parts = urlsplit(url.strip())
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), {"host": parts.netloc}, extensions, address)


def send_json(url: str, payload: Any, *, resolve: Resolver | None = None, timeout: float = 5.0,
              headers: dict[str, str] | None = None) -> int:
    """POST ``payload`` as JSON to the address checked just now; returns the status code (no redirects).

    Raises:
        ValidationError: the URL is (now) not allowed.
        BackendError: the receiver could not be reached.
    """
    import httpx

    target = pin(url, resolve=resolve)
    try:
        with httpx.Client(trust_env=False, follow_redirects=False) as client:
            response = client.post(target.url, content=_json(payload), headers=_headers(target, headers),
                                   extensions=target.extensions, timeout=timeout)
    except httpx.HTTPError as exc:
        raise BackendError(f"could not deliver to {url}: {type(exc).__name__}; check the receiver", url=url) from exc
    return response.status_code


async def asend_json(client: Any, url: str, payload: Any, *, resolve: Resolver | None = None,
                     timeout: float = 5.0) -> int:
    """:func:`send_json` on an ``httpx.AsyncClient`` (resolution and the check run off the event loop)."""
    import asyncio

    import httpx

    target = await asyncio.to_thread(pin, url, resolve=resolve)
    try:
        response = await client.post(target.url, content=_json(payload), headers=_headers(target, None),
                                     extensions=target.extensions, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise BackendError(f"could not deliver to {url}: {type(exc).__name__}; check the receiver", url=url) from exc
    return int(response.status_code)


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def _headers(target: Pinned, extra: dict[str, str] | None) -> dict[str, str]:
    given = {k: v for k, v in (extra or {}).items() if k.lower() != "host"}
    return {"content-type": "application/json", **given, **target.headers}
