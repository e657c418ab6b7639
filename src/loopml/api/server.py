"""Running the control plane under uvicorn, with the single-user loopback rule checked first."""

from __future__ import annotations

import ipaddress

from loopml.errors import ValidationError

LOOPBACK_NAMES = frozenset({"localhost"})


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, *, single_user: bool) -> None:
    """Refuse single-user mode (no tokens) on any address but loopback.

    Raises:
        ValidationError: ``single_user`` with a non-loopback ``host``.
    """
    if single_user and not _is_loopback(host):
        raise ValidationError(
            f"--single-user serves without tokens, so it may only bind to 127.0.0.1 or ::1, not {host!r}; "
            "drop --single-user and create tokens with 'loopml tokens create --user NAME'", host=host)


def serve(host: str = "127.0.0.1", port: int = 8080, *, single_user: bool = False,
          allowed_hosts: tuple[str, ...] = (), log_level: str = "info") -> None:
    """Serve the API and UI until interrupted (SIGINT/SIGTERM stop it gracefully).

    Args:
        host: the address to bind.
        port: the TCP port (0: any free port).
        single_user: see :func:`check_bind`.
        allowed_hosts: extra ``Host`` header names to accept (e.g. the server's DNS name).
        log_level: uvicorn's log level.
    """
    import uvicorn

    from loopml.api.app import create_app

    check_bind(host, single_user=single_user)
    hosts = (*allowed_hosts, host) if not _is_loopback(host) else allowed_hosts
    app = create_app(single_user=single_user, allowed_hosts=hosts)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)
