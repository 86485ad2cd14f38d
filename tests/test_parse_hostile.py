"""Hostile code cannot crash the checker: nesting that makes libCST's parser overflow the stack
(SIGSEGV, exit 139) is refused before the parse (checker.code.parse_guard) and read lexically, and a
worker that dies anyway costs its one file, not the round."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from checker.code.tokens import lexical_normalise, normalise
from checker.corpus.index import SourceAdded, SourceRequest, add_sources
from checker.corpus.sources import parse_source
from checker.code.fingerprints import WORKER_DIED
from checker.model import SourceFile
from checker.code.parse_guard import MAX_CHAIN, MAX_NESTING, nesting_too_deep
from checker.rules.check import check_submission
from checker.task.taskfile import parse_task

pytestmark = pytest.mark.slow  # the fast lane is `pytest -m "not slow"`

REPO = Path(__file__).resolve().parents[1]

BRACKET_BOMB = "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n"


def _checker(*args: str) -> subprocess.CompletedProcess:
    return _checker_python("", "", "-m", "checker", *args)


def _checker_python(code: str, stdin: str, *args: str) -> subprocess.CompletedProcess:
    """This checkout's checker in a fresh interpreter: `python -c code`, or `python *args`."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *(args or ("-c", code))], input=stdin, check=False,
                          capture_output=True, text=True, timeout=240, env=env, cwd=REPO)


# Each of these crashes libCST 1.9 (SIGSEGV) in a process with the default 8 MiB stack, or takes
# minutes; see checker/code/parse_guard.py for the measurements.
CRASHERS = {
    "nested parentheses": BRACKET_BOMB,
    "nested lists": "x = " + "[" * 3000 + "]" * 3000 + "\n",
    "nested dicts": "x = " + "{1: " * 3000 + "1" + "}" * 3000 + "\n",
    "nested calls": "x = " + "f(" * 3000 + "1" + ")" * 3000 + "\n",
    "nested generator expressions": "x = " + "(a for a in " * 3000 + "b" + ")" * 3000 + "\n",
    "nested f-strings": "x = " + "f'{" * 3000 + "1" + "}'" * 3000 + "\n",
    "a chain of additions": "x = " + "+".join(["1"] * 20000) + "\n",
    "a chain of attributes": "x = a" + ".b" * 10000 + "\n",
    "a chain of subscripts": "x = a" + "[0]" * 10000 + "\n",
    "a chain of calls": "x = a" + "()" * 10000 + "\n",
    "a chain of unary minus": "x = " + "-" * 10000 + "1\n",
    "a chain of and": "x = " + " and ".join(["a"] * 10000) + "\n",
    "nested lambdas": "x = " + "lambda: " * 10000 + "1\n",
    "nested conditional expressions": "x = " + "1 if c else " * 10000 + "1\n",
    "a chain of elif": "if a:\n    pass\n" + "elif a:\n    pass\n" * 10000,
    "a bracket bomb that the tokenizer rejects": "print 'py2'\n" + BRACKET_BOMB,
    "a chain in a bracket never closed": "x = (" + "+".join(["1"] * 20000) + "\n",
    # Python 3.11's C tokenizer stops without an error at the backslash of this 3.12 f-string
    # (which libCST reads): what follows must be scanned all the same
    "nesting after a 3.12 f-string": 'y = f"{"\\n"}"\nx = ' + "[" * 150 + "]" * 150 + "\n",
    "a chain after a 3.12 f-string": 'y = f"{"\\n"}"\n' + "x = a" + ".b" * 10000 + "\n",
}


@pytest.mark.parametrize("shape", list(CRASHERS))
def test_every_shape_that_crashes_libcst_is_refused_before_the_parse(shape):
    assert nesting_too_deep(CRASHERS[shape]) in (
        f"nesting deeper than {MAX_NESTING} levels",
        f"an expression nested more than {MAX_CHAIN} levels deep")


def test_real_code_and_a_long_generated_polynomial_are_not_refused():
    for path in sorted((REPO / "checker").rglob("*.py")):
        assert nesting_too_deep(path.read_text(encoding="utf-8")) is None, path
    # 2,000 operators in one statement, but a*b + c*d is 2 deep, not 3 (sympy ships such tables)
    terms = [f"{i}*s1**2*s2*s3**{i % 4}" for i in range(400)]
    assert nesting_too_deep("p = (" + " + ".join(terms) + ")\n") is None
    assert nesting_too_deep('s = "((((((" + "[" * 500  # ((((((((\n' * 200) is None


def test_code_at_the_limits_parses_without_crashing():
    """What the guard lets through, libCST parses: the largest accepted bracket nesting and
    chain, in a subprocess (a crash would be exit -11 there, not a dead test run)."""
    at_limit = {
        "parentheses": "x = " + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING + "\n",
        "calls": "x = " + "f(" * MAX_NESTING + "1" + ")" * MAX_NESTING + "\n",
        "additions": "x = " + "+".join(["1"] * MAX_CHAIN) + "\n",
        "attributes in brackets": "x = " + "f(" * (MAX_NESTING - 1) + "a" + ".b" * (MAX_CHAIN - 100)
                                  + ")" * (MAX_NESTING - 1) + "\n",
    }
    for text in at_limit.values():
        assert nesting_too_deep(text) is None
    code = "import json, sys, libcst\nfor t in json.load(sys.stdin): libcst.parse_module(t)\n"
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(list(at_limit.values())),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_deeply_nested_brackets_fall_back_to_lexical_tokens_with_a_warning():
    text = "def f(a):\n    return a + 1\n\n" + BRACKET_BOMB
    stream = normalise(text)
    assert (stream.parser, stream.reason) == (
        "lexical", f"nesting deeper than {MAX_NESTING} levels; read lexically")
    assert stream.tokens == lexical_normalise(text, stream.reason).tokens
    assert stream.tokens[:4] == ["def", "ID", "(", "ID"] and stream.tokens.count("(") == 3001


def test_the_rules_report_a_nesting_bomb_as_ns000_and_check_the_other_files():
    task = parse_task("[rules]\nforbid_loops = true\n")
    files = [SourceFile("ann", "bomb.py", BRACKET_BOMB),
             SourceFile("ann", "main.py", "for i in range(3):\n    pass\n")]
    found = {(f.path, f.code): f.message for f in check_submission(task, files, learner="ann")}
    assert found[("bomb.py", "NS000")] == (
        "cannot parse, so no rule could check this file: "
        f"nesting deeper than {MAX_NESTING} levels, too deep to parse safely")
    assert ("main.py", "NS301") in found


WORKER_DEATH = """
import json, sys
import checker.code.parse_guard as parse_guard
from checker.code.fingerprints import FingerprintParams, fingerprint_many
texts = json.loads(sys.stdin.read())
params = FingerprintParams()
guarded = fingerprint_many(texts, params, jobs=2)
parse_guard.nesting_too_deep = lambda text, tokens=None: None  # forked workers inherit this
seen = []
fps = fingerprint_many(texts, params, jobs=2, progress=lambda done, total: seen.append(done))
print(json.dumps({"parsers": [fp.stream.parser for fp in fps],
                  "reasons": [fp.stream.reason for fp in fps],
                  "same": [fp.kgrams.tolist() == g.kgrams.tolist() for fp, g in zip(fps, guarded)],
                  "seen": seen}))
"""


@pytest.mark.skipif(multiprocessing.get_all_start_methods()[0] != "fork",  # the default
                    reason="the workers must inherit the disabled guard")
def test_a_worker_killed_by_libcst_costs_that_one_file_not_the_batch():
    """With the guard off, the bomb really segfaults the worker that parses it
    (BrokenProcessPool): the other files still come back from workers, the bomb is read
    lexically in the parent. In a subprocess: a regression that parsed the bomb in-process
    would kill that, not the test run."""
    texts = [f"def area_{i}(w, h):\n    return w * h + {i}\n" for i in range(45)]
    texts[7] = BRACKET_BOMB
    proc = _checker_python(WORKER_DEATH, json.dumps(texts))
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout)
    assert (got["parsers"][7], got["reasons"][7]) == ("lexical", WORKER_DIED)
    assert got["parsers"][:7] + got["parsers"][8:] == ["libcst"] * 44
    assert all(got["same"])  # the bomb's lexical stream too
    assert got["seen"] == list(range(1, 46))


def _round(root: Path, learners: int) -> Path:
    for i in range(learners):
        folder = root / f"learner{i:02d}"
        folder.mkdir(parents=True)
        (folder / "train.py").write_text(textwrap.dedent(f"""\
            def train_{i}(model, data, epochs):
                for epoch in range(epochs):
                    for x, y in data:
                        loss = model(x) - y + {i}
                return model
            """), encoding="utf-8")
    (root / "learner01" / "bomb.py").write_text(BRACKET_BOMB, encoding="utf-8")
    return root


@pytest.mark.parametrize("learners", [3, 45], ids=["small round, parsed in process",
                                                   "round of 45 files, parsed in workers"])
def test_scan_of_a_round_with_a_nesting_bomb_finishes_with_a_report(tmp_path, learners):
    root = _round(tmp_path / "round", learners)
    task = tmp_path / "task.toml"
    task.write_text("[rules]\nforbid_loops = true\n", encoding="utf-8")
    proc = _checker("scan", str(root), "-o", str(tmp_path / "out"), "-q", "--task", str(task))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    [warning] = [w for w in report["warnings"] if w["path"] == "bomb.py"]
    assert warning["learner"] == "learner01"
    assert f"nesting deeper than {MAX_NESTING} levels; read lexically" in warning["reason"]


def test_lint_on_a_nesting_bomb_exits_cleanly(tmp_path):
    learner = tmp_path / "learner"
    learner.mkdir()
    (learner / "bomb.py").write_text(BRACKET_BOMB, encoding="utf-8")
    (learner / "deep.py").write_text(CRASHERS["a chain of attributes"], encoding="utf-8")
    task = tmp_path / "task.toml"
    task.write_text("[rules]\nforbid_loops = true\n", encoding="utf-8")
    proc = _checker("lint", str(learner), "--task", str(task))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (f"bomb.py:0:0 NS000 cannot parse, so no rule could check this file: nesting deeper "
            f"than {MAX_NESTING} levels") in proc.stdout
    assert f"deep.py:0:0 NS000 cannot parse, so no rule could check this file: an expression " \
           f"nested more than {MAX_CHAIN} levels deep" in proc.stdout


def test_corpus_build_reads_a_nesting_bomb_lexically_and_keeps_the_docstrings_of_the_rest(
        tmp_path, monkeypatch):
    docs: list[str] = []

    class Notes:  # the notes corpus, reduced to what the build hands it (a NotesSink)
        def set_source(self, source, **meta):
            pass

        def add_document(self, source, path, text, meta):
            docs.append(path)

        def remove_source(self, source):
            pass

        def save(self):
            pass

        def close(self):
            pass

    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "bomb.py").write_text(BRACKET_BOMB, encoding="utf-8")
    # CPython's own parser refuses this one (RecursionError), libCST would crash on it
    (lib / "chain.py").write_text(CRASHERS["a chain of additions"], encoding="utf-8")
    doc = " ".join(["This module trains a small convolutional network on the digits."] * 3)
    (lib / "model.py").write_text(f'"""{doc}"""\n\ndef f(x):\n    return x * 2\n', encoding="utf-8")
    [added] = add_sources(tmp_path / "idx", [SourceRequest(parse_source(f"dir:{lib}"))],
                          jobs=1, notes_sink=lambda directory: Notes()).outcomes
    assert isinstance(added, SourceAdded) and added.code_files == 3
    assert f"bomb.py: lexical fallback (nesting deeper than {MAX_NESTING} levels; read lexically)" \
        in added.warnings
    assert docs == ["model.py"]
