"""`tracker export`: the status table (and with --history every change) for reports."""

from __future__ import annotations

import click


@click.command()
@click.pass_obj
def export(app) -> None:
    """Export the status table (skeleton: being written)."""
