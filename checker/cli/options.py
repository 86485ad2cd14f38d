"""Options that several commands share, declared once so they read the same everywhere."""

from __future__ import annotations

from pathlib import Path

import click
from click.core import ParameterSource

from checker import defaults


def index_option(help_text: str):
    """`--index DIR`: the corpus index folder. The same for every command: the flag, else
    $NOSHORTCUT_INDEX, else fingerprints/ (defaults.DEFAULT_INDEX_DIR)."""
    return click.option(
        "--index", "index", type=click.Path(file_okay=False, path_type=Path),
        envvar=defaults.CORPUS_INDEX_ENV, default=defaults.DEFAULT_INDEX_DIR, show_default=True,
        show_envvar=True, help=help_text)


def index_was_given(ctx: click.Context) -> bool:
    """True when --index came from the command line or $NOSHORTCUT_INDEX, not the default: a
    folder the user named must hold an index; the default folder is used only when it does."""
    return ctx.get_parameter_source("index") not in (ParameterSource.DEFAULT, None)
