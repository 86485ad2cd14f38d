"""Every `checker` error is one line on stderr: exit 2 for bad input or usage, 3 for a bug, and
never a traceback (unless NOSHORTCUT_DEBUG is set). Also: `-o` may not write into the round or
the handout folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_round

from checker.cli.main import cli
from checker.cli.errors import CheckerInputError, known_error_message, one_line

ROOT = Path(__file__).resolve().parents[1]
CODE = "def f(a, b):\n    total = 0\n    for i in range(a):\n        total = total + i * b\n    return total\n"
TASK_WITHOUT_RETRAIN = "[rules]\nmax_params = 10\n"


@pytest.fixture
def where(tmp_path) -> dict[str, Path]:
    """A tiny round, a handout, an empty folder (no index), a plain file (not a folder)."""
    round_dir = write_round(tmp_path / "round", {"ann/a.py": CODE, "ben/b.py": CODE})
    handout = write_round(tmp_path / "handout", {"starter.py": "x = 1\n"})
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "task.toml").write_text(TASK_WITHOUT_RETRAIN)
    (tmp_path / "bad-task.toml").write_text("[rules]\nforbid_loop = true\n")
    return {"round": round_dir, "handout": handout, "empty": tmp_path / "empty",
            "file": tmp_path / "a-file", "task": tmp_path / "task.toml",
            "bad_task": tmp_path / "bad-task.toml", "tmp": tmp_path}


# (case id, argv with {placeholders}, a phrase the one line must hold)
CASES = [
    ("scan-index-without-index", ["scan", "{round}", "--index", "{empty}", "-q", "--no-notes"],
     "no corpus index here"),
    ("scan-missing-round", ["scan", "{tmp}/nope"], "nope: not a folder"),
    ("scan-out-is-round", ["scan", "{round}", "-o", "{round}", "-q"], "is the ROUND_DIR folder"),
    ("scan-out-inside-round", ["scan", "{round}", "-o", "{round}/report", "-q"],
     "is inside the ROUND_DIR folder"),
    ("scan-out-inside-base", ["scan", "{round}", "--base", "{handout}", "-o", "{handout}/r", "-q"],
     "is inside the --base folder"),
    ("scan-out-under-a-file", ["scan", "{round}", "-q", "--no-notes", "-o", "{file}/out"],
     "cannot write the report"),
    ("scan-missing-base", ["scan", "{round}", "--base", "{tmp}/gone"], "'--base'"),
    ("scan-unknown-option", ["scan", "{round}", "--fail-of", "high"], "--fail-on"),
    ("unknown-command", ["scna"], "No such command"),
    ("report-missing", ["report", "{empty}"], "report.json: no such file"),
    ("notes-missing-file", ["notes", "{tmp}/nope.md"], "nope.md: no such file"),
    ("notes-index-without-corpus", ["notes-index", "list", "--index", "{empty}"],
     "no notes corpus"),
    ("lint-bad-task", ["lint", "{round}/ann", "--task", "{bad_task}"], "forbid_loop"),
    ("lint-missing-task", ["lint", "{round}/ann", "--task", "{tmp}/none.toml"], "none.toml"),
    ("lint-sarif-unwritable", ["lint", "{round}/ann", "--task", "{task}", "--sarif",
                               "{file}/x.sarif"], "cannot write SARIF"),
    ("rules-unknown-code", ["rules", "NS999"], "unknown rule code"),
    ("retrain-no-retrain-table", ["retrain", "{round}/ann", "--task", "{task}"],
     "no [retrain] table"),
    ("corpus-list-without-index", ["corpus", "list", "--index", "{empty}"], "no corpus index"),
    ("corpus-remove-without-index", ["corpus", "remove", "pypi:x", "--index", "{empty}"],
     "no corpus index"),
    ("corpus-add-bad-spec", ["corpus", "add", "d2l", "--index", "{tmp}/idx"], "not a source"),
    ("corpus-build-no-manifest", ["corpus", "build", "--manifest", "{tmp}/none.toml",
                                  "--index", "{tmp}/idx"], "no such manifest"),
    ("lsh-sync-bad-url", ["lsh-sync", "http://x", "--index", "{empty}"], "redis://"),
]


@pytest.mark.parametrize("argv, phrase", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_cli_error_is_exit_2_and_one_line_without_traceback(where, argv, phrase):
    args = [a.format(**where) for a in argv]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # not an exception that escaped
    stderr = result.stderr.strip()
    assert "\n" not in stderr and stderr.startswith("Error: "), stderr
    assert phrase in stderr, stderr
    assert "Traceback" not in result.output


def test_lsh_sync_without_an_index_is_exit_2_naming_it(where):
    pytest.importorskip("redis")  # without the client the command says so first (also exit 2)
    result = CliRunner().invoke(cli, ["lsh-sync", "redis://127.0.0.1:1/0", "--index",
                                      str(where["empty"])])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "no corpus index" in result.stderr


def test_out_inside_the_round_is_refused_before_anything_is_written(where):
    result = CliRunner().invoke(cli, ["scan", str(where["round"]), "-o",
                                      str(where["round"] / "report"), "-q"])
    assert result.exit_code == 2
    assert not (where["round"] / "report").exists()
    assert sorted(p.name for p in where["round"].iterdir()) == ["ann", "ben"]


def test_out_beside_the_round_is_written(where):
    result = CliRunner().invoke(cli, ["scan", str(where["round"]), "-o", str(where["tmp"] / "rep"),
                                      "-q", "--no-notes", "--no-html"])
    assert result.exit_code == 0, result.output
    assert (where["tmp"] / "rep" / "report.json").is_file()


def test_known_library_errors_become_one_line_messages(tmp_path):
    from checker.corpus.storage import CorpusIndexError
    from checker.report.writers import ReportError
    from checker.task.taskfile import TaskFileError

    assert known_error_message(CorpusIndexError("idx: locked\nby another build")) == \
        "idx: locked; by another build"
    assert known_error_message(ReportError("r.json: no such file")) == "r.json: no such file"
    assert "task.toml" in known_error_message(TaskFileError(tmp_path / "task.toml", "k", "bad"))
    try:
        (tmp_path / "missing" / "x").read_text()
    except OSError as exc:
        assert known_error_message(exc) == f"{tmp_path / 'missing' / 'x'}: No such file or directory"
    assert known_error_message(RuntimeError("a bug")) is None
    assert known_error_message(KeyError("a bug")) is None
    assert CheckerInputError("a\n  b").exit_code == 2 and one_line("a\n  b") == "a; b"


def _checker(args: list[str], code: str | None = None, **env: str) -> subprocess.CompletedProcess:
    """The real console entry point (`checker.cli.main`) in a child process."""
    environ = {k: v for k, v in os.environ.items() if k != "NOSHORTCUT_DEBUG"}
    environ.update(PYTHONPATH=str(ROOT), **env)
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "checker", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=120,
                          cwd=ROOT)


BOOM = """
from checker.cli import main as cli
@cli.cli.command("boom")
def boom():
    raise RuntimeError("kaboom")
cli.main()
"""


def test_main_exits_2_with_one_line_for_an_index_folder_without_index(where):
    done = _checker(["scan", str(where["round"]), "--index", str(where["empty"]), "-q",
                     "--no-notes"])
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: {where['empty']}: no corpus index here")


def test_main_turns_an_unexpected_exception_into_one_line_and_exit_3():
    done = _checker(["boom"], BOOM)
    assert done.returncode == 3
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "internal error: RuntimeError: kaboom" in done.stderr
    assert "NOSHORTCUT_DEBUG=1" in done.stderr


def test_main_prints_the_traceback_with_noshortcut_debug():
    done = _checker(["boom"], BOOM, NOSHORTCUT_DEBUG="1")
    assert done.returncode == 3
    assert "Traceback" in done.stderr and "RuntimeError: kaboom" in done.stderr


def test_every_command_with_an_index_reads_it_the_same_way(tmp_path):
    """--index, else $NOSHORTCUT_INDEX, else fingerprints/: one option, one reading."""
    from click.testing import CliRunner

    from checker.cli.main import cli

    for command in (["scan"], ["notes"], ["corpus", "list"], ["corpus", "add"],
                    ["corpus", "build"], ["corpus", "remove"], ["lsh-sync"],
                    ["notes-index", "add"], ["notes-index", "list"], ["notes-index", "remove"]):
        result = CliRunner().invoke(cli, [*command, "--help"], terminal_width=200)
        assert result.exit_code == 0, command
        assert "NOSHORTCUT_INDEX" in result.output and "fingerprints" in result.output, command


def test_scan_with_noshortcut_index_naming_a_folder_without_an_index_is_one_line_exit_2(tmp_path):
    from click.testing import CliRunner

    from checker.cli.main import cli

    round_dir = tmp_path / "round"
    for learner in ("ann", "ben"):
        (round_dir / learner).mkdir(parents=True)
        (round_dir / learner / "a.py").write_text("print('hello')\n")
    empty = tmp_path / "no-index"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["scan", str(round_dir), "-q"],
                                env={"NOSHORTCUT_INDEX": str(empty)})
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and str(empty) in lines[0], result.output


def test_every_known_error_name_is_a_real_exception_class():
    """The CLI recognises library errors by qualified name; a module move must not orphan one."""
    import importlib

    from checker.cli.errors import KNOWN_ERRORS

    for name in KNOWN_ERRORS:
        module, _, cls = name.rpartition(".")
        if not module.startswith("checker."):
            continue  # third-party (redis): optional
        assert issubclass(getattr(importlib.import_module(module), cls), Exception), name
