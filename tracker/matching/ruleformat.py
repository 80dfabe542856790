"""The rule file format, declared once: validation, defaults and the JSON Schema come from here.

Documented field by field in rules/README.md; a test keeps the two in step.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

import re2
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from tracker.model import SignalKind

FIELDS = ("title", "summary", "content")
UNITS = ("percent", "count", "gw", "gwh", "usd", "plants")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegexTerm(_Strict):
    """A regular expression in RE2 syntax, applied to the normalised text."""

    regex: str = Field(min_length=1)


def _number_as_text(value: Any) -> Any:
    """An unquoted `2035` in YAML is a number; as a term it means the text 2035."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Term = Annotated[Union[str, RegexTerm], BeforeValidator(_number_as_text)]


def _is_blank_term(term: Term) -> bool:
    return isinstance(term, str) and not term.strip(" *")


class MatchSpec(_Strict):
    all: list[list[Term]] = Field(default_factory=list, description="Groups; every group must hit.")
    any: list[Term] = Field(default_factory=list, description="At least one of these must hit too.")
    none: list[Term] = Field(default_factory=list, description="Any hit rejects the entry.")
    within: int | None = Field(default=None, ge=1, le=10_000, description="Words within which every `all` group hits.")
    fields: list[Literal["title", "summary", "content"]] = Field(default_factory=lambda: list(FIELDS))

    @model_validator(mode="after")
    def _has_positive_terms(self) -> "MatchSpec":
        if not self.all and not self.any:
            raise ValueError("match needs `all` groups or `any` terms")
        for group in self.all:
            if not group:
                raise ValueError("an `all` group is empty")
        for term in [t for group in self.all for t in group] + self.any + self.none:
            if _is_blank_term(term):
                raise ValueError("a term is empty")
        if not self.fields:
            raise ValueError("fields must name at least one of title, summary, content")
        return self


class Metric(_Strict):
    name: str
    unit: Literal["percent", "count", "gw", "gwh", "usd", "plants"]
    target: float
    direction: Literal["at_most", "at_least"]
    baseline: float | None = None
    baseline_year: int | None = Field(default=None, ge=1900, le=2200)


class Source(_Strict):
    document: str = Field(min_length=1, description="Seed file name the commitment comes from.")
    quote: str = Field(min_length=1, description="The sentence it rests on, verbatim.")
    urls: list[str] = Field(default_factory=list)


class Extract(_Strict):
    near: list[str] = Field(min_length=1)
    unit: Literal["percent", "count", "gw", "gwh", "usd", "plants"]
    within: int = Field(default=12, ge=1, le=200)
    # Words that tie a number to another quantity (a tariff rate, a growth rate): a number
    # closer to one of them than to a `near` term is not the tracked one.
    not_near: list[str] = Field(default_factory=list)


class Signals(_Strict):
    progress: list[str] = Field(default_factory=list)
    reaffirmed: list[str] = Field(default_factory=list)
    doubt: list[str] = Field(default_factory=list)
    delay: list[str] = Field(default_factory=list)
    weakened: list[str] = Field(default_factory=list)
    abandoned: list[str] = Field(default_factory=list)
    achieved: list[str] = Field(default_factory=list)

    def by_kind(self) -> dict[SignalKind, list[str]]:
        return {SignalKind(name): list(getattr(self, name)) for name in type(self).model_fields}


class Example(_Strict):
    text: str = ""
    title: str = ""
    signal: Literal[
        "mention", "progress", "reaffirmed", "doubt", "delay", "weakened", "abandoned", "achieved"
    ] | None = None
    value: float | None = None
    change: float | None = None
    target_year: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"text": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _has_text(self) -> "Example":
        if not self.text.strip() and not self.title.strip():
            raise ValueError("an example needs `text` or `title`")
        return self


class Examples(_Strict):
    match: list[Example] = Field(min_length=1)
    no_match: list[Example] = Field(min_length=1)


class Rule(_Strict):
    """One commitment: what was promised, and how to recognise news about it."""

    id: str
    title: str = Field(min_length=1)
    actor: str = Field(min_length=1)
    category: str
    description: str = ""
    target: str = Field(min_length=1)
    deadline: date
    target_years: list[int] = Field(default_factory=list)
    parent: str | None = None
    baseline: str | None = None
    metric: Metric | None = None
    strength: Literal["pledge", "plan", "policy", "law"]
    confirmations: int = Field(default=1, ge=1, le=20)
    stale_after_days: int | None = Field(default=None, ge=1)
    source: Source
    tags: list[str] = Field(default_factory=list)
    channel: str | None = None
    match: MatchSpec
    signals: Signals = Field(default_factory=Signals)
    extract: Extract | None = None
    examples: Examples

    @property
    def stated_years(self) -> tuple[int, ...]:
        """The years news gives this commitment's date as: `target_years`, else the
        deadline's year (and the year before, for a fiscal year ending in its spring)."""
        if self.target_years:
            return tuple(sorted(self.target_years))
        year = self.deadline.year
        return (year - 1, year) if self.deadline.month <= 3 else (year,)

    @field_validator("target_years")
    @classmethod
    def _plausible_years(cls, value: list[int]) -> list[int]:
        for year in value:
            if not 1990 <= year <= 2100:
                raise ValueError(f"{year} is not a plausible target year")
        return value

    @field_validator("parent")
    @classmethod
    def _parent_is_an_id(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError(f"{value!r} must be a rule id: lower-case letters, digits and single hyphens")
        return value

    @field_validator("id", "category")
    @classmethod
    def _lower_hyphenated(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits and single hyphens")
        return value

    @field_validator("deadline", mode="before")
    @classmethod
    def _year_or_date(cls, value: Any) -> Any:
        """A bare year means the end of that year."""
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, bool):
            raise ValueError("expected a year (2028) or a date (2028-03-31)")
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            year = int(value)
            if not 1900 <= year <= 2200:
                raise ValueError(f"{year} is not a plausible year")
            return date(year, 12, 31)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a year (2028) or a date (2028-03-31)") from None
        return value


def compile_regex(pattern: str) -> Any:
    """Compile with RE2 (linear time). Raises ValueError with RE2's reason."""
    options = re2.Options()
    options.log_errors = False  # the reason goes into our error, not onto stderr
    try:
        return re2.compile(pattern, options)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise ValueError(reason) from None


def known_field_names() -> set[str]:
    """Every key the format knows, for did-you-mean suggestions."""
    names: set[str] = set()
    for model in (Rule, MatchSpec, Metric, Source, Extract, Signals, Example, Examples, RegexTerm):
        names.update(model.model_fields)
    return names


def json_schema() -> dict[str, Any]:
    schema = Rule.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tracker rule file"
    return schema
