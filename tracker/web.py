"""`tracker serve`: the status table, commitment pages, feed health and a JSON API over HTTP."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI


def create_app(config_path: Path, *, access_token: str | None = None, signing_secret: str | None = None) -> FastAPI:
    from tracker.cli import App
    from tracker.web_slack import router as slack_router

    web = FastAPI(title="tracker", summary="Clean-energy and climate commitments, their status and evidence")
    web.state.tracker = App(config_path)
    web.state.access_token = access_token
    web.state.slack_signing_secret = signing_secret
    web.include_router(slack_router)
    return web
