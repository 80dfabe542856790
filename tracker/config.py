"""Loading and validating `config.toml`.

Every key is declared here, with its default, so an unknown or misspelt key is an
error naming the file and the key instead of a setting silently ignored. Secrets
never live in the file: it names the environment variables that hold them.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DATABASE_URL_ENV = "TRACKER_DATABASE_URL"
SLACK_API_URL_ENV = "SLACK_API_URL"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(Exception):
    """A config file that cannot be used; the message names the file and the key."""


def parse_duration(value: Any, allow_zero: bool = False) -> float:
    """'30m' → 1800.0. Plain numbers are seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 30m, 2h or 1d")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        found = _DURATION.match(str(value))
        if not found:
            raise ValueError(f"{value!r} is not a duration like 30s, 30m, 2h or 1d")
        seconds = float(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("a duration must be greater than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
DurationOrZero = Annotated[float, BeforeValidator(lambda value: parse_duration(value, allow_zero=True))]


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


HttpUrl = Annotated[str, BeforeValidator(lambda v: _check_http_url(str(v)))]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///tracker.db"


class RulesSettings(_Section):
    paths: list[str] = Field(default_factory=lambda: ["rules"])


class ScheduleSettings(_Section):
    interval: Duration = 1800.0
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    tick: Duration = 60.0
    lease: Duration = 300.0


class FetchSettings(_Section):
    timeout: Duration = 20.0
    deadline: Duration = 60.0
    max_body_bytes: int = Field(default=15 * 1024 * 1024, gt=0)
    concurrency: int = Field(default=16, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=16)
    max_redirects: int = Field(default=5, ge=0, le=20)
    contact_url: str = "https://github.com/example/tracker"
    broken_after: int = Field(default=3, ge=1, le=100)
    max_backoff: Duration = 86400.0
    # Redirects into loopback, private, link-local or unspecified addresses are refused
    # unless the configured URL's own host is that address; true allows them all.
    allow_private_networks: bool = False


class StatusSettings(_Section):
    stale_after_days: int = Field(default=90, ge=1)
    remind_days: list[int] = Field(default_factory=lambda: [90, 30, 7])
    daily_at: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class SignalsSettings(_Section):
    # A machine reading less sure than this (a calibrated probability) is kept and shown
    # as "needs a look", and moves no status until a person labels it.
    min_confidence: float = Field(default=0.25, ge=0.0, le=1.0)
    # "model": the signal model reads what the rules' phrases leave open; "phrases": the
    # built-in phrases alone (no model is loaded: readings that never change with a retrain).
    reader: Literal["model", "phrases"] = "model"


class ParseSettings(_Section):
    workers: int = Field(default=0, ge=0, le=64)


class SlackSettings(_Section):
    channel: str = "#commitments"
    token_env: str = "SLACK_BOT_TOKEN"
    api_url: HttpUrl = "https://slack.com/api/"
    ops_channel: str | None = None
    category_channels: dict[str, str] = Field(default_factory=dict)
    webhook_url_env: str = "SLACK_WEBHOOK_URL"
    per_channel_interval: DurationOrZero = 1.0


class DigestSettings(_Section):
    frequency: str = Field(default="daily", pattern="^(daily|weekly|off)$")
    at: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    weekday: str = Field(default="mon", pattern="^(mon|tue|wed|thu|fri|sat|sun)$")
    deadline_days: int = Field(default=90, ge=1)


class WebSettings(_Section):
    # Host names `tracker serve` answers to (the Host header); empty: the loopback names
    # when it listens on loopback, else any host (with a warning at start).
    allowed_hosts: list[str] = Field(default_factory=list)


class MetricsSettings(_Section):
    # `tracker run` serves /metrics on this port when set (0: off); `tracker serve` always does.
    port: int = Field(default=0, ge=0, le=65535)
    host: str = "127.0.0.1"


class FeedSettings(_Section):
    name: str = Field(min_length=1)
    url: HttpUrl
    interval: Duration | None = None


class Settings(_Section):
    """The whole config, paths already resolved against the config file's folder."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    parse: ParseSettings = Field(default_factory=ParseSettings)
    status: StatusSettings = Field(default_factory=StatusSettings)
    signals: SignalsSettings = Field(default_factory=SignalsSettings)
    digest: DigestSettings = Field(default_factory=DigestSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    feeds: list[FeedSettings] = Field(default_factory=list)

    @field_validator("feeds")
    @classmethod
    def _feed_names_are_unique(cls, feeds: list[FeedSettings]) -> list[FeedSettings]:
        seen: set[str] = set()
        for feed in feeds:
            if feed.name in seen:
                raise ValueError(f"two feeds are named {feed.name!r}; names must be unique")
            seen.add(feed.name)
        return feeds

    @model_validator(mode="after")
    def _rules_paths_given(self) -> "Settings":
        if not self.rules.paths:
            raise ValueError("rules.paths must name at least one folder")
        return self

    @model_validator(mode="after")
    def _lease_outlasts_a_fetch(self) -> "Settings":
        # A lease shorter than a fetch would let a second instance take a feed the first is still reading.
        if self.schedule.lease <= self.fetch.deadline:
            raise ValueError(f"schedule.lease ({self.schedule.lease:g}s) must be longer than fetch.deadline ({self.fetch.deadline:g}s)")
        return self

    @property
    def rule_paths(self) -> list[Path]:
        return [Path(p) for p in self.rules.paths]


def load_settings(path: Path, environ: dict[str, str] | None = None) -> Settings:
    """Read, validate and resolve a config file. Raises ConfigError with file and key."""
    environ = dict(os.environ) if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        where = f" (looked for {path.resolve()})" if not path.is_absolute() else ""
        raise ConfigError(f"{path}: config file not found{where}; name one with --config or $TRACKER_CONFIG") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config file: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_describe_validation_error(path, error)) from None
    return _resolve(settings, path.resolve().parent, environ)


def _describe_validation_error(path: Path, error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = _dotted_key(problem["loc"])
        if problem["type"] == "extra_forbidden":
            guess = difflib.get_close_matches(str(problem["loc"][-1]), sorted(_known_keys()), n=1, cutoff=0.7)
            message = "unknown key" + (f" (did you mean {guess[0]!r}?)" if guess else "")
        elif problem["type"] == "missing":
            message = "required key is missing"
        else:
            message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {key}: {message}" if key else f"{path}: {message}")
    return "\n".join(lines)


def _known_keys() -> set[str]:
    keys = set(Settings.model_fields)
    for field in Settings.model_fields.values():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            keys.update(model.model_fields)
    return keys | set(FeedSettings.model_fields)


def _dotted_key(location: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        elif not str(part).startswith("function-") and part not in ("float", "str"):
            parts.append(str(part))
    return ".".join(parts)


def _database_url_from_environ(environ: dict[str, str]) -> str | None:
    """$TRACKER_DATABASE_URL, or the file $TRACKER_DATABASE_URL_FILE names: a URL may hold a password."""
    path = environ.get(f"{DATABASE_URL_ENV}_FILE")
    if environ.get(DATABASE_URL_ENV) and path:
        raise ConfigError(f"both {DATABASE_URL_ENV} and {DATABASE_URL_ENV}_FILE are set: set one")
    if not path:
        return environ.get(DATABASE_URL_ENV) or None
    try:
        url = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{DATABASE_URL_ENV}_FILE: cannot read {path}: {error.strerror}") from None
    if not url:
        # Falling back to [database] url would quietly run a private SQLite beside the shared database.
        raise ConfigError(f"{DATABASE_URL_ENV}_FILE: {path} is empty")
    return url


def _resolve(settings: Settings, base: Path, environ: dict[str, str]) -> Settings:
    database_url = _database_url_from_environ(environ) or settings.database.url
    api_url = environ.get(SLACK_API_URL_ENV) or settings.slack.api_url
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(
                update={"url": resolve_sqlite_path(database_url, base)}
            ),
            "rules": settings.rules.model_copy(
                update={"paths": [str((base / p).resolve()) for p in settings.rules.paths]}
            ),
            "slack": settings.slack.model_copy(update={"api_url": api_url}),
        }
    )


def resolve_sqlite_path(url: str, base: Path) -> str:
    """Make a relative SQLite file path relative to the config file, not the shell's folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite://" or url.startswith("sqlite:///:memory:"):
        return url
    file_part, _, query = url[len(prefix):].partition("?")
    if not file_part or Path(file_part).is_absolute():
        return url
    resolved = f"{prefix}{(base / file_part).resolve()}"
    return f"{resolved}?{query}" if query else resolved
