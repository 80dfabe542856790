"""The shipped news examples the signal model learns from and the catalogue is tested on.

Each example is written in the project's own words after one real published article,
whose address and date it records: a headline (and sometimes a lead), what an analyst
reads from it (its signal) and, when it is about a tracked commitment, which one.
Near misses share a commitment's words but are about something else (a phone battery,
Paris the city): no rule may match them.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

EXAMPLES_DIR = Path(__file__).parent / "data" / "signals"

SignalName = Literal["mention", "progress", "reaffirmed", "doubt", "delay", "weakened", "abandoned", "achieved"]


class ExampleError(ValueError):
    """A shipped example file that cannot be used, with the file and the item."""


class NewsExample(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=3)
    text: str = ""
    lang: str = Field(pattern=r"^[a-z]{2}$")
    category: str | None = None
    rule: str | None = None
    jurisdiction: str | None = None
    signal: SignalName | None = None
    target_year: int | None = None
    value: float | None = None
    change: float | None = None
    change_unit: str | None = None
    quantity_note: str | None = None
    near_miss: bool = False
    about: str | None = None
    source: str = Field(pattern=r"^https?://\S+$")
    date: date
    date_approx: bool = False

    @model_validator(mode="after")
    def _labelled(self) -> "NewsExample":
        if self.near_miss:
            if self.signal or self.rule:
                raise ValueError("a near miss has no `signal` and no `rule`: it is about no commitment")
        else:
            if not self.signal:
                raise ValueError("an example needs a `signal` (or `near_miss: true`)")
            if not self.category:
                raise ValueError("an example needs the `category` of the commitment it is about")
        return self

    @property
    def published_at(self) -> datetime:
        """The article's date, as a live entry carries it (a year before it is history)."""
        return datetime(self.date.year, self.date.month, self.date.day, tzinfo=timezone.utc)

    @property
    def reading(self) -> str:
        """The headline and the lead, as one text."""
        return f"{self.title}\n{self.text}".strip()


def example_files(folder: Path = EXAMPLES_DIR) -> list[Path]:
    return sorted(folder.glob("*.yaml"))


def load_examples(folder: Path = EXAMPLES_DIR) -> list[NewsExample]:
    """Every example of every file, or ExampleError naming the file and item at fault."""
    from ruamel.yaml import YAML

    loaded: list[NewsExample] = []
    for path in example_files(folder):
        items = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or []
        if not isinstance(items, list):
            raise ExampleError(f"{path.name}: expected a list of examples")
        for number, item in enumerate(items, 1):
            try:
                loaded.append(NewsExample.model_validate(item))
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in error.errors())
                raise ExampleError(f"{path.name}: example {number}: {problems}") from None
    return loaded


def examples_digest(folder: Path = EXAMPLES_DIR) -> str:
    """What the shipped model was trained on: changes with any example file."""
    digest = hashlib.sha256()
    for path in example_files(folder):
        digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
