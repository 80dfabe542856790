"""Bad input from the network: each ends as a recorded error on its feed, while every
other feed works and the cycle finishes. Real HTTP on 127.0.0.1 throughout."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DATA, FeedServer, Route, write_config

GOOD = (DATA / "feeds" / "climate_news.xml").read_bytes()
CAP = 2 * 1024 * 1024


def _stall_mid_body(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(len(GOOD)))
    handler.end_headers()
    handler.wfile.write(GOOD[:300])
    handler.wfile.flush()
    time.sleep(4)


def _truncated(handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(len(GOOD)))
    handler.end_headers()
    handler.wfile.write(GOOD[: len(GOOD) // 2])
    handler.close_connection = True


def _endless(handler) -> None:
    """200 MB with no Content-Length: only the cap can stop it."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    chunk = b"<item><title>x</title></item>" * 4096
    try:
        for _ in range(200 * 1024 * 1024 // len(chunk)):
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    handler.close_connection = True


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<rss version="2.0"><channel><title>bomb</title><item><title>&e;</title></item></channel></rss>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>xxe</title><item><title>&secret;</title><link>https://x.example/1</link></item></channel></rss>"""

WRONG_ENCODING = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    "<item><title>Énergie : la Chine accélère son programme nucléaire</title><link>https://x.example/a</link></item>"
    "</channel></rss>"
).encode("latin-1")

HOSTILE: dict[str, tuple[Route | None, str]] = {
    "refused": (None, "ConnectError"),
    "dns": (None, "cannot resolve no-such-host.invalid"),
    "stall": (Route(handler=_stall_mid_body), "timed out"),
    "missing": (Route(b"no", status=404), "HTTP 404"),
    "gone": (Route(b"bye", status=410), "HTTP 410"),
    "broken": (Route(b"oops", status=500), "HTTP 500"),
    "truncated": (Route(handler=_truncated), "RemoteProtocolError"),
    "cut-xml": (Route(GOOD[:200]), "no entries"),
    "html": (Route(b"<!doctype html><html><body><h1>Shop</h1></body></html>", headers={"Content-Type": "text/html"}), "no entries: not a feed"),
    "empty": (Route(b""), "empty body"),
    "laughs": (Route(BILLION_LAUGHS), "refused: the document declares XML entities"),
    "xxe": (Route(EXTERNAL_ENTITY), "refused: the document declares XML entities"),
    "huge": (Route(handler=_endless), "cap"),
    "gzip-bomb": (Route(gzip.compress(b" " * (50 * 1024 * 1024)), headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}), "cap"),
    "loop": (Route(status=302, headers={"Location": "/loop"}), "redirect loop"),
    "encoding": (Route(WRONG_ENCODING), "recovered: CharacterEncodingOverride"),
}


@pytest.fixture(scope="module")
def hostile_poll(tmp_path_factory):
    """One poll over a good feed and every hostile endpoint; every test reads its outcome."""
    with FeedServer() as feed_server:
        yield _poll_everything(feed_server, tmp_path_factory.mktemp("hostile"))


def _poll_everything(feed_server, tmp_path):
    feeds = [("good", feed_server.url("/good.xml"))]
    feed_server.routes["/good.xml"] = Route(GOOD)
    for name, (route, _expected) in HOSTILE.items():
        if name == "refused":
            feeds.append((name, "http://127.0.0.1:9/feed.xml"))
        elif name == "dns":
            feeds.append((name, "http://no-such-host.invalid/feed.xml"))
        else:
            feed_server.routes[f"/{name}"] = route
            feeds.append((name, feed_server.url(f"/{name}")))
    config = write_config(
        tmp_path, feeds, extra=f'[fetch]\ntimeout = "1s"\ndeadline = "3s"\nmax_body_bytes = {CAP}\nper_host = 16'
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("SLACK_BOT_TOKEN", "TRACKER_DATABASE_URL")}
    tracker = str(Path(sys.executable).parent / "tracker")
    # A wrapper whose only child is the poll: its RUSAGE_CHILDREN is that poll's peak alone.
    measure = "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
    started = time.monotonic()
    poll = subprocess.run([sys.executable, "-c", measure, tracker, "--config", str(config), "poll"], capture_output=True, text=True, env=environment, timeout=120)
    elapsed = time.monotonic() - started
    peak_mb = int(poll.stderr.strip().splitlines()[-1]) / 1024
    feeds = subprocess.run([tracker, "--config", str(config), "feeds", "--format", "json"], capture_output=True, text=True, env=environment)
    rows = {row["name"]: row for row in json.loads(feeds.stdout)}
    return poll, rows, elapsed, peak_mb


def test_the_cycle_finishes_and_the_good_feed_is_stored(hostile_poll):
    poll, rows, elapsed, _peak = hostile_poll
    assert poll.returncode == 0, poll.stderr
    assert rows["good"]["items"] == 6 and rows["good"]["last_error"] is None
    assert elapsed < 30


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_feed_ends_as_a_recorded_error(hostile_poll, name):
    _poll, rows, _elapsed, _peak = hostile_poll
    expected = HOSTILE[name][1]
    assert rows[name]["last_error"] and expected in rows[name]["last_error"], rows[name]


def test_a_wrongly_declared_encoding_still_yields_the_right_text(hostile_poll):
    _poll, rows, _elapsed, _peak = hostile_poll
    assert rows["encoding"]["items"] == 1 and rows["encoding"]["consecutive_failures"] == 0


def test_410_disables_the_feed_with_a_reason(hostile_poll):
    _poll, rows, _elapsed, _peak = hostile_poll
    assert "410 Gone" in rows["gone"]["disabled_reason"]


def test_memory_stays_bounded_with_a_200_mb_body_in_the_set(hostile_poll):
    _poll, _rows, _elapsed, peak_mb = hostile_poll
    assert peak_mb < 300
