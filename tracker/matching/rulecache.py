"""Rule files already read: each valid file's rule kept as JSON under the hash of its bytes.

Reading a rule file (YAML, then validation) is most of what every command pays at
start before it does anything: about 0.2 s for the shipped catalogue, against a few
milliseconds for the same rules validated again from JSON. A file whose bytes changed,
or a tracker whose rule format changed, has another key, so nothing stale is ever read.
JSON, not pickle: a cache file is data, validated like the YAML it stands for.

Where: $TRACKER_CACHE_DIR, else $XDG_CACHE_HOME/tracker, else ~/.cache/tracker. A cache
that cannot be read or written is no cache: the files are read as ever.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from pathlib import Path

from pydantic import ValidationError

from tracker.matching import ruleformat
from tracker.matching.ruleformat import Rule

log = logging.getLogger("tracker")

# Bumped when what a cached file holds changes in a way the format's source does not show.
CACHE_VERSION = "1"
# Kept files beyond this many (every edit of a rule file leaves one) go, oldest first.
MAX_FILES = 500


def cache_folder(environ: dict[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    if environ.get("TRACKER_CACHE_DIR"):
        return Path(environ["TRACKER_CACHE_DIR"])
    base = Path(environ["XDG_CACHE_HOME"]) if environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "tracker"


@functools.cache
def _format_fingerprint() -> str:
    """The rule format as this tracker reads it: its module's source and pydantic's version."""
    import pydantic

    source = Path(ruleformat.__file__).read_bytes()
    return hashlib.sha256(source + pydantic.VERSION.encode() + CACHE_VERSION.encode()).hexdigest()[:16]


def _path_for(text: str) -> Path:
    key = hashlib.sha256(_format_fingerprint().encode() + text.encode("utf-8")).hexdigest()[:40]
    return cache_folder() / "rules" / f"{key}.json"


def cached_rule(text: str) -> Rule | None:
    """The rule a file of exactly this text was read as before, if it was valid."""
    try:
        return Rule.model_validate(json.loads(_path_for(text).read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError):
        return None


def remember_rule(text: str, rule: Rule) -> None:
    """Keep a valid file's rule for the next process that reads the same text."""
    path = _path_for(text)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(rule.model_dump(mode="json")), encoding="utf-8")
        partial.replace(path)  # whole or absent: another process never reads half a file
        _prune(path.parent)
    except OSError as error:
        log.debug("rule cache not written (%s): rule files are read in full each start", error)


def _prune(folder: Path) -> None:
    files = list(folder.glob("*.json"))
    if len(files) <= MAX_FILES:
        return
    for old in sorted(files, key=lambda file: file.stat().st_mtime)[: len(files) - MAX_FILES]:
        old.unlink(missing_ok=True)
