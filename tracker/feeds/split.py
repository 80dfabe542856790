"""A feed document cut into its head, its items and its tail, by byte offsets, without
building a tree: what lets a poll hand feedparser only the items it has not read.

expat reads the document once (C, no tree) and reports where each element starts;
an item is the exact bytes from its start tag to the end of its end tag. Anything the
cut could change the meaning of takes the full path instead (None): a DOCTYPE, a
wide encoding (UTF-16, UTF-32, EBCDIC), a byte-order mark, items not directly under the
channel (RSS 2.0), the RDF root (RSS 1.0) or the feed (Atom), text or elements between
items, a malformed document, a JSON Feed.

Two faults outside the items are common and need no full parse: whitespace before the
XML declaration (a template slip) and markup after the root element (a CDN's script
appended to every page). Either makes the document malformed to feedparser, which then
reads it with its lenient parser; the cut keeps the fault in its head or its tail, so
the small document is read the same lenient way (`Split.fault_outside_items`), and the
items between are cut as usual.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from xml.parsers import expat

# Encodings in which every byte below 0x80 is the ASCII character (so markup is ASCII):
# expat reads them all as Latin-1, one character per byte, which keeps the structure and
# makes its offsets byte offsets. The cut needs only the structure; feedparser reads the
# text, in the document's own encoding, as ever.
_WIDE_ENCODINGS = re.compile(r"^(?:utf-?16|utf-?32|ucs-?2|ucs-?4|cp037|ebcdic)", re.IGNORECASE)
_JUNK_AFTER_ROOT = expat.errors.codes[expat.errors.XML_ERROR_JUNK_AFTER_DOC_ELEMENT]
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", re.IGNORECASE)


@dataclass(frozen=True)
class Split:
    head: bytes
    items: tuple[bytes, ...]
    tail: bytes
    # Malformed only in the head or the tail the cut keeps (whitespace before the XML
    # declaration, junk after the root): feedparser's strict parser refuses the whole
    # document and the cut one at that same fault, and both are read leniently.
    fault_outside_items: bool = False
    # Malformed inside: a bare "&" or an entity XML does not define ("&nbsp;", "&uuml;"),
    # the commonest fault of real feeds. feedparser reads the whole leniently; the cut is
    # given a fault after its root (STRAY_TEXT), so it is read leniently too, even when
    # the faulty items are the ones left out.
    fault_in_items: bool = False

    def document(self, chosen: list[int]) -> bytes:
        """The same document with only the chosen items (by index), in their order."""
        return self.head + b"".join(self.items[index] for index in chosen) + self.tail + (STRAY_TEXT if self.fault_in_items else b"")


# Text after the root element: feedparser's strict parser stops there (after every item),
# and its lenient parser ignores text outside any element.
STRAY_TEXT = b"\n."
# "&" that starts neither one of XML's five entities nor a character reference.
_STRAY_AMPERSAND = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")


def item_hash(item: bytes) -> str:
    return hashlib.sha256(item).hexdigest()[:32]


class _Unsafe(Exception):
    pass


def split_items(body: bytes) -> Split | None:
    """The document cut at its items, or None when only a full parse is safe."""
    if not body or body.lstrip()[:1] != b"<" or body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:3] == b"\xef\xbb\xbf":
        return None
    declared = _DECLARATION.match(body)
    if declared and _WIDE_ENCODINGS.match(declared.group(1).decode("ascii")):
        return None
    lead = len(body) - len(body.lstrip(b" \t\r\n"))
    if not (lead and body.startswith(b"<?xml", lead)):
        lead = 0  # whitespace before a root element is fine to expat: nothing to skip
    text = body[lead:] if lead else body
    split = _cut(text)
    if split is None and _STRAY_AMPERSAND.search(text):
        # expat reads a copy with every stray "&" made "_" (a byte for a byte, so every
        # offset holds in the document itself): the structure feedparser reads leniently.
        split = _cut(_STRAY_AMPERSAND.sub(b"_", text), original=text)
    if split is None or not lead:
        return split
    return replace(split, head=body[:lead] + split.head, fault_outside_items=True)


def _cut(body: bytes, original: bytes | None = None) -> Split | None:
    """`body` cut at its items; `original`: the document whose bytes the cut is of, where
    `body` is a copy with its stray ampersands replaced."""
    # expat calls back into Python for every element of every item, so the handlers do
    # as little as they can: elements deeper than an item are only counted. Text or
    # elements between items are found after the parse, in the bytes between them.
    parser = expat.ParserCreate("ISO-8859-1")
    # Attributes as flat lists, not dicts, and none filled in from a DTD (there is none):
    # the handlers never read them, and building them is part of every call.
    parser.ordered_attributes = True
    parser.specified_attributes = True
    spans: list[tuple[int, int]] = []
    depth = 0
    item_depth = 0  # set by the root: 3 in RSS 2.0 (rss/channel/item), 2 in RSS 1.0 and Atom
    atom = False
    # RSS 2.0: inside the channel. Elements beside it (a stray <meta> before it) lie in
    # the head or the tail both documents share; items anywhere else are not cut.
    in_channel = False
    item_start = -1

    def start(name: str, _attributes) -> None:
        nonlocal depth, item_depth, atom, in_channel, item_start
        depth += 1
        if depth > item_depth > 0:
            return
        local = name.rsplit(":", 1)[-1]
        if depth == 1:
            if local not in ("rss", "feed", "RDF"):
                raise _Unsafe(f"root {name}")
            item_depth = 3 if local == "rss" else 2
            atom = local == "feed"
        elif depth == 2 and item_depth == 3:
            if local == "item":
                raise _Unsafe("an item outside the channel")
            in_channel = local == "channel"
        elif depth == item_depth and (name == "entry" if atom else local == "item"):
            if item_depth == 3 and not in_channel:
                raise _Unsafe("an item outside the channel")
            # RSS 1.0 (RDF): items beside the channel, its rdf:Seq naming them (feedparser
            # reads the items themselves, not the list).
            item_start = parser.CurrentByteIndex

    def end(_name: str) -> None:
        nonlocal depth, item_start
        if depth == item_depth and item_start >= 0:
            spans.append((item_start, body.index(b">", parser.CurrentByteIndex) + 1))
            item_start = -1
        depth -= 1

    def doctype(*_args) -> None:
        raise _Unsafe("a doctype")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    junk_after_root = False
    try:
        parser.Parse(body, True)
    except expat.ExpatError:
        # Markup after the root element closed: every item was seen, and the fault is in
        # the tail, which the cut keeps.
        junk_after_root = parser.ErrorCode == _JUNK_AFTER_ROOT and depth == 0
        if not junk_after_root:
            return None
    except (_Unsafe, ValueError):
        return None
    if not spans:
        return None
    for (_, previous_end), (next_start, _) in zip(spans, spans[1:]):
        if body[previous_end:next_start].strip():
            return None  # text, comments or elements between items
    source = body if original is None else original
    return Split(source[: spans[0][0]], tuple(source[begin:end] for begin, end in spans), source[spans[-1][1]:],
                 fault_outside_items=junk_after_root, fault_in_items=original is not None)
