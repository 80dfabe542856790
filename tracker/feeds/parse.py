"""Parsing fetched bytes into normalised entries.

feedparser only ever sees bytes and the response headers: given a string it would
fetch URLs or open local files itself. Its HTML sanitiser and relative-URI pass are
off because they dominate parse time and we reduce every text to plain text anyway.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import io
import re
import logging
import time
import unicodedata
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tracker.feeds.split import Split, item_hash, split_items
from tracker.model import Entry, ParsedFeed

log = logging.getLogger("tracker")

# Query parameters that identify a campaign or a click, never the article.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
        "_hsenc", "_hsmi", "mkt_tok", "ocid", "cmpid", "ito", "ncid", "sr_share",
        "smid", "cmp", "at_medium", "at_campaign", "ref_src", "guccounter",
    }
)
_TRACKING_PREFIXES = ("utm_", "__twitter", "oly_")

_BLOCK_TAGS = re.compile(r"(?is)<(script|style|noscript|template)\b.*?</\1\s*>")
# Comments, declarations, processing instructions and tags, in one pass (CDATA markers
# go before it, by plain replacement, so a "]]>" inside a tag cannot end the tag).
_MARKUP = re.compile(r"(?s)<!--.*?-->|<![^>]*>|<\?.*?\?>|</?[a-zA-Z][^<>]*>")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
# Control and invisible formatting characters (zero-width, bidi overrides) carry no
# meaning for a reader and can disguise text; they go.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

MAX_TEXT_CHARS = 20_000
# feedparser's sanitiser and relative-URI pass dominate its parse time, and every text
# is reduced to plain text here anyway (the benchmarks time feedparser with these too).
FEEDPARSER_OPTIONS = {"sanitize_html": False, "resolve_relative_uris": False}
# A DOCTYPE that declares entities before the root element: the shape of both the
# entity-expansion bomb and the external-entity (XXE) attack. Real feeds do not
# declare entities, so such a document is refused rather than half-trusted.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
# What a feed whose items were cut despite stray ampersands is told to its reviewers.
STRAY_AMPERSAND_WARNING = "not well-formed XML: a bare '&' or an entity XML does not define (&nbsp;, &uuml;…); read leniently"
_ROOT_ELEMENT = re.compile(rb"<(?:rss|feed|rdf:RDF|RDF|channel)\b", re.IGNORECASE)


def parse_document(body: bytes, headers: Mapping[str, str], url: str, seen: frozenset[str] = frozenset()) -> ParsedFeed:
    """Parse one fetched document. A document without entries is an error, not a warning.

    `seen`: hashes of items read in an earlier parse of this feed. When the document can
    be cut at its items (tracker.feeds.split), those items are left out and feedparser
    reads the head, the new items and the tail as one small document; its output is
    used exactly as a full parse's. Anything odd takes the full path.
    """
    started = time.perf_counter()
    if _declares_entities(body):
        return ParsedFeed(entries=(), error="refused: the document declares XML entities (entity expansion or external entity)")
    split = split_items(body)
    hashes = tuple(item_hash(item) for item in split.items) if split else None
    if split and seen:
        new = [index for index, digest in enumerate(hashes) if digest not in seen]
        parsed = _feedparser(split.document(new), headers, url)
        if _read_as_the_whole_would_be(parsed, split, body):
            result = _parsed_feed(parsed, body, url, allow_empty=True)
            if split.fault_in_items:  # feedparser's words would be about the fault the cut was given
                result = replace(result, warning=STRAY_AMPERSAND_WARNING)
            log.debug("parse %s: incremental, %d of %d items new", url, len(new), len(hashes))
            return replace(result, path="incremental", item_hashes=hashes, seconds=time.perf_counter() - started)
        log.debug("parse %s: the cut document is not read as the whole would be: full parse", url)
    result = _parsed_feed(_feedparser(body, headers, url), body, url)
    log.debug("parse %s: full (%s)", url, "cut at its items" if split else "cannot be cut safely")
    return replace(result, path="full", item_hashes=hashes if not result.error else None, seconds=time.perf_counter() - started)


def _read_as_the_whole_would_be(parsed: Mapping[str, Any], split: Split, body: bytes) -> bool:
    """Whether feedparser read the cut document the way it reads the whole one.

    Its encoding: feedparser decodes the whole document before parsing, so an old item
    that is not valid in the encoding it chose for the cut would make it choose another
    for the whole. Its parser: a cut that is malformed falls to the lenient parser, as
    the whole does only when the fault is in the head or tail both share (whitespace before
    the XML declaration, junk after the root); any other fault may lie in what was cut away."""
    encoding = parsed.get("encoding")
    if encoding:
        try:
            body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            return False
    return not parsed.get("bozo") or split.fault_outside_items or split.fault_in_items


def _feedparser(body: bytes, headers: Mapping[str, str], url: str):
    response_headers = {key.lower(): value for key, value in headers.items()}
    response_headers.setdefault("content-type", "application/xml")
    response_headers["content-location"] = url
    import feedparser  # here, not above: a cycle of 304s never parses and need not import it

    return feedparser.parse(io.BytesIO(body), response_headers=response_headers, **FEEDPARSER_OPTIONS)


def _parsed_feed(parsed, body: bytes, url: str, allow_empty: bool = False) -> ParsedFeed:
    warning = _describe_bozo(parsed) if parsed.get("bozo") else None
    if not parsed.entries and not allow_empty:
        reason = warning or "the document has no feed entries"
        if not body.strip():
            reason = "empty body"
        elif body.lstrip()[:1] in (b"{", b"["):
            reason = "a JSON document (JSON Feed?): only RSS and Atom are read"
        elif parsed.get("version", "") == "":
            reason = f"not a feed (no RSS or Atom found): {reason}"
        return ParsedFeed(entries=(), warning=warning, error=f"no entries: {reason}")
    language = parsed.feed.get("language")
    entries = tuple(
        entry
        for raw in parsed.entries
        if (entry := normalise_entry(raw, scope=url, feed_language=language)) is not None
    )
    return ParsedFeed(
        entries=entries,
        title=plain_text(parsed.feed.get("title", "")) or None,
        warning=warning,
        ttl_minutes=_ttl_minutes(parsed.feed.get("ttl")),
    )


def _declares_entities(body: bytes) -> bool:
    head = body[: 1 << 20]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head.decode("utf-16", "ignore").encode("utf-8", "ignore")
    root = _ROOT_ELEMENT.search(head)
    return bool(_ENTITY_DECLARATION.search(head[: root.start()] if root else head))


def normalise_entry(raw: Mapping[str, Any], scope: str, feed_language: str | None = None) -> Entry | None:
    """One feedparser entry → Entry, or None when it has neither a title nor a text."""
    title = plain_text(raw.get("title", ""))
    summary = plain_text(raw.get("summary", ""))
    content = plain_text(" ".join(part.get("value", "") for part in raw.get("content", []) or []))
    if content == summary:
        content = ""
    if not title and not summary and not content:
        return None
    link = canonical_url(raw.get("link") or "")
    guid = (raw.get("id") or "").strip() or None
    published = _to_datetime(
        raw.get("published_parsed") or raw.get("updated_parsed") or raw.get("created_parsed")
    )
    return Entry(
        key=entry_key(guid, link, title, published, scope),
        fingerprint=title_fingerprint(title),
        title=title or _first_words(summary or content),
        url=link,
        summary=summary,
        content=content,
        published_at=published,
        language=(raw.get("language") or feed_language or None),
        guid=guid,
    )


def entry_key(guid: str | None, link: str | None, title: str, published: datetime | None, scope: str) -> str:
    """Stable identity: the guid, else the canonical link, else title and date.

    A guid that is a URL or a tag/urn is global; a short opaque guid ("1234") only
    means something inside its own feed, so it is scoped by the feed's URL.
    """
    if guid:
        guid_url = canonical_url(guid)
        if guid_url:
            basis = f"url:{guid_url}"
        elif guid.startswith(("tag:", "urn:")) or len(guid) >= 24:
            basis = f"guid:{guid}"
        else:
            basis = f"guid:{scope}:{guid}"
    elif link:
        basis = f"url:{link}"
    else:
        stamp = published.isoformat() if published else ""
        basis = f"text:{scope}:{title}:{stamp}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


_SOURCE_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,60}$")
_NOT_WORD = re.compile(r"[^\w]+")


def title_fingerprint(title: str) -> str | None:
    """"Toyota Delays Solid-State Batteries - Reuters" and "Toyota delays solid-state
    batteries" are one story: case, punctuation and a trailing source name go.
    Titles too short to be distinctive get no fingerprint."""
    words = _NOT_WORD.sub(" ", _SOURCE_SUFFIX.sub("", title).casefold()).split()
    if len(words) < 5:
        return None
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:32]


def canonical_url(value: str) -> str | None:
    """http(s) only; lower-case host; no fragment, default port or tracking parameters."""
    value = (value or "").strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port and not (scheme == "http" and port == 80) and not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    query = urlencode(
        [
            (key, val)
            for key, val in parse_qsl(parts.query, keep_blank_values=True)
            if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
        ]
    )
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def plain_text(value: str) -> str:
    """HTML or text → one line of plain text, NFKC-normalised, no markup left."""
    if not value:
        return ""
    value = value[: MAX_TEXT_CHARS * 4]
    if "<" in value:
        value = _BLOCK_TAGS.sub(" ", value).replace("<![CDATA[", " ").replace("]]>", " ")
        value = _MARKUP.sub(" ", value)
    if "&" in value:
        value = html.unescape(value)
    # Markup still there: escaped in the text ("&lt;b&gt;"), split by a comment
    # ("<b<!-- -->>") or nested ("<a<b>>"). None of it may reach a reader.
    if "<" in value:
        value = _TAG.sub(" ", value)
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    if not value.isprintable():
        # Before collapsing spaces: some invisible characters (\x0b, \x1c…) are also
        # whitespace, and they must vanish ("a\x0bb" is "ab"), not become a space.
        value = _INVISIBLE.sub("", value)
    # str.split is the regex \s+ at a fraction of its cost on long texts (whole articles).
    return " ".join(value.split())[:MAX_TEXT_CHARS]


def _first_words(text: str, count: int = 12) -> str:
    words = text.split()
    return " ".join(words[:count]) + (" …" if len(words) > count else "")


def _to_datetime(parsed_time: Any) -> datetime | None:
    if not parsed_time:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed_time), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


def _ttl_minutes(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if 0 < minutes <= 7 * 24 * 60 else None


def _describe_bozo(parsed: Mapping[str, Any]) -> str:
    error = parsed.get("bozo_exception")
    name = type(error).__name__ if error is not None else "unknown problem"
    detail = str(error) if error is not None else ""
    return f"{name}: {detail}".strip().rstrip(":")
