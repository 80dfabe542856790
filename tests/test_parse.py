"""Parsing: bytes in, normalised plain-text entries out; nothing a feed says survives as markup."""

from __future__ import annotations

import pytest

from tests.conftest import DATA
from tracker.feeds.parse import canonical_url, parse_document, plain_text

FEED = (DATA / "feeds" / "climate_news.xml").read_bytes()


def test_entries_come_out_as_plain_text_with_canonical_links():
    parsed = parse_document(FEED, {"content-type": "application/rss+xml"}, "https://wire.example.org/feed")
    assert parsed.error is None and len(parsed.entries) == 6
    first = parsed.entries[0]
    assert first.url == "https://wire.example.org/2026/03/toyota-solid-state"
    assert first.summary.startswith("The carmaker said its all-solid-state cells")
    assert "<" not in first.summary
    assert first.published_at.isoformat() == "2026-03-10T08:00:00+00:00"
    assert parsed.ttl_minutes == 60
    assert first.language == "en-us"


def test_hostile_markup_and_non_http_links_are_dropped():
    parsed = parse_document(FEED, {}, "https://wire.example.org/feed")
    hostile = parsed.entries[-1]
    assert hostile.url is None  # javascript: is not a link we keep
    assert "script" not in hostile.summary and "onerror" not in hostile.summary
    assert hostile.summary == "Hostile markup in a headline, written to test escaping."


def test_identity_is_stable_across_polls_and_scoped_for_short_guids():
    one = parse_document(FEED, {}, "https://wire.example.org/feed").entries
    two = parse_document(FEED, {}, "https://wire.example.org/feed").entries
    other_feed = parse_document(FEED, {}, "https://mirror.example.net/feed").entries
    assert [e.key for e in one] == [e.key for e in two]
    assert one[0].key != other_feed[0].key  # "wire-1001" only means something inside its feed


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "empty body"),
        (b"<html><head><title>Hi</title></head><body><p>Welcome</p></body></html>", "no entries"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>', "no entries"),
    ],
)
def test_a_document_without_entries_is_an_error(body, reason):
    assert reason in parse_document(body, {}, "https://x.example/feed").error


@pytest.mark.parametrize(
    "url, canonical",
    [
        ("https://EXAMPLE.org/a?utm_source=x&id=3#frag", "https://example.org/a?id=3"),
        ("http://example.org:80/a?fbclid=1", "http://example.org/a"),
        ("https://example.org", "https://example.org/"),
        ("javascript:alert(1)", None),
        ("file:///etc/passwd", None),
        ("ftp://example.org/x", None),
    ],
)
def test_canonical_urls(url, canonical):
    assert canonical_url(url) == canonical


def test_plain_text_removes_markup_entities_and_invisible_characters():
    assert plain_text("<p>A&nbsp;<b>bold</b>&amp;&lt;i&gt;move&lt;/i&gt;\u200b</p><style>p{}</style>") == "A bold & move"
    assert plain_text("ｆｕｌｌ-width") == "full-width"  # NFKC
    assert plain_text("line\tone\r\n\x0b two\u3000three\x07 four") == "line one two three four"
    assert plain_text("a \u202e b<!-- x --><b<!-- y -->>c</b>") == "a b c"  # no tag survives a comment inside it
    assert plain_text("in\x0bvisible\x1f \u200bzero") == "invisible zero"  # invisible, even where also whitespace
    assert plain_text('<a title="]]>">t</a> x<a<b>>y') == "t x y"  # a CDATA end inside a tag; nested tags


def test_parser_workers_started_ahead_take_even_a_small_cycle_and_give_the_same_entries():
    import multiprocessing

    import tracker.feeds.pool as parallel

    pool = parallel.ParserPool(workers=2)
    try:
        pool.warm_up()  # the workers start in the background
        jobs = [(FEED, {}, "https://wire.example.org/feed"), None]
        results = list(pool.parse_in_order(jobs))  # far below the size that would start workers
        assert results == [parse_document(*jobs[0]), None]
        assert multiprocessing.active_children()  # the workers (and their forkserver) are up
    finally:
        pool.close(wait=True)


def test_the_parser_pool_gives_the_same_entries_as_parsing_inline(monkeypatch):
    import tracker.feeds.pool as parallel

    monkeypatch.setattr(parallel, "POOL_THRESHOLD_BYTES", 0)
    jobs = [(FEED, {}, f"https://wire.example.org/feed{i}") for i in range(4)] + [None, (b"", {}, "https://x.example/empty")]
    pool = parallel.ParserPool(workers=2)
    try:
        results = list(pool.parse_in_order(jobs))
    finally:
        pool.close()
    inline = [parse_document(*job) if job else None for job in jobs]
    assert results == inline
    assert results[4] is None and "empty body" in results[5].error
