"""What a rule file may not be, checked before any structure is built from it.

A rule file is a page of fields and a few dozen examples (the largest shipped one is
under 20 KB, 3,000 YAML events, 8 levels deep). Anchors, aliases and merge keys are
refused: nested aliases expand exponentially ("billion laughs") and the format needs
none of them. Size, node count and nesting are capped far above any rule and far
below what would hurt a running bot (deep nesting exhausts the loader's recursion).
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent

MAX_RULE_FILE_BYTES = 512 * 1024
MAX_RULE_FILE_NODES = 50_000
MAX_RULE_FILE_DEPTH = 64


class Refused(Exception):
    """Why a rule file is not read, and where."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.line, self.column = line, column


def read_capped(path: Path) -> str:
    """The file's text, read only when it is within the size cap (never a 200 MB read)."""
    with path.open("rb") as handle:
        data = handle.read(MAX_RULE_FILE_BYTES + 1)
    if len(data) > MAX_RULE_FILE_BYTES:
        raise Refused(f"the file is over {MAX_RULE_FILE_BYTES:,} bytes: too big for a rule file")
    return data.decode("utf-8")


def refuse_expansions(text: str) -> None:
    """Refused, with the place: an anchor, an alias, a merge key, too many nodes, too deep.
    A syntax error passes: the loaders say where it is, in words."""
    nodes = depth = 0
    try:
        for event in YAML(typ="safe").parse(text):
            nodes += 1
            line, column = (event.start_mark.line + 1, event.start_mark.column + 1) if event.start_mark else (1, 1)
            if isinstance(event, AliasEvent):
                raise Refused(f"YAML alias *{event.anchor}: rule files may not use anchors or aliases (write the value out)", line, column)
            if getattr(event, "anchor", None):
                raise Refused(f"YAML anchor &{event.anchor}: rule files may not use anchors or aliases (write the value out)", line, column)
            if isinstance(event, ScalarEvent) and event.value == "<<" and not event.style:
                raise Refused("YAML merge key <<: rule files may not merge mappings (write the fields out)", line, column)
            depth += isinstance(event, CollectionStartEvent) - isinstance(event, CollectionEndEvent)
            if depth > MAX_RULE_FILE_DEPTH:
                raise Refused(f"nested more than {MAX_RULE_FILE_DEPTH} levels deep: too deep for a rule file", line, column)
            if nodes > MAX_RULE_FILE_NODES:
                raise Refused(f"more than {MAX_RULE_FILE_NODES:,} YAML nodes: too many for a rule file", line, column)
    except YAMLError:
        return
