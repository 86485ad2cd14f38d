"""`checker rounds list | remove`: the rounds remembered in an index (`scan --round-name`).

Thin commands over `checker.corpus.rounds`. Exit codes: 0 done, 2 bad input (an unknown round
name, an unreadable index), 3 internal error.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from checker.cli.errors import CheckerGroup
from checker.cli.options import index_option

_index_option = index_option("Index folder that holds the remembered rounds.")


@click.group("rounds", cls=CheckerGroup, context_settings={"help_option_names": ["-h", "--help"]})
def rounds() -> None:
    """The rounds remembered in an index: every scan against the index compares with them.

    A round is remembered with `checker scan ROUND --index IDX --round-name NAME`.

    \b
    Examples:
      checker rounds list --index fingerprints/
      checker rounds remove 2024-task1 --index fingerprints/
    """


@rounds.command("list")
@_index_option
@click.option("--json", "as_json", is_flag=True, help="Print the rounds as JSON.")
def list_command(index: Path, as_json: bool) -> None:
    """List the remembered rounds: name, learners, code files, notes files, when stored.

    \b
    Examples:
      checker rounds list
      checker rounds list --index /srv/noshortcut/fingerprints --json
    """
    from checker.corpus.rounds import list_rounds

    found = list_rounds(index)
    if as_json:
        click.echo(json.dumps({"index": str(index), "rounds": [r.to_dict() for r in found]},
                              ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo(f"{index}: no remembered rounds (store one with `checker scan ROUND --index "
                   f"{index} --round-name NAME`)")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from checker.report.safetext import visible_controls

    table = Table(title=Text(visible_controls(f"{index}: {len(found)} remembered round(s)")))
    for col in ("round", "learners", "code files", "notes files", "stored at (UTC)", "round folder"):
        table.add_column(col, justify="right" if col in ("learners", "code files", "notes files") else "left")
    for r in found:
        table.add_row(Text(visible_controls(r.name)), str(r.learners), str(r.files), str(r.notes),
                      r.stored_at, Text(visible_controls(r.round_dir)))
    Console(width=200).print(table)


@rounds.command("remove")
@click.argument("name")
@_index_option
def remove_command(name: str, index: Path) -> None:
    """Forget the remembered round NAME: later scans no longer compare with it.

    \b
    Example:
      checker rounds remove 2024-task1 --index fingerprints/
    """
    from checker.corpus.rounds import remove_round

    record = remove_round(index, name)
    click.echo(f"removed {record.name}: {record.learners} learners, {record.files} code files")


__all__ = ["rounds"]
