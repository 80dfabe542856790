"""Parsing only what is new gives the stored entries a full parse gives.

Over every real snapshot in ../shared/feeds (skipped where that folder is absent), each
changed the ways a feed changes between polls — items added at the top, one removed,
the order changed, one item's text edited, the channel's fields edited — the entries a
poll would store after the original (parsed whole) and then the changed document read
incrementally are those it would store reading the changed document whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker.feeds.parse import parse_document
from tracker.feeds.split import Split, split_items

SNAPSHOTS = Path(__file__).resolve().parents[2] / "shared" / "feeds"
FILES = sorted(path for path in SNAPSHOTS.glob("*") if path.suffix in (".xml", ".atom", ".rdf", ".json", ".rss")) if SNAPSHOTS.is_dir() else []
URL = "https://feeds.example/feed"


def _mark(item: bytes, mark: bytes) -> bytes:
    """The item made another one: its identifiers and title carry `mark`."""
    for closing in (b"</guid>", b"</id>", b"</link>", b"</title>"):
        item = item.replace(closing, mark + closing, 1)
    return re.sub(rb'(<link\b[^>]*\bhref=")([^"]*)"', lambda m: m.group(1) + m.group(2) + b"#" + mark.strip(b"-") + b'"', item, count=1)


def _rebuilt(split: Split, head: bytes | None = None, items: list[bytes] | None = None) -> bytes:
    return (split.head if head is None else head) + b"\n".join(split.items if items is None else items) + split.tail


def changes(split: Split) -> dict[str, bytes]:
    items = list(split.items)
    return {
        "three new at the top": _rebuilt(split, items=[_mark(items[n % len(items)], b"-grown%d" % n) for n in range(3)] + items),
        "one removed": _rebuilt(split, items=items[:1] + items[2:]),
        "order changed": _rebuilt(split, items=items[::-1]),
        "one item's text edited": _rebuilt(split, items=[items[0].replace(b"</title>", b" edited</title>", 1)] + items[1:]),
        "channel fields edited": _rebuilt(split, head=split.head.replace(b"</title>", b" (edited)</title>", 1)),
    }


def stored_after(first, second) -> dict:
    """What a poll stores: the first document's entries, then the second's new keys."""
    stored = {}
    for entry in (*first.entries, *second.entries):
        stored.setdefault(entry.key, entry)
    return stored


@pytest.mark.skipif(not FILES, reason="../shared/feeds is not beside the project")
@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_an_incremental_poll_stores_what_a_full_parse_stores(path):
    body = path.read_bytes()
    first = parse_document(body, {}, URL)
    split = split_items(body)
    if split is None or first.error or first.item_hashes is None:
        again = parse_document(body, {}, URL, frozenset(first.item_hashes or ()))
        assert again.path == "full" and again.entries == first.entries
        return
    seen = frozenset(first.item_hashes)
    for change, changed in changes(split).items():
        whole = parse_document(changed, {}, URL)
        incremental = parse_document(changed, {}, URL, seen)
        assert stored_after(first, incremental) == stored_after(first, whole), f"{path.name}: {change}"
        assert (incremental.title, incremental.ttl_minutes) == (whole.title, whole.ttl_minutes), f"{path.name}: {change}"
        assert incremental.error is None or whole.error is not None, f"{path.name}: {change}"
        if not first.warning:  # a well-formed document that could be cut is read incrementally
            assert incremental.path == "incremental", f"{path.name}: {change}"


def test_a_document_that_cannot_be_cut_safely_is_read_whole():
    doctype = b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'
    wide = b'<?xml version="1.0" encoding="utf-16"?><rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel></rss>'
    between = b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item><!-- x --><item><title>b</title></item></channel></rss>'
    unclosed = b'<rss version="2.0"><channel><title>t</title><item><title>a</title></channel></rss>'
    json_feed = b'{"version": "https://jsonfeed.org/version/1", "items": []}'
    for body in (doctype, wide, between, unclosed, json_feed):
        assert split_items(body) is None, body


def test_only_the_new_items_go_to_feedparser_and_the_path_is_told():
    items = [b"<item><title>Story %d</title><guid>https://news.example/%d</guid></item>" % (n, n) for n in range(5)]
    old = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>' + b"".join(items[2:]) + b"</channel></rss>"
    new = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>' + b"".join(items) + b"</channel></rss>"
    first = parse_document(old, {}, URL)
    grown = parse_document(new, {}, URL, frozenset(first.item_hashes))
    assert grown.path == "incremental" and [entry.title for entry in grown.entries] == ["Story 0", "Story 1"]
    unchanged_items = parse_document(new.replace(b"<title>News</title>", b"<title>News!</title>"), {}, URL, frozenset(grown.item_hashes))
    assert unchanged_items.path == "incremental" and unchanged_items.entries == () and unchanged_items.error is None
    assert unchanged_items.title == "News!"



def _news(items: list[bytes], lead: bytes = b"") -> bytes:
    return lead + b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>' + b"".join(items) + b"</channel></rss>"


def test_whitespace_before_the_declaration_still_reads_only_the_new_items():
    # feedparser reads such a document with its lenient parser; so it reads the cut one.
    items = [b"<item><title>Story %d &amp; more</title><guid>https://news.example/%d</guid></item>" % (n, n) for n in range(5)]
    first = parse_document(_news(items[2:], b"\n  "), {}, URL)
    assert first.warning and "declaration" in first.warning
    grown = parse_document(_news(items, b"\n  "), {}, URL, frozenset(first.item_hashes))
    whole = parse_document(_news(items, b"\n  "), {}, URL)
    assert grown.path == "incremental" and [entry.title for entry in grown.entries] == ["Story 0 & more", "Story 1 & more"]
    assert grown.entries == whole.entries[:2]


@pytest.mark.parametrize("shape", ["a script after the root", "an element beside the channel"])
def test_a_fault_outside_the_items_still_reads_only_the_new_items(shape):
    # A CDN's script appended after </rss>, or a stray <meta> before <channel>: both lie in
    # the head or tail the cut keeps, so the small document is read as the whole is.
    items = [b"<item><title>Story %d &amp; more</title><guid>https://news.example/%d</guid></item>" % (n, n) for n in range(5)]

    def document(chosen: list[bytes]) -> bytes:
        body = _news(chosen)
        if shape == "a script after the root":
            return body + b'\n<script src="/cdn-cgi/scripts/email-decode.min.js"></script>'
        return body.replace(b"<channel>", b'<meta name="robots" content="noindex"/><channel>')

    first = parse_document(document(items[2:]), {}, URL)
    grown = parse_document(document(items), {}, URL, frozenset(first.item_hashes))
    whole = parse_document(document(items), {}, URL)
    assert grown.path == "incremental" and [entry.title for entry in grown.entries] == ["Story 0 & more", "Story 1 & more"]
    assert grown.entries == whole.entries[:2] and grown.warning == whole.warning


def test_a_stray_ampersand_in_an_old_item_still_reads_only_the_new_items_as_the_whole_reads_them(monkeypatch):
    # feedparser reads a document with a bare "&" leniently, and its lenient parser reads
    # a guid in CDATA with "&amp;" where the strict one reads "&": the keys differ. The cut
    # is read leniently too, even when the faulty item is one of those left out.
    import tracker.feeds.split as split_module

    items = [b"<item><title>Story %d</title><guid><![CDATA[https://news.example/%d?from=feed&n=%d]]></guid></item>" % (n, n, n) for n in range(5)]
    items[4] = items[4].replace(b"Story 4", b"Story 4 & more")
    first = parse_document(_news(items[2:]), {}, URL)
    grown = parse_document(_news(items), {}, URL, frozenset(first.item_hashes))
    whole = parse_document(_news(items), {}, URL)
    assert grown.path == "incremental" and [entry.title for entry in grown.entries] == ["Story 0", "Story 1"]
    assert grown.entries == whole.entries[:2] and "&" in grown.warning
    monkeypatch.setattr(split_module, "STRAY_TEXT", b"")  # the cut read strictly: other keys
    assert parse_document(_news(items), {}, URL, frozenset(first.item_hashes)).entries != whole.entries[:2]


def test_an_item_outside_the_channel_is_not_cut():
    body = b'<rss version="2.0"><channel><title>t</title><item><title>a</title></item></channel><item><title>b</title></item></rss>'
    assert split_items(body) is None


def test_an_old_item_in_another_encoding_makes_the_whole_document_read_again():
    # feedparser picks the encoding for the whole document: a Latin-1 byte in an old item
    # turns a declared UTF-8 document into windows-1252, new items included.
    items = [b"<item><title>Story %d</title><guid>https://news.example/%d</guid></item>" % (n, n) for n in range(4)]
    items[3] = b"<item><title>Caf\xe9</title><guid>https://news.example/3</guid></item>"
    items[0] = b"<item><title>Cr\xc3\xa8me</title><guid>https://news.example/0</guid></item>"
    first = parse_document(_news(items[1:]), {}, URL)
    grown = parse_document(_news(items), {}, URL, frozenset(first.item_hashes))
    whole = parse_document(_news(items), {}, URL)
    assert grown.path == "full" and grown.entries == whole.entries

def test_a_feed_interval_shorter_than_the_tick_is_warned_of(tmp_path):
    from tracker.cli.run import short_intervals
    from tracker.config import load_settings

    config = tmp_path / "config.toml"
    config.write_text('[schedule]\ntick = "5m"\n[[feeds]]\nname = "fast"\nurl = "https://a.example/feed"\ninterval = "1m"\n'
                      '[[feeds]]\nname = "slow"\nurl = "https://b.example/feed"\ninterval = "1h"\n', encoding="utf-8")
    warnings = short_intervals(load_settings(config))
    assert len(warnings) == 1 and "feed fast" in warnings[0] and "shorter than the tick" in warnings[0]


def test_a_poll_says_how_long_its_cycle_took_and_feeds_say_how_each_was_parsed(tmp_path, cli, feed_server):
    import json

    from tests.conftest import DATA, Route, write_config

    body = (DATA / "feeds" / "climate_news.xml").read_bytes()
    feed_server.routes["/feed.xml"] = Route(body=body, etag='"v1"')
    config = write_config(tmp_path, [("climate", feed_server.url("/feed.xml"))])
    first = cli("--config", str(config), "poll")
    assert re.search(r"took=\d+\.\d\ds", first.stderr)
    at = body.index(b"<item>")
    grown = body[:at] + b"<item><title>Toyota opens a solid-state battery pilot line</title><guid>grown-1</guid></item>" + body[at:]
    feed_server.routes["/feed.xml"] = Route(body=grown, etag='"v2"')
    second = cli("--config", str(config), "poll")
    assert "new_entries=1" in second.stderr
    [row] = json.loads(cli("--config", str(config), "feeds", "--format", "json").stdout)
    assert row["parse_path"] == "incremental" and row["parse_seconds"] is not None
