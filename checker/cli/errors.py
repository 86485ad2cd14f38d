"""How the `checker` commands fail: one line on stderr and an exit status that says which kind.

Exit statuses of every command:

* 0: done (and the check passed);
* 1: the command ran and its check says no: a learner at the `--fail-on` risk (scan), a claim not
  reproduced (retrain), an error finding (lint), notes that need attention (notes), a source that
  could not be added or removed (corpus);
* 2: it could not run: bad input or usage, a missing or unreadable file or index, an output that
  cannot be written: `Error: FILE: why` on one line (`CheckerInputError`);
* 3: an internal error (a bug): one line, `checker.cli.main` prints the traceback only when
  `NOSHORTCUT_DEBUG` is set.

The library's own error types already say which file and why; `known_error_message` recognises
them by qualified name (no import: `checker.cli` stays fast to load and free of cycles), and
`CheckerCommand` / `CheckerGroup` turn them into exit 2 wherever a command lets one through.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import click

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
DEBUG_ENV = "NOSHORTCUT_DEBUG"

# Errors the library raises for bad input or an unusable environment; each message names the
# file, index or URL and the reason.
KNOWN_ERRORS = frozenset({
    "checker.corpus.storage.CorpusIndexError",
    "checker.corpus.sources.SourceError",
    "checker.notes.embeddings.EmbeddingModelError",
    "checker.ingest.encoding.UndecodableError",
    "checker.code.fingerprints.ParamsMismatch",
    "checker.notes.config.CorpusMismatchError",
    "checker.report.codec.ReportError",
    "checker.retrain.config.RetrainConfigError",
    "checker.scale.ScaleConfigError",
    "checker.scale.redis.SharedIndexBusy",
    "checker.scale.redis.SharedIndexMissing",
    "checker.task.taskfile.TaskFileError",
    "redis.exceptions.RedisError",
})


def one_line(message: object) -> str:
    """`message` on one line: line breaks (and the blanks around them) become `; `."""
    return re.sub(r"\s*[\r\n]+\s*", "; ", str(message).strip())


class CheckerInputError(click.ClickException):
    """Bad input or an unusable environment: `Error: MESSAGE` on one line of stderr, exit 2."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: object) -> None:
        super().__init__(one_line(message))


class CheckFailed(click.ClickException):
    """The command ran and its check failed (e.g. a corpus source not added): exit 1."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, message: object) -> None:
        super().__init__(one_line(message))


def os_error_message(exc: OSError, doing: str = "", path: object = None) -> str:
    """`PATH: cannot write the report: Permission denied` from an OSError (`doing`: what was
    tried; `path`: the file or folder to name when the error names none)."""
    where = exc.filename if exc.filename is not None else (path if path is not None else "")
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    reason = exc.strerror or str(exc) or type(exc).__name__
    text = f"{doing}: {reason}" if doing else reason
    return f"{where}: {text}" if where != "" else text


def known_error_message(exc: BaseException) -> str | None:
    """The one-line message of a known library error or an OSError; None for anything else."""
    for cls in type(exc).__mro__:
        if f"{cls.__module__}.{cls.__qualname__}" in KNOWN_ERRORS:
            return one_line(str(exc) or cls.__name__)
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        return one_line(os_error_message(exc))
    return None


@contextmanager
def input_errors(doing: str = "", path: object = None):
    """Known library errors and OSErrors raised inside become `CheckerInputError` (exit 2);
    an OSError's message says `doing` ("cannot write the report") and names `path` when the
    error names no file. Anything else passes."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as exc:
        if isinstance(exc, OSError) and (doing or path) and not isinstance(exc, BrokenPipeError):
            raise CheckerInputError(os_error_message(exc, doing, path)) from None
        message = known_error_message(exc)
        if message is None:
            raise
        raise CheckerInputError(message) from None


def _one_line_usage(exc: click.UsageError) -> CheckerInputError:
    """click's usage error (usage line, hint, blank line, error) as one line with the hint."""
    ctx = exc.ctx
    message = exc.format_message()
    if ctx is not None:
        message = f"{message.rstrip('.')} (see `{ctx.command_path} --help`)"
    return CheckerInputError(message)


class _OneLineErrors:
    """Mixed into click's Command and Group: usage errors on one line, known library errors as
    exit 2 (`input_errors`)."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            raise _one_line_usage(exc) from None

    def invoke(self, ctx):
        try:
            with input_errors():
                return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # an unknown sub-command
            raise _one_line_usage(exc) from None


class CheckerCommand(_OneLineErrors, click.Command):
    """A `checker` command: see the module docstring for how it fails."""


class CheckerGroup(_OneLineErrors, click.Group):
    """A `checker` command group; its commands and sub-groups are Checker* too."""

    command_class = CheckerCommand
    group_class = type  # sub-groups: CheckerGroup


__all__ = ["CheckFailed", "CheckerCommand", "CheckerGroup", "CheckerInputError", "DEBUG_ENV",
           "EXIT_BAD_INPUT", "EXIT_CHECK_FAILED", "EXIT_INTERNAL", "EXIT_OK", "input_errors",
           "known_error_message", "one_line", "os_error_message"]
