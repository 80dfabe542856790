"""`tracker doctor`: every part a user sets up, checked, with what to fix.

Read-only: the database is looked at, never migrated; Slack is asked who the token is
and which channels the bot is in, and sent nothing. No secret is ever printed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import click

from tracker.app import ACCESS_TOKEN_ENV, SIGNING_SECRET_ENV, App, SetupError, secret


@dataclass(frozen=True)
class Check:
    part: str
    ok: bool
    detail: str
    advice: str = ""


@click.command()
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def doctor(app: App, output_format: str) -> None:
    """Check the config, database, rules, feeds, Slack token and channels, and the web
    server's secrets; say what to fix. Exit status 1 when anything is wrong."""
    checks = list(run_checks(app))
    if output_format == "json":
        click.echo(json.dumps([asdict(check) for check in checks], indent=2))
    else:
        _print_table(checks)
    if not all(check.ok for check in checks):
        raise SystemExit(1)


def run_checks(app: App):
    try:
        settings = app.settings
    except SetupError as error:
        yield Check("config", False, str(error), f"fix {app.config_path}: each key is explained in the shipped config.toml")
        return
    yield Check("config", True, f"{app.config_path}: {len(settings.feeds)} feeds, rules in {', '.join(settings.rules.paths)}")
    database, feeds_state = _database(settings.database.url)
    yield database
    yield _rules(settings)
    if feeds_state == "readable":
        rows = _feed_rows(settings.database.url)
    else:
        rows = {} if feeds_state == "none yet" else None
    yield from _feeds(settings, rows)
    yield from _slack(settings)
    yield from _web(settings)


def _database(url: str) -> tuple[Check, str]:
    """The database's check, and its feeds': "readable" (a revision this tracker knows,
    behind or not), "none yet" (no file, no tables) or "unknown" (not reached)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from storage.engine import make_engine
    from storage.migrate import HEAD_REVISION, current_revision, known_revisions

    advice = "set [database] url (or $TRACKER_DATABASE_URL) to a SQLAlchemy URL: sqlite:///tracker.db or postgresql+psycopg://user@host/db"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return Check("database", False, "not a database URL", advice), "unknown"
    shown = parsed.render_as_string(hide_password=True)
    if _no_sqlite_file_yet(url):
        # Doctor only looks: connecting would create the file.
        return Check("database", True, f"{shown}: no file yet: the first `tracker poll` or `run` creates it"), "none yet"
    try:
        engine = make_engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        return Check("database", False, f"{shown}: no driver for it ({type(error).__name__})", advice), "unknown"
    try:
        revision = current_revision(engine)
    except DBAPIError as error:
        reason = str(error.orig or error).strip().splitlines()[0]
        return Check("database", False, f"{shown}: cannot connect: {reason}", "start the database server, or fix [database] url and its credentials"), "unknown"
    finally:
        engine.dispose()
    if revision == HEAD_REVISION:
        return Check("database", True, f"{shown}: reachable, at the head revision {HEAD_REVISION}"), "readable"
    if revision is None:
        return Check("database", True, f"{shown}: reachable, empty: the first command creates its tables"), "none yet"
    if revision in known_revisions():
        return Check("database", False, f"{shown}: at revision {revision}, this tracker needs {HEAD_REVISION}",
                     "run `tracker db upgrade` (any other command also upgrades it first)"), "readable"
    return Check("database", False, f"{shown}: at revision {revision}, which this tracker does not know",
                 "a newer tracker migrated it: upgrade the tracker, or point [database] url at this version's database"), "unknown"


def _no_sqlite_file_yet(url: str) -> bool:
    from sqlalchemy.engine import make_url

    from storage.engine import is_sqlite

    database = make_url(url).database
    return is_sqlite(url) and database not in (None, "", ":memory:") and not Path(database).exists()


def _rules(settings):
    from tracker.matching.rulefile import load_rules

    loaded = load_rules(settings.rule_paths)
    broken = [problem for problem in loaded.problems if problem.excludes_rule]
    if not broken:
        return Check("rules", True, f"{len(loaded.rules)} rules, no errors")
    shown = "; ".join(str(problem) for problem in broken[:5]) + (f"; and {len(broken) - 5} more" if len(broken) > 5 else "")
    return Check("rules", False, f"{len(loaded.rules)} rules usable, {len(broken)} errors: {shown}",
                 "fix each file at the line shown (`tracker rules check` lists them all); the bot keeps the last good rules meanwhile")


def _feed_rows(url: str) -> dict:
    """Each configured feed's last check, by name (columns every revision has)."""
    from sqlalchemy import select

    from storage.engine import make_engine
    from storage.tables import FeedRow

    columns = (FeedRow.name, FeedRow.last_polled_at, FeedRow.last_status, FeedRow.last_error, FeedRow.consecutive_failures, FeedRow.disabled_reason)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {row.name: row for row in connection.execute(select(*columns).where(FeedRow.active == True))}  # noqa: E712
    finally:
        engine.dispose()


def _feeds(settings, rows: dict | None):
    """`rows` None: the database could not be read, so nothing is said of each feed."""
    if not settings.feeds:
        yield Check("feeds", False, "no [[feeds]] in the config", "add one [[feeds]] table per feed (name, url)")
    if rows is None:
        return
    for feed in settings.feeds:
        row = rows.get(feed.name)
        part = f"feed {feed.name}"
        if row is None or row.last_polled_at is None:
            yield Check(part, True, "not polled yet")
        elif row.disabled_reason:
            yield Check(part, False, f"disabled: {row.disabled_reason}", "fix its url in the config: a new url is polled again")
        elif row.consecutive_failures:
            yield Check(part, False, f"failing {row.consecutive_failures}× in a row: {row.last_error}",
                        "open the url in a browser; fix or remove the feed (`tracker feeds` shows every feed's health)")
        else:
            note = f" ({row.last_error})" if row.last_error else ""
            yield Check(part, True, f"last check {row.last_polled_at:%Y-%m-%d %H:%M} UTC: HTTP {row.last_status}{note}")


def _slack(settings):
    from notifiers import DeliveryError

    slack = settings.slack
    token = secret(slack.token_env)
    if not token:
        if secret(slack.webhook_url_env):
            yield Check("slack", True, f"incoming webhook from ${slack.webhook_url_env}: one channel, no threads or buttons")
        else:
            yield Check("slack", True, f"no ${slack.token_env}: alerts are printed to the console")
        return
    from notifiers.slack import SlackNotifier

    notifier = SlackNotifier(token, base_url=slack.api_url, default_channel=slack.channel)
    try:
        who = notifier.check()
    except DeliveryError as failure:
        advice = {
            "invalid_auth": f"the token in ${slack.token_env} is not valid: copy the Bot User OAuth Token (xoxb-…) from the app's OAuth page",
            "token_revoked": f"the token in ${slack.token_env} was revoked: reinstall the app and use its new token",
            "account_inactive": "the app's bot user is deactivated: reinstall the app",
        }
        reason = next((words for code, words in advice.items() if code in str(failure)), f"check ${slack.token_env} and [slack] api_url")
        yield Check("slack token", False, f"Slack refused it: {failure}", reason)
        return
    yield Check("slack token", True, f"${slack.token_env} is valid: {who}")
    yield from _channels(settings, notifier)


def _channels(settings, notifier):
    from notifiers import DeliveryError
    from tracker.matching.rulefile import load_rules

    slack = settings.slack
    wanted = dict.fromkeys([slack.channel, slack.ops_channel or slack.channel, *slack.category_channels.values(),
                            *(rule.channel for rule in load_rules(settings.rule_paths).rules if rule.channel)])
    try:
        access = notifier.channel_access()
    except DeliveryError as failure:
        yield Check("slack channels", False, f"cannot list channels: {failure}",
                    "give the app the channels:read and groups:read scopes (also used to check an in-doubt alert before resending it)")
        return
    for channel in wanted:
        name = channel.lstrip("#")
        part = f"channel {channel}"
        if name not in access:
            yield Check(part, False, "no such channel the bot can see", f"create {channel}, fix its name in the config, or invite the bot if it is private")
        elif not access[name]:
            yield Check(part, False, "the bot is not a member", f"invite it: /invite @your-bot in {channel}")
        else:
            yield Check(part, True, "the bot is a member")


def _web(settings):
    if secret(settings.slack.token_env):
        if secret(SIGNING_SECRET_ENV):
            yield Check("web: Slack buttons", True, f"${SIGNING_SECRET_ENV} set: `tracker serve` accepts the cards' buttons and menus")
        else:
            yield Check("web: Slack buttons", False, f"alert cards carry buttons and a Read as… menu, but ${SIGNING_SECRET_ENV} is not set",
                        f"set ${SIGNING_SECRET_ENV} to the app's Signing Secret (Basic Information) where `tracker serve` runs")
    if secret(ACCESS_TOKEN_ENV):
        yield Check("web: access token", True, f"${ACCESS_TOKEN_ENV} set: pages and API ask for it")
    else:
        yield Check("web: access token", True, f"${ACCESS_TOKEN_ENV} not set: serve on 127.0.0.1 only (the default), or set it")


def _print_table(checks: list[Check]) -> None:
    """One line per check, ✓ or ✗ and the part in a column, and under each ✗ one line of
    what to do: plain lines, so nothing is cut by a narrow terminal and each is greppable."""
    width = max(len(check.part) for check in checks)
    for check in checks:
        click.echo(f"{'✓' if check.ok else '✗'} {_printable(check.part):<{width}}  {_printable(check.detail)}")
        if not check.ok and check.advice:
            click.echo(f"  {'':<{width}}  → {_printable(check.advice)}")
    wrong = sum(not check.ok for check in checks)
    click.echo(f"{wrong} to fix" if wrong else "all good")


def _printable(text: str) -> str:
    """A feed's error can hold what its server sent: no terminal control character gets through."""
    return "".join(character if character.isprintable() else " " for character in text)
