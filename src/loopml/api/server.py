"""Running the control plane under uvicorn, with the single-user loopback rule checked first."""

from __future__ import annotations

import ipaddress
import re
import socket

from loopml.core import checks
from loopml.errors import ValidationError

LOOPBACK_NAMES = frozenset({"localhost"})


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, single_user: bool, port: int | None = None, allowed_hosts: tuple[str, ...] = ()) -> None:
    """Refuse single-user mode (no tokens) on any address but loopback; with ``port``, also check that
    the address can be listened on now, so a mistake is one clear error before anything starts.

    Raises:
        ValidationError: ``single_user`` with a non-loopback ``host``; an empty or unknown host, a port
            outside 0-65535 or in use, an allowed host name that is not a host name.
    """
    if not host or not host.strip():
        raise ValidationError("the host to bind is empty; give an address such as 127.0.0.1")
    if single_user and not _is_loopback(host):
        raise ValidationError(
            f"--single-user serves without tokens, so it may only bind to 127.0.0.1 or ::1, not {host!r}; "
            "drop --single-user and create tokens with 'loopml tokens create --user NAME'", host=host)
    for name in allowed_hosts:
        if not _HOST_NAME.fullmatch(name):
            raise ValidationError(f"allowed host {name!r} is not a host name; give a name such as "
                                  "models.example.com or *.example.com")
    if port is not None:
        _check_listen(host, checks.integer(port, "port", low=0, high=65535))


_HOST_NAME = re.compile(r"(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]{0,252})(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


def _check_listen(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"cannot resolve the host {host!r} to bind; give an address such as 127.0.0.1 or "
                              "0.0.0.0", host=host) from exc
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ValidationError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or "
                                  "--host", host=host, port=port) from exc


def check_single_user() -> str:
    """The identity single-user mode acts as; it must hold a role (a fresh home grants its founder one).

    Raises:
        PermissionDenied: the OS user (``LOOPML_USER``) was never granted a role here, or lost its last one.
    """
    from loopml.core import context, identity

    user = context.claimed_user()
    with context.get_db().read() as conn:
        identity.require_any_role(conn, user, action="serve this home in single-user mode")
    return user


def serve(host: str = "127.0.0.1", port: int = 8080, *, single_user: bool = False,
          allowed_hosts: tuple[str, ...] = (), log_level: str = "info") -> None:
    """Serve the API and UI until interrupted (SIGINT/SIGTERM stop it gracefully).

    Args:
        host: the address to bind.
        port: the TCP port (0: any free port).
        single_user: act as the OS user without tokens; see :func:`check_bind` and :func:`check_single_user`.
        allowed_hosts: extra ``Host`` header names to accept (e.g. the server's DNS name).
        log_level: uvicorn's log level.
    """
    import uvicorn

    from loopml.api.app import create_app

    check_bind(host, single_user=single_user, port=port, allowed_hosts=allowed_hosts)
    if single_user:
        check_single_user()
    hosts = (*allowed_hosts, host) if not _is_loopback(host) else allowed_hosts
    app = create_app(single_user=single_user, allowed_hosts=hosts)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)
