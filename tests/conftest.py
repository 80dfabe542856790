"""Shared test parts: a real HTTP server for feeds, config files, the CLI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from storage.engine import make_engine
from tracker.cli import main

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a poll opens 16 at once.
    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up early (a cap, a timeout, a killed sender) is part of the test."""


@dataclass
class Route:
    """What the feed server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/rss+xml"})
    etag: str | None = None
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


class FeedServer:
    """A real HTTP server on 127.0.0.1 (or another loopback address) with routes a test
    sets, recording every request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path)
                if route is None:
                    self._answer(404, {"Content-Type": "text/plain"}, b"not found")
                elif route.handler is not None:
                    route.handler(self)
                elif route.etag and self.headers.get("If-None-Match") == route.etag:
                    self._answer(304, {"ETag": route.etag}, b"")
                else:
                    headers = dict(route.headers)
                    if route.etag:
                        headers["ETag"] = route.etag
                    self._answer(route.status, headers, route.body)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = _Server((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [headers for request_path, headers in self.requests if request_path == path]


@pytest.fixture(scope="session", autouse=True)
def rule_cache(tmp_path_factory):
    """The tests' own rule cache (tracker.matching.rulecache), not the user's; subprocesses
    inherit it through the environment."""
    folder = tmp_path_factory.mktemp("rule-cache")
    previous = os.environ.get("TRACKER_CACHE_DIR")
    os.environ["TRACKER_CACHE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("TRACKER_CACHE_DIR", None)
    else:
        os.environ["TRACKER_CACHE_DIR"] = previous


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server


def write_config(folder: Path, feeds: list[tuple[str, str]], rules: list[Path] | None = None, extra: str = "") -> Path:
    rule_paths = ", ".join(f'"{path}"' for path in (rules or [DATA / "rules"]))
    lines = [
        "[database]",
        'url = "sqlite:///tracker.db"',
        "[rules]",
        f"paths = [{rule_paths}]",
        # The pipeline's tests read signals with the built-in phrases: what they check must
        # not change when the model is retrained. tests/test_judgement.py reads with the model.
        "" if "[signals]" in extra else '[signals]\nreader = "phrases"',
        extra,
    ]
    for name, url in feeds:
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"']
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cli(monkeypatch):
    """Run `tracker …` in-process; no Slack token, so alerts go to the console."""
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRACKER_CONFIG", raising=False)

    def run(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return run


def postgres_url() -> str | None:
    return os.environ.get("TRACKER_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_database():
    """A fresh PostgreSQL database per test, dropped afterwards."""
    url = postgres_url()
    if not url:
        pytest.skip("TRACKER_TEST_POSTGRES_URL is not set")
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    name = f"tracker_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield database_url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()



@pytest.fixture
def tracked(tmp_path, cli) -> Path:
    """A tracker with the shipped rules and two fixture feeds ingested (web and export tests)."""
    config = write_config(tmp_path, [], rules=[REPO / "rules"])
    feeds = [DATA / "feeds" / "battery_trade.xml", DATA / "feeds" / "climate_news.xml"]
    result = cli("--config", str(config), "poll", *[argument for feed in feeds for argument in ("--file", str(feed))])
    assert result.exit_code == 0, result.output
    return config


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"tracker serve exited: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def served(tracked):
    """A real `tracker serve` process on a free port of 127.0.0.1; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tracker", "--config", str(tracked), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRACKER_WEB_TOKEN": "", "SLACK_BOT_TOKEN": ""},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)




@pytest.fixture
def slack(cli, monkeypatch, request):
    """A Slack stand-in and the environment that points the CLI and the web app at it,
    with the test module's TOKEN (after `cli` cleared the environment). Modules that
    talk to the stand-in without the CLI define a `slack` fixture of their own."""
    from tests.slack_stub import SlackStub

    for name in ("SLACK_BOT_TOKEN_FILE", "SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL_FILE"):
        monkeypatch.delenv(name, raising=False)
    with SlackStub() as stub:
        monkeypatch.setenv("SLACK_BOT_TOKEN", request.module.TOKEN)
        monkeypatch.setenv("SLACK_API_URL", stub.base_url)
        yield stub
