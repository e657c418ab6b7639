"""The control-plane application: routers, authentication, authorization, error mapping, the UI."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from loopml.api import _errors, _openapi, policy
from loopml.api._middleware import GuardMiddleware, HostMiddleware
from loopml.api._sagemaker import SageMakerRuntime
from loopml.api.auth import AuthMiddleware, PolicyRoute, authorize
from loopml.api.routes import (
    artifacts,
    charts,
    data,
    endpoints,
    governance,
    models,
    monitoring,
    pipelines,
    runs,
    series,
    views,
)
from loopml.core import context, fragments

DEFAULT_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _add_api_routes(app: FastAPI) -> None:
    """Mount every stage router's routes under the API prefix, each a :class:`PolicyRoute` (policy first).

    Routes are added one by one (not ``include_router``) so ``app.routes`` lists each with its full path, which
    the policy lookup and the route-coverage test rely on.
    """
    for module in (governance, models, pipelines, runs, endpoints, monitoring, data, views, charts, artifacts,
                   series):
        for route in module.router.routes:
            assert isinstance(route, APIRoute)
            app.router.add_api_route(
                policy.PREFIX + route.path, route.endpoint, methods=sorted(route.methods or ()), name=route.name,
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

    @app.get("/ui", include_in_schema=False)
    def ui() -> RedirectResponse:
        return RedirectResponse("/ui/index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        return FileResponse(f"{_ui_folder()}/favicon.svg", media_type="image/svg+xml")


def _fragments_css(request: Request) -> Response:
    """The stylesheet of the HTML views (it lives with the renderers, in ``loopml.core``)."""
    return Response(fragments.css(), media_type="text/css")


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
    app.router.route_class = PolicyRoute  # every API route, including ones added later, checks the policy first
    _errors.install(app)
    _add_api_routes(app)
    _public_routes(app)
    app.add_route("/ui/fragments.css", _fragments_css, include_in_schema=False)
    app.mount("/ui", StaticFiles(directory=_ui_folder(), html=True), name="ui")
    app.add_middleware(SageMakerRuntime)  # POST /endpoints/{name}/invocations for AWS SDKs (after authentication)
    app.add_middleware(AuthMiddleware, single_user=single_user)
    app.add_middleware(GuardMiddleware)
    app.add_middleware(HostMiddleware, allowed_hosts=[*DEFAULT_HOSTS, *allowed_hosts])
    app.state.single_user = single_user
    app.openapi = lambda: _openapi.document(app)  # type: ignore[method-assign]
    return app
