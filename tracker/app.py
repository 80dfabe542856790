"""The parts every entry point builds from one config: settings, the migrated database,
the rules in force, the notifier and its routes, a tick's parts. The command line and
the web server both stand on it; neither imports the other."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Callable
from pathlib import Path

from sqlmodel import Session

from tracker.config import ConfigError, Settings, load_settings

log = logging.getLogger("tracker")

# `tracker serve`'s secrets: the web access token, and what verifies Slack's requests.
ACCESS_TOKEN_ENV = "TRACKER_WEB_TOKEN"
SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"
# From this many feeds a cycle nearly always has documents to parse: the parser workers
# start with the process, beside its other start-up work (a few feeds parse faster here).
WARM_UP_FEEDS = 16


class SetupError(Exception):
    """An unusable config, secret or database: the command stops with the reason (exit 2)."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class App:
    """What commands share: the config path, and the parts built from it on first use."""

    def __init__(self, config_path: Path, warn: Callable[[str], None] | None = None) -> None:
        """`warn` tells the user of a problem that does not stop the command (a broken rule
        file): the command line prints it on stderr; by default it is logged."""
        self.config_path = config_path
        self.warn = warn or log.warning
        self.command = "tracker"  # what this process is, in the instance registry

    @cached_property
    def registration(self):
        """This process in the instance registry (tracker.instances), from its first claim of
        work until `close()`: registering takes back what dead instances left waiting."""
        from tracker.instances import Registration

        return Registration(self.engine, self.command, self.settings.schedule.tick, utc_now)

    def close(self) -> None:
        """Leave the registry cleanly: nothing this process held is left waiting."""
        registration = vars(self).pop("registration", None)
        if registration is not None:
            registration.close()

    @cached_property
    def settings(self) -> Settings:
        try:
            return load_settings(self.config_path)
        except ConfigError as error:
            raise SetupError(str(error)) from None

    @cached_property
    def engine(self):
        from storage.engine import make_engine
        from storage.migrate import MigrationError, upgrade

        engine = make_engine(self.settings.database.url)
        try:
            upgrade(engine)
        except MigrationError as error:
            raise SetupError(f"database {engine.url.render_as_string(hide_password=True)}: {error}") from None
        return engine

    def sync_feeds(self, *, only_add: bool = True) -> None:
        """Bring the feed table in line with this config. Reading commands only add feeds
        they do not know: the polling instances own the table, and an operator's older
        copy of config.toml must not switch off or re-point the feeds they poll."""
        from storage import feeds as feed_store

        interval = self.settings.schedule.interval
        wanted = [(f.name, f.url, f.interval or interval) for f in self.settings.feeds]
        with Session(self.engine) as session:
            feed_store.sync_feeds(session, wanted, utc_now(), only_add=only_add)
            session.commit()

    def sync_rules(self):
        """Load the rule files and add or update their commitments; returns the usable rules.

        A reading command never retires a commitment whose file it does not see (a
        missing or wrong rules folder would retire them all); `run` and `poll` do.
        """
        loaded = self.load_rules()
        self._sync_commitments(loaded.rules, retire_missing=False)
        return loaded.rules

    def _sync_commitments(self, rules, *, retire_missing: bool) -> None:
        """`retire_missing` is False while some rule file is broken: its commitment is
        missing from `rules` only because of the error, not because it was removed."""
        from storage import repository

        with Session(self.engine) as session:
            repository.sync_commitments(session, rules, utc_now(), retire_missing)
            session.commit()

    def load_rules(self, paths: list[Path] | None = None):
        from tracker.matching.rulefile import load_rules

        loaded = load_rules(paths or self.settings.rule_paths)
        for problem in loaded.problems:
            self.warn(f"rule error: {problem} (that file's rule is not used)")
        return loaded

    def rules_in_force(self, last_good_rules: dict | None = None, *, sync_config: bool = True) -> dict:
        """The rules to act on, by id.

        `last_good_rules` (a running bot reloading): when a rule file is broken, keep
        using that set rather than lose the broken file's commitment, and say so once.
        `sync_config` False (`tracker serve` acting on a click): the feed and commitment
        tables are the running bot's to keep; a server started long ago must not put
        back its old config.
        """
        loaded = self.load_rules()
        broken = [str(problem) for problem in loaded.problems if problem.excludes_rule]
        rules = list(last_good_rules.values()) if broken and last_good_rules else list(loaded.rules)
        if sync_config:
            self._sync_commitments(rules, retire_missing=not broken)
            self.sync_feeds(only_add=False)
        if broken and last_good_rules:
            from notifiers.notices import notify_broken_rules

            log.error("rule files have errors; keeping the last good rule set:\n%s", "\n".join(broken))
            notify_broken_rules(self.engine, self.routes.for_notices, broken, utc_now())
        return {rule.id: rule for rule in rules}

    @cached_property
    def notifier(self):
        return build_notifier(self.settings)

    @cached_property
    def routes(self):
        """The console shows every alert where it runs: channels are Slack's."""
        from tracker.model import ChannelRoutes

        slack = self.settings.slack
        if self.notifier.name == "console":
            return ChannelRoutes(by_category=dict(slack.category_channels))
        return ChannelRoutes(default=slack.channel, ops=slack.ops_channel or slack.channel, by_category=dict(slack.category_channels))

    @cached_property
    def sender(self):
        """What the delivery step needs, paced as the channel allows."""
        from notifiers.delivery import Pacer, Sender

        # Slack allows about a message a second per channel; the console needs no pacing.
        interval = self.settings.slack.per_channel_interval if self.notifier.name != "console" else 0.0
        return Sender(self.engine, self.notifier, self.routes, Pacer(interval), utc_now, holder=self.registration.id)

    def deliver(self):
        """Send what the outbox holds now (after a command's change)."""
        from notifiers.delivery import deliver_pending

        return deliver_pending(self.sender)

    def send_digest(self, now: datetime, *, dry_run: bool = False) -> str:
        """The digest for this config as of `now`, into the outbox unless dry."""
        from tracker.status.digest import enqueue_digest

        status, digest = self.settings.status, self.settings.digest
        return enqueue_digest(self.engine, self.routes.for_notices, now, status.stale_after_days, digest.deadline_days, dry_run=dry_run)

    @cached_property
    def signal_model(self):
        """The newest model trained here (`tracker signals train`, stored in the database
        every instance shares), else the shipped one."""
        from storage.signal_models import newest_model
        from tracker.matching.model_store import shipped_model
        from tracker.matching.signal_model import SignalModel

        with Session(self.engine) as session:
            stored = newest_model(session)
        if stored is not None:
            try:
                return SignalModel.from_bytes(stored)
            except ValueError as error:  # trained for other features: the shipped one reads
                log.warning("the signal model stored in the database is unusable (%s): using the shipped one; retrain with `tracker signals train`", error)
        return shipped_model()

    def matcher(self, rules):
        from tracker.matching.matcher import RuleMatcher

        signals = self.settings.signals
        model = self.signal_model if signals.reader == "model" else None
        return RuleMatcher(rules, signal_model=model, min_confidence=signals.min_confidence if model else 0.0)

    def build_tick(self, last_good_rules: dict | None = None):
        """Wire the parts of one tick from the config (see `rules_in_force`)."""
        from tracker.feeds.fetch import FetchPolicy
        from tracker.feeds.pool import ParserPool
        from tracker.pipeline import Tick

        settings = self.settings
        parser = ParserPool(settings.parse.workers)
        if len(settings.feeds) >= WARM_UP_FEEDS:
            parser.warm_up()
        rules = self.rules_in_force(last_good_rules)
        fetch = settings.fetch
        policy = FetchPolicy(
            timeout_seconds=fetch.timeout,
            deadline_seconds=fetch.deadline,
            max_body_bytes=fetch.max_body_bytes,
            concurrency=fetch.concurrency,
            per_host=fetch.per_host,
            max_redirects=fetch.max_redirects,
            contact_url=fetch.contact_url,
            allow_private_networks=fetch.allow_private_networks,
        )
        return Tick(
            engine=self.engine,
            fetch_policy=policy,
            matcher=self.matcher(list(rules.values())),
            rules=rules,
            notifier=self.notifier,
            routes=self.routes,
            parser=parser,
            pacer=self.sender.pacer,
            jitter=settings.schedule.jitter,
            broken_after=fetch.broken_after,
            max_backoff=timedelta(seconds=fetch.max_backoff),
            lease=timedelta(seconds=settings.schedule.lease),
            clock=utc_now,
            instance=self.registration,
        )


def secret(environ_name: str) -> str:
    """A secret from the environment, or from the file its _FILE variant names (Docker and
    systemd credentials). Never from the config file."""
    value = os.environ.get(environ_name, "").strip()
    file_name = os.environ.get(f"{environ_name}_FILE")
    if value and file_name:
        raise SetupError(f"both ${environ_name} and ${environ_name}_FILE are set: set one")
    if file_name:
        path = Path(file_name)
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SetupError(f"{environ_name}_FILE: cannot read {path}: {error.strerror}") from None
        if not value:  # meant to be set: silently falling back (to the console, to no token) would hide it
            raise SetupError(f"{environ_name}_FILE: {path} is empty")
    return value


def build_notifier(settings: Settings):
    """Slack with a bot token; else an incoming webhook; else the console.

    slack_sdk is imported only when it will be used: it costs a tenth of a second
    on every command, more than a whole cycle of 304s."""
    from notifiers.console import ConsoleNotifier

    token = secret(settings.slack.token_env)
    if token:
        from notifiers.slack import SlackNotifier

        return SlackNotifier(token, base_url=settings.slack.api_url, default_channel=settings.slack.channel)
    webhook = secret(settings.slack.webhook_url_env)
    if webhook:
        from notifiers.webhook import WebhookNotifier

        return WebhookNotifier(webhook)
    log.info("no $%s or $%s set: alerts are printed here", settings.slack.token_env, settings.slack.webhook_url_env)
    return ConsoleNotifier()
