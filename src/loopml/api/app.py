"""The control-plane application: routers, authentication, authorization, error mapping, the UI."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from loopml.api import _errors, policy
from loopml.api._middleware import GuardMiddleware
from loopml.api.auth import AuthMiddleware, authorize
from loopml.api.routes import data, endpoints, governance, models, monitoring, pipelines, runs
from loopml.core import context

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _add_api_routes(app: FastAPI) -> None:
    """Mount every stage router's routes under the API prefix, each guarded by :func:`authorize`.

    Routes are added one by one (not ``include_router``) so ``app.routes`` lists each with its full path, which
    the policy lookup and the route-coverage test rely on.
    """
    for module in (governance, models, pipelines, runs, endpoints, monitoring, data):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            app.router.add_api_route(
                policy.PREFIX + route.path, route.endpoint, methods=sorted(route.methods), name=route.name,
                response_model=route.response_model, status_code=route.status_code, summary=route.summary,
                tags=list(route.tags), response_class=route.response_class, dependencies=[Depends(authorize)])


def _ui_folder() -> str:
    from importlib.resources import files

    return str(files("loopml.ui") / "static")


def _public_routes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> dict[str, str]:
        context.get_db()
        return {"status": "ready"}

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/ui/index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(f"{_ui_folder()}/favicon.svg", media_type="image/svg+xml")


def create_app(*, single_user: bool = False, allowed_hosts: Iterable[str] = ()) -> FastAPI:
    """Build the control plane over the configured stores.

    Args:
        single_user: no tokens: the OS user (``LOOPML_USER``) is the identity. Only for a server bound to
            loopback; :func:`loopml.api.serve` refuses it otherwise, and the app refuses non-loopback clients.
        allowed_hosts: ``Host`` header values accepted besides loopback names (others get 400).

    Returns:
        The FastAPI application (OpenAPI at ``/openapi.json``, the UI at ``/ui/``).
    """
    from loopml import __version__

    app = FastAPI(title="loopml control plane", version=__version__, docs_url=None, redoc_url=None, redirect_slashes=False,
                  description="The governed ML loop over HTTP. Every route needs 'Authorization: Bearer <token>'.")
    _errors.install(app)
    _add_api_routes(app)
    _public_routes(app)
    app.mount("/ui", StaticFiles(directory=_ui_folder(), html=True), name="ui")
    app.add_middleware(AuthMiddleware, single_user=single_user)
    app.add_middleware(GuardMiddleware)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=[*DEFAULT_HOSTS, *allowed_hosts])
    app.state.single_user = single_user
    return app
