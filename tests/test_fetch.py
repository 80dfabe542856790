"""Fetching from a real local HTTP server: manners, limits and every failure as a recorded error."""

from __future__ import annotations

import gzip

import pytest

from tests.conftest import Route
from tracker.feeds.fetch import FetchPolicy, fetch_feeds, parse_retry_after
from tracker.model import FeedSource

POLICY = FetchPolicy(timeout_seconds=2, deadline_seconds=5, max_body_bytes=64 * 1024, contact_url="https://example.org/contact")


def fetch(server, path: str, **feed) -> object:
    [result] = fetch_feeds([FeedSource(1, "f", server.url(path), **feed)], POLICY)
    return result


def test_it_names_itself_and_sends_validators_back(feed_server):
    feed_server.routes["/f"] = Route(b"<rss/>", etag='"abc"')
    result = fetch(feed_server, "/f", etag='"abc"', last_modified="Mon, 01 Jan 2026 00:00:00 GMT")
    assert result.status == 304 and result.body is None and result.error is None
    headers = feed_server.requests_to("/f")[0]
    assert headers["if-none-match"] == '"abc"'
    assert headers["if-modified-since"] == "Mon, 01 Jan 2026 00:00:00 GMT"
    assert "tracker/" in headers["user-agent"] and "https://example.org/contact" in headers["user-agent"]


def test_a_gzip_bomb_stops_at_the_cap_counted_after_decompression(feed_server):
    bomb = gzip.compress(b"<" * (10 * 1024 * 1024))
    feed_server.routes["/bomb"] = Route(bomb, headers={"Content-Type": "application/xml", "Content-Encoding": "gzip"})
    result = fetch(feed_server, "/bomb")
    assert len(bomb) < POLICY.max_body_bytes
    assert "exceeds the 65536-byte cap" in result.error


def test_a_declared_oversize_body_is_refused_without_reading_it(feed_server):
    feed_server.routes["/big"] = Route(b"x" * (POLICY.max_body_bytes + 1))
    assert "exceeds the 65536-byte cap" in fetch(feed_server, "/big").error


def test_a_permanent_redirect_is_followed_and_reported(feed_server):
    feed_server.routes["/old"] = Route(status=301, headers={"Location": "/new"})
    feed_server.routes["/new"] = Route(b"<rss/>")
    result = fetch(feed_server, "/old")
    assert result.status == 200 and result.moved_permanently_to == feed_server.url("/new")


def test_a_temporary_redirect_is_not_a_move(feed_server):
    feed_server.routes["/old"] = Route(status=302, headers={"Location": "/new"})
    feed_server.routes["/new"] = Route(b"<rss/>")
    assert fetch(feed_server, "/old").moved_permanently_to is None


@pytest.mark.parametrize(
    "routes, expected",
    [
        ({"/a": Route(status=301, headers={"Location": "/b"}), "/b": Route(status=301, headers={"Location": "/a"})}, "redirect loop"),
        ({f"/r{i}": Route(status=302, headers={"Location": f"/r{i + 1}"}) for i in range(10)} | {"/a": Route(status=302, headers={"Location": "/r0"})}, "more than 5 redirects"),
        ({"/a": Route(status=302, headers={"Location": "file:///etc/passwd"})}, "only http and https"),
        ({"/a": Route(b"nope", status=404)}, "HTTP 404"),
        ({"/a": Route(b"oops", status=500)}, "HTTP 500"),
    ],
)
def test_bad_answers_become_errors(feed_server, routes, expected):
    feed_server.routes.update(routes)
    assert expected in fetch(feed_server, "/a").error


def test_a_refused_connection_is_an_error_not_an_exception():
    [result] = fetch_feeds([FeedSource(1, "f", "http://127.0.0.1:9/feed")], POLICY)
    assert result.error and result.status is None


def test_non_http_feed_urls_are_never_fetched():
    [result] = fetch_feeds([FeedSource(1, "f", "file:///etc/passwd")], POLICY)
    assert "only http and https" in result.error


def test_retry_after_reads_seconds_and_dates():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("nonsense") is None
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now=now) == 60


@pytest.mark.parametrize("compress", [gzip.compress, __import__("zlib").compress, lambda data: __import__("zlib").compress(data)[2:-4]])
def test_gzip_and_deflate_bodies_are_inflated_within_the_cap(feed_server, compress):
    body = b"<rss>" + b"x" * 1000 + b"</rss>"
    encoding = "gzip" if compress is gzip.compress else "deflate"
    feed_server.routes["/z"] = Route(compress(body), headers={"Content-Type": "application/xml", "Content-Encoding": encoding})
    assert fetch(feed_server, "/z").body == body


def test_a_gzip_bomb_never_occupies_more_than_the_cap_in_memory(feed_server):
    import tracemalloc

    feed_server.routes["/bomb"] = Route(gzip.compress(b"\0" * (200 * 1024 * 1024), 9), headers={"Content-Type": "application/xml", "Content-Encoding": "gzip"})
    tracemalloc.start()
    result = fetch(feed_server, "/bomb")
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "cap" in result.error
    assert peak < 8 * POLICY.max_body_bytes + 4 * 1024 * 1024  # a few copies of 64 KiB, not 200 MB


@pytest.fixture
def other_loopback():
    """A second server on another loopback address: where a hostile redirect points."""
    from tests.conftest import FeedServer

    with FeedServer("127.0.0.2") as server:
        server.routes["/secret"] = Route(b"<rss><channel><title>internal</title></channel></rss>")
        yield server


@pytest.mark.parametrize("target", ["127.0.0.2", "169.254.169.254", "[::1]", "10.0.0.1", "192.168.1.1", "0.0.0.0", "100.64.0.1", "[::127.0.0.2]", "[64:ff9b::7f00:2]"])
def test_a_redirect_into_a_private_network_is_refused_in_words_before_any_request(feed_server, other_loopback, target):
    port = other_loopback.url("/").split(":")[2].split("/")[0]
    feed_server.routes["/feed"] = Route(status=302, headers={"Location": f"http://{target}:{port}/secret"})
    result = fetch(feed_server, "/feed")
    assert result.status is None and result.body is None
    assert "refused to follow a redirect to" in result.error and "allow_private_networks" in result.error
    assert not other_loopback.requests


def test_a_redirect_to_the_configured_address_or_with_private_networks_allowed_is_followed(feed_server, other_loopback):
    feed_server.routes["/feed"] = Route(status=302, headers={"Location": "/elsewhere"})
    feed_server.routes["/elsewhere"] = Route(b"<rss/>")
    assert fetch(feed_server, "/feed").status == 200  # the configured URL's own address
    feed_server.routes["/away"] = Route(status=302, headers={"Location": other_loopback.url("/secret")})
    policy = FetchPolicy(timeout_seconds=2, deadline_seconds=5, allow_private_networks=True)
    [result] = fetch_feeds([FeedSource(1, "f", feed_server.url("/away"))], policy)
    assert result.status == 200 and other_loopback.requests_to("/secret")


def test_a_feed_moved_by_a_permanent_redirect_is_checked_against_its_configured_host(feed_server, other_loopback):
    """The stored URL after a 301 came from the feed's server: it is not trusted as the config is."""
    result = fetch(other_loopback, "/secret", configured_url=feed_server.url("/feed"))
    assert "refused to follow a redirect to 127.0.0.2" in result.error and not other_loopback.requests


def test_the_connection_goes_to_the_address_checked_not_to_a_second_lookup(feed_server, monkeypatch):
    """A name answered once: if the fetcher looked it up again to connect, it would fail."""
    import tracker.feeds.addresses as addresses

    real = addresses.resolve
    lookups = []

    async def once(host: str, port: int) -> list[str]:
        if host == "feeds.rebind.test":
            lookups.append(host)
            return ["127.0.0.1"]
        return await real(host, port)

    monkeypatch.setattr(addresses, "resolve", once)
    feed_server.routes["/feed"] = Route(b"<rss/>")
    url = feed_server.url("/feed").replace("127.0.0.1", "feeds.rebind.test")
    [result] = fetch_feeds([FeedSource(1, "f", url)], POLICY)
    assert result.status == 200 and lookups == ["feeds.rebind.test"]
    assert feed_server.requests_to("/feed")[0]["host"].startswith("feeds.rebind.test")
