"""`tracker rules …`: tools for the people who write rule files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tracker.model import Entry


@click.group()
def rules() -> None:
    """Check, test, explain and describe rule files."""


@rules.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def rules_check(app, paths: tuple[Path, ...]) -> None:
    """Validate rule files and run their examples; print every problem as file:line:column: message.

    PATHS default to the folders in config.toml. Exit status 1 on any problem.
    """
    from tracker.matching.rulefile import check_rules

    rule_set, results = check_rules(list(paths) or app.settings.rule_paths, signal_model=_shipped_model(app))
    for problem in rule_set.problems:
        click.echo(str(problem))
    passed = sum(result.passed for result in results)
    summary = (
        f"{_count(len(rule_set.files), 'file')}, {_count(len(rule_set.rules), 'rule')}, "
        f"{passed}/{len(results)} examples pass, {_count(len(rule_set.problems), 'problem')}"
    )
    click.echo(summary, err=True)
    if rule_set.problems:
        raise SystemExit(1)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@rules.command("test")
@click.argument("rule_id", required=False)
@click.pass_obj
def rules_test(app, rule_id: str | None) -> None:
    """Run every rule's examples (or RULE_ID's) and print pass/fail per example. Exit 1 on a failure."""
    from tracker.matching.rulefile import run_examples

    rule_set = app.load_rules()
    if rule_id and rule_id not in {rule.id for rule in rule_set.rules}:
        raise click.ClickException(f"no rule with id {rule_id!r}")
    results = run_examples(rule_set, only=rule_id, signal_model=_shipped_model(app))
    for result in results:
        verdict = "PASS" if result.passed else "FAIL"
        kind = "match   " if result.expected_match else "no_match"
        click.echo(f"{verdict} {result.rule_id} {kind} {result.text[:90]}")
        if not result.passed:
            for reason in result.reasons[:6]:
                click.echo(f"       {reason}")
    failed = sum(not result.passed for result in results)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed or rule_set.problems:
        raise SystemExit(1)


@rules.command("explain")
@click.argument("rule_id")
@click.option("--text", help="Text to test, as an entry's summary.")
@click.option("--title", default="", help="Title to test alongside --text.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read the text from a file.")
@click.option("--entry", "entry_id", type=int, help="A stored entry's id (see `tracker evidence`).")
@click.pass_obj
def rules_explain(app, rule_id: str, text: str | None, title: str, file: Path | None, entry_id: int | None) -> None:
    """Why RULE_ID matches a text or not: terms and where they hit, signal, year, value."""
    from tracker.matching.matcher import RuleMatcher

    rule_set = app.load_rules()
    if rule_id not in {rule.id for rule in rule_set.rules}:
        raise click.ClickException(f"no rule with id {rule_id!r}")
    entry = _entry_to_explain(app, text, title, file, entry_id)
    explanation = RuleMatcher(rule_set.rules, signal_model=_shipped_model(app)).explain(rule_id, entry)
    click.echo(f"{rule_id}: {'MATCH' if explanation.matched else 'no match'}")
    for reason in explanation.reasons:
        click.echo(f"  {reason}")
    if explanation.match and explanation.match.quote:
        click.echo(f"  quote: {explanation.match.quote}")


def _entry_to_explain(app, text, title, file, entry_id) -> Entry:
    if entry_id is not None:
        from sqlmodel import Session

        from storage.tables import EntryRow

        with Session(app.engine) as session:
            row = session.get(EntryRow, entry_id)
            if row is None:
                raise click.ClickException(f"no stored entry with id {entry_id}")
            return Entry(key=row.key, title=row.title, summary=row.summary, content=row.content)
    if file is not None:
        text = file.read_text(encoding="utf-8")
    if not text and not title:
        raise click.UsageError("give --text, --title, --file or --entry")
    return Entry(key="explain", title=title, summary=text or "")


@rules.command("preview")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--limit", default=50, show_default=True, help="Matches listed per rule.")
@click.pass_obj
def rules_preview(app, path: Path, limit: int) -> None:
    """What a new or edited rule (file or folder PATH) would match among stored entries, before it goes live."""
    from sqlmodel import Session

    from storage.views import iter_entries, evidence_entry_ids
    from tracker.matching.matcher import RuleMatcher
    from tracker.matching.rulefile import load_rules

    candidate = load_rules([path])
    for problem in candidate.problems:
        click.echo(f"rule error: {problem}", err=True)
    if not candidate.rules:
        raise SystemExit(1)
    matcher = RuleMatcher(candidate.rules, signal_model=_shipped_model(app))
    found: dict[str, list] = {rule.id: [] for rule in candidate.rules}
    with Session(app.engine) as session:
        scanned = 0
        for entry_id, published, feed, entry in iter_entries(session):
            scanned += 1
            for match in matcher.match(entry):
                found[match.rule_id].append((entry_id, published, feed, entry.title, match))
        live = {rule.id: evidence_entry_ids(session, rule.id) for rule in candidate.rules}
    for rule in candidate.rules:
        matches = sorted(found[rule.id], key=lambda item: item[1] or "", reverse=True)
        matched_ids = {item[0] for item in matches}
        gained, lost = matched_ids - live[rule.id], live[rule.id] - matched_ids
        click.echo(f"{rule.id}: {len(matches)} of {scanned} stored entries match"
                   + (f" ({len(gained)} new, {len(lost)} no longer matched)" if live[rule.id] else ""))
        for entry_id, published, feed, title, match in matches[:limit]:
            marker = "+" if entry_id in gained else " "
            day = published[:10] if published else "          "
            click.echo(f" {marker} {entry_id:>6} {day} [{match.signal.value}] {title[:90]} ({feed}; {', '.join(match.matched_terms)})")
        for entry_id in sorted(lost)[:limit]:
            click.echo(f" - {entry_id:>6} no longer matched")


@rules.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of the rule format (for editors)."""
    from tracker.matching.ruleformat import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


def _shipped_model(app):
    """The rule commands read signals as the bot does, with the shipped model (they need
    no database, so not one trained here), or with phrases alone when so configured."""
    from tracker.matching.model_store import shipped_model

    return shipped_model() if app.settings.signals.reader == "model" else None
