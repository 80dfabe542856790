"""`tracker serve`: the review pages, the JSON API and Slack's interactivity endpoints."""

from __future__ import annotations

import click

from tracker.cli import App, secret

ACCESS_TOKEN_ENV = "TRACKER_WEB_TOKEN"
SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for every interface: set $TRACKER_WEB_TOKEN).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.pass_obj
def serve(app: App, host: str, port: int) -> None:
    """Serve the status table, commitment pages, feed health and the JSON API (and Slack's buttons).

    Pages and API ask for $TRACKER_WEB_TOKEN when it is set; Slack's requests are
    accepted only when signed with $SLACK_SIGNING_SECRET.
    """
    import uvicorn

    from tracker.web import create_app

    app.sync_rules()  # fail early, before listening, on a bad config or database
    token = secret(ACCESS_TOKEN_ENV) or None
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        click.echo(f"warning: serving on {host} without ${ACCESS_TOKEN_ENV}: anyone who can reach it can read and change statuses", err=True)
    web = create_app(app.config_path, access_token=token, signing_secret=secret(SIGNING_SECRET_ENV) or None)
    uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)
