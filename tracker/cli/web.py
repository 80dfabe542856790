"""`tracker serve`: the review pages, the JSON API and Slack's interactivity endpoints."""

from __future__ import annotations

import socket

import click

from tracker.app import ACCESS_TOKEN_ENV, SIGNING_SECRET_ENV, App, secret
from tracker.cli.common import Fatal


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
    app.sync_feeds()  # the configured feeds are known (and counted by /metrics) before the first poll
    token = secret(ACCESS_TOKEN_ENV) or None
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        click.echo(f"warning: serving on {host} without ${ACCESS_TOKEN_ENV}: anyone who can reach it can read every commitment and its evidence", err=True)
    allowed = served_host_names(host, app.settings.web.allowed_hosts)
    if not allowed:
        click.echo(f"warning: serving on {host} for any Host name: list the names it is reached by in [web] allowed_hosts", err=True)
    listening = _bind(host, port)
    web = create_app(app.config_path, access_token=token, signing_secret=secret(SIGNING_SECRET_ENV) or None, allowed_hosts=allowed)
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(
        f"serving the review pages on http://{shown_host}:{listening.getsockname()[1]}/ (API: /api/commitments, /openapi.json); "
        f"access token {'required' if token else 'not set'}, Slack requests {'verified' if secret(SIGNING_SECRET_ENV) else 'refused (no $' + SIGNING_SECRET_ENV + ')'}; Ctrl-C stops",
        err=True,
    )
    config = uvicorn.Config(web, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listening])


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def served_host_names(host: str, configured: list[str]) -> list[str]:
    """The Host names answered: those configured, and loopback's when listening on loopback
    (a local scrape or watchdog keeps working; a browser tricked into calling 127.0.0.1
    under another name gets nothing). Off loopback with none configured: any."""
    loopback = list(LOOPBACK_NAMES) if host in LOOPBACK_NAMES else []
    return list(dict.fromkeys([*configured, *loopback]))


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a port in use is one clear line, not a server's traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise Fatal(f"cannot listen on {host}:{port}: {error.strerror} (another `tracker serve`? choose one with --port)") from None
    listening.listen(128)
    listening.set_inheritable(True)
    return listening
