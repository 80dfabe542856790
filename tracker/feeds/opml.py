"""OPML, the format feed readers exchange subscription lists in."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from tracker.feeds.parse import canonical_url


class OpmlError(Exception):
    """An OPML file that cannot be read; the message says why."""


@dataclass(frozen=True)
class Subscription:
    name: str
    url: str


def read_opml(data: bytes) -> list[Subscription]:
    """Every outline with an http(s) xmlUrl, nested folders included."""
    if re.search(rb"<!ENTITY", data[:65536], re.IGNORECASE):
        raise OpmlError("refused: the file declares XML entities")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise OpmlError(f"not well-formed XML: {error}") from None
    if root.tag.lower() != "opml":
        raise OpmlError(f"not an OPML file (root element <{root.tag}>)")
    subscriptions = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or canonical_url(url) is None:
            continue
        name = (outline.get("title") or outline.get("text") or url).strip()
        subscriptions.append(Subscription(name=name, url=url))
    return subscriptions


def write_opml(subscriptions: list[Subscription], title: str = "tracker feeds") -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">', f"  <head><title>{_escape(title)}</title></head>", "  <body>"]
    for item in subscriptions:
        lines.append(f'    <outline type="rss" text={quoteattr(item.name)} title={quoteattr(item.name)} xmlUrl={quoteattr(item.url)}/>')
    lines += ["  </body>", "</opml>"]
    return "\n".join(lines) + "\n"


def toml_feed_blocks(subscriptions: list[Subscription], taken_names: set[str]) -> str:
    """[[feeds]] tables to append to config.toml, names made unique and slug-like."""
    blocks = []
    for item in subscriptions:
        base = re.sub(r"[^a-z0-9]+", "-", item.name.casefold()).strip("-")[:60] or "feed"
        name, number = base, 2
        while name in taken_names:
            name, number = f"{base}-{number}", number + 1
        taken_names.add(name)
        blocks.append(f'[[feeds]]\nname = "{name}"   # imported from OPML: {_comment(item.name)}\nurl = "{_toml_string(item.url)}"\n')
    return "\n".join(blocks)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _comment(text: str) -> str:
    return " ".join(text.split())[:80]


def _toml_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
