"""`tracker serve`: the status table, commitment pages, feed health and a JSON API over HTTP.

Pages are rendered on the server and need no JavaScript; nothing is loaded from
another host (no CDN, no web fonts), so the page works offline. FastAPI's own
/docs and /redoc pages load their scripts from a CDN, so they are off; the OpenAPI
description is at /openapi.json.
"""

from __future__ import annotations

import hmac
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Callable, Sequence
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

TOKEN_COOKIE = "tracker_token"
COOKIE_DAYS = 30
# Slack signs its own requests (tracker/web/slack.py); it cannot send our token.
_OPEN_PATHS = ("/slack/", "/static/", "/healthz")


def create_app(
    config_path: Path,
    *,
    access_token: str | None = None,
    signing_secret: str | None = None,
    clock: Callable | None = None,
    allowed_hosts: Sequence[str] = (),
) -> FastAPI:
    """`allowed_hosts`: the Host header values answered (empty: any; `tracker serve` decides)."""
    from tracker.app import App, utc_now
    from tracker.web.api import router as api_router
    from tracker.web.data import ReviewData
    from tracker.web.pages import router as page_router
    from tracker.web.pages import render_error
    from tracker.web.forms import new_form_secret
    from tracker.web.forms import router as form_router
    from tracker.web.slack import router as slack_router

    tracker_app = App(config_path)
    tracker_app.command = "serve"  # in the instance registry, once it sends (a Slack click's alerts)

    @asynccontextmanager
    async def lifespan(_web: FastAPI):
        yield
        tracker_app.close()  # leave the instance registry cleanly

    web = FastAPI(
        lifespan=lifespan,
        title="tracker",
        summary="Clean-energy and climate commitments: status, evidence and feed health",
        docs_url=None,
        redoc_url=None,
    )
    tracker_app.engine  # built (and migrated) now: requests run on several threads at once
    web.state.tracker = tracker_app
    web.state.data = ReviewData(tracker_app, clock or utc_now)
    web.state.slack_signing_secret = signing_secret
    web.state.form_secret = new_form_secret()
    web.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    web.include_router(page_router)
    web.include_router(api_router)
    web.include_router(slack_router)
    web.include_router(form_router)

    @web.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    from tracker.web.metrics import CONTENT_TYPE, fleet_registry, render

    metrics_registry = fleet_registry(tracker_app.engine)

    @web.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """The fleet's figures for Prometheus (behind the access token like every page)."""
        return Response(render(metrics_registry), media_type=CONTENT_TYPE)

    @web.exception_handler(RequestValidationError)
    async def explain_bad_request(request: Request, error: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc'][1:])}: {item['msg']}" for item in error.errors())
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": error.errors()}, status_code=422)
        return render_error(request, 400, f"Bad request: {problems}")

    if access_token:
        _require_token(web, access_token)
    if allowed_hosts:
        # Added last, so it runs first: a request for a host this server was not told to
        # serve (DNS rebinding of the token-less 127.0.0.1 default) gets nothing.
        web.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    return web


def _require_token(web: FastAPI, token: str) -> None:
    """Every page and API call needs the token: `Authorization: Bearer …`, or once `?token=…`
    in a browser, which sets a cookie and drops the token from the address bar."""

    @web.middleware("http")
    async def check_token(request: Request, call_next):
        if request.url.path.startswith(_OPEN_PATHS):
            return await call_next(request)
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            rest = urlencode([(key, value) for key, value in request.query_params.multi_items() if key != "token"])
            path = "/" + request.url.path.lstrip("/")  # never //host: a redirect stays on this site
            response = RedirectResponse(path + (f"?{rest}" if rest else ""), status_code=303)
            # Lax, not Strict: a link to the tracker from Slack, a mail or a wiki must open the page.
            response.set_cookie(TOKEN_COOKIE, token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="lax", secure=request.url.scheme == "https")
            return response
        header = request.headers.get("authorization", "")
        presented = header[7:] if header.lower().startswith("bearer ") else request.cookies.get(TOKEN_COOKIE, "")
        if hmac.compare_digest(presented.encode(), token.encode()):
            return await call_next(request)
        return PlainTextResponse(
            "This tracker needs its access token: send `Authorization: Bearer <token>`, or open any page once with ?token=<token>.",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
