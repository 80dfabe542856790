"""`tracker signals`: the signal model: what it was trained on, retraining it, and how well it reads."""

from __future__ import annotations

import json

import click

from tracker.app import App, utc_now
from tracker.cli.common import echo
from tracker.output import render


@click.group(invoke_without_command=True)
@click.pass_context
def signals(context: click.Context) -> None:
    """The model that reads a signal where the rules' phrases do not: `train`, `evaluate`."""
    if context.invoked_subcommand is None:
        model = context.obj.signal_model
        if model is None:
            click.echo("no signal model: signals come from the rules' phrases only")
            return
        click.echo(json.dumps(model.info, indent=2, sort_keys=True))


@signals.command("train")
@click.pass_obj
def signals_train(app: App) -> None:
    """Retrain from the shipped examples plus every label people gave, and store the model
    in the database, where every instance reads it from its next tick on."""
    from sqlmodel import Session

    from storage.signal_models import store_model
    from tracker.matching.training import train_model

    rules = app.rules_in_force()
    labels = _labels(app, rules)
    model = train_model(rules, labels)
    with Session(app.engine) as session:
        model_id = store_model(session, model.to_bytes(), model.header["shipped_examples"], len(labels), utc_now())
        session.commit()
    counts = ", ".join(f"{signal} {count}" for signal, count in sorted(model.header["by_signal"].items()))
    click.echo(f"trained model {model_id}: {model.header['shipped_examples']} shipped examples and {len(labels)} labels ({counts})")


@signals.command("evaluate")
@click.option("--folds", default=5, show_default=True, type=click.IntRange(min=2), help="Cross-validation folds on the shipped examples.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.pass_obj
def signals_evaluate(app: App, folds: int, fmt: str) -> None:
    """Per-signal precision and recall and a confusion matrix: cross-validated on the shipped
    examples, and the model in use on the labels people gave."""
    from tracker.matching.training import evaluate_examples, evaluate_labels

    rules = app.rules_in_force()
    results = {"shipped examples (cross-validated)": evaluate_examples(rules, folds)}
    labels = _labels(app, rules)
    if labels and app.signal_model is not None:
        results["labels (model in use)"] = evaluate_labels(app.signal_model, labels, rules)
    if fmt == "json":
        echo(json.dumps({name: _as_json(result) for name, result in results.items()}, indent=2))
        return
    for name, result in results.items():
        click.echo(f"{name}: {len(result.pairs)} readings, right {result.accuracy():.0%} "
                   f"({result.accuracy([{'progress', 'reaffirmed'}]):.0%} with progress and reaffirmed as one)")
        rows = [{"signal": label, "precision": f"{p:.2f}", "recall": f"{r:.2f}", "examples": n} for label, (p, r, n) in result.precision_recall().items()]
        echo(render(rows, "table", ("signal", "precision", "recall", "examples")))
        labels_seen = result.labels
        matrix = [{"true \\ read": truth, **{guess[:5]: count for guess, count in zip(labels_seen, row)}} for truth, row in zip(labels_seen, result.confusion())]
        echo(render(matrix, "table", ("true \\ read", *(label[:5] for label in labels_seen))))
    if not labels:
        click.echo("labels: none yet (`tracker evidence label ENTRY_ID ID SIGNAL` records one; `tracker signals train` learns from them)")


def _as_json(result) -> dict:
    return {
        "readings": len(result.pairs),
        "accuracy": result.accuracy(),
        "accuracy_progress_reaffirmed_as_one": result.accuracy([{"progress", "reaffirmed"}]),
        "by_signal": {label: {"precision": p, "recall": r, "examples": n} for label, (p, r, n) in result.precision_recall().items()},
        "labels": result.labels,
        "confusion": result.confusion(),
    }


def _labels(app: App, rules: dict):
    from sqlmodel import Session

    from storage.repository import labelled_evidence
    from tracker.matching.training import PersonLabel
    from tracker.model import Entry

    with Session(app.engine) as session:
        rows = labelled_evidence(session)
    return [
        PersonLabel(Entry(key=entry.key, title=entry.title, summary=entry.summary, content=entry.content), commitment_id, category, signal)
        for entry, commitment_id, category, signal in rows
        if commitment_id in rules
    ]
