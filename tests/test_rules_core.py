"""The rules engine as a whole: findings as values, never exceptions, never running learner code."""

from __future__ import annotations

import json
from pathlib import Path

from rules_helpers import code, codes, run

from checker.model import SourceFile
from checker.rules.check import RULES, Finding, check_submission
from checker.rules.reader import notebook_sources, read_submission
from checker.task.taskfile import parse_task


def test_unparsable_file_is_a_finding_not_an_exception():
    findings = run('forbid_imports = ["d2l"]\n', code("py2.py", 'print "hello"\n'), code("ok.py", "import d2l\n"))
    assert [(f.path, f.code) for f in findings] == [("ok.py", "NS101"), ("py2.py", "NS000")]
    assert findings[1].severity == "warning" and "cannot parse" in findings[1].message


def test_notebook_magics_do_not_stop_the_rules():
    text = json.dumps({"cells": [
        {"cell_type": "code", "source": ["%matplotlib inline\n", "!pip install d2l\n", "import d2l\n"]},
    ]})
    [nb] = [s for s in notebook_sources("l1", "nb.ipynb", text) if s.kind == "code"]
    findings = run('forbid_imports = ["d2l"]\n', nb)
    assert [(f.code, f.line, f.cell) for f in findings] == [("NS101", 3, 1)]


def test_a_prose_cell_is_left_out_and_the_other_cells_are_checked():
    text = json.dumps({"cells": [
        {"cell_type": "code", "source": "import numpy as np"},
        {"cell_type": "code", "source": "那么我们现在生成了一个函数，横坐标为0.1。"},
        {"cell_type": "markdown", "source": "# notes"},
        {"cell_type": "code", "source": "for i in range(3):\n    print(i)"},
    ]})
    files = notebook_sources("l1", "a.ipynb", text)
    assert [f.kind for f in files] == ["code", "notes"]
    findings = run("forbid_loops = true\n", *files)
    assert [(f.code, f.cell) for f in findings] == [("NS000", 2), ("NS301", 3)]


def test_finding_prints_like_a_linter_and_serialises():
    finding = Finding("NS301", "error", "explicit for loop", "a/b.py", 3, 5, "learner-07")
    assert str(finding) == "a/b.py:3:5 NS301 explicit for loop"
    assert finding.to_dict()["title"] == "explicit-loop"
    assert finding.to_dict()["learner"] == "learner-07"


def test_severity_can_be_changed_or_switched_off():
    files = [code("a.py", "for i in x:\n    pass\nd = [y for y in x]\n")]
    findings = run('forbid_loops = true\n[rules.severity]\nNS301 = "warning"\nNS302 = "off"\n', *files)
    assert [(f.code, f.severity) for f in findings] == [("NS301", "warning")]


def test_every_rule_code_is_documented():
    for code_, doc in RULES.items():
        assert code_ == doc.code and doc.title and doc.doc and doc.example
        assert doc.severity in ("error", "warning", "info")


def test_learner_code_is_never_executed(tmp_path: Path):
    marker = tmp_path / "executed"
    learner = tmp_path / "learner-01"
    learner.mkdir()
    (learner / "train.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\nimport d2l\n", encoding="utf-8")
    files, warnings = read_submission(learner)
    task = parse_task('[rules]\nforbid_imports = ["d2l"]\nmax_params = 10\nrequire_layers = ["LSTM"]\n', "t.toml")
    findings = check_submission(task, files, root=learner)
    assert not marker.exists()
    assert "NS101" in codes(findings) and warnings == []


def test_learner_is_taken_from_the_files():
    findings = check_submission(parse_task('[rules]\nforbid_calls = ["eval"]\n', "t"),
                                [SourceFile("learner-42", "a.py", "eval('1')\n")])
    assert findings[0].learner == "learner-42"


def test_reader_decodes_gbk_and_skips_binary_and_environment_folders(tmp_path: Path):
    (tmp_path / "a.py").write_bytes("# 中文注释\nx = 1\n".encode("gb18030"))
    (tmp_path / "weights.py").write_bytes(b"\x00\x01binary")
    (tmp_path / "venv").mkdir()
    (tmp_path / "venv" / "lib.py").write_text("import d2l\n", encoding="utf-8")
    files, warnings = read_submission(tmp_path, owner="learner-01")
    assert [(f.path, f.encoding) for f in files] == [("a.py", "gb18030")]
    # as the scan says it: the skipped folder that holds code, the encoding, the binary file
    assert [(w.path, w.kind) for w in warnings] == [
        ("venv", "skipped"), ("a.py", "decoded"), ("weights.py", "skipped")]


def test_a_notebook_with_magics_gives_the_scan_and_the_rules_the_same_code(tmp_path: Path):
    from checker.ingest.round import load_folder
    from checker.pipeline.scan import ScanConfig, scan
    from checker.rules.check import check_ingested
    from checker.rules.reader import sources_from_text

    text = json.dumps({"cells": [
        {"cell_type": "markdown", "source": ["# Lab\n"]},
        {"cell_type": "code", "source": ["%matplotlib inline\n", "!pip install d2l\n"]},
        {"cell_type": "code", "source": ["import numpy as np\n", "np.sum?\n", "import d2l\n"]},
    ]})
    learner = tmp_path / "round" / "ann"
    learner.mkdir(parents=True)
    (learner / "lab.ipynb").write_text(text, encoding="utf-8")
    task_file = tmp_path / "task.toml"
    task_file.write_text('[rules]\nforbid_imports = ["d2l"]\n', encoding="utf-8")
    task = parse_task(task_file.read_text(), str(task_file))

    [scanned] = load_folder(learner, "ann").code
    [in_memory] = [f for f in sources_from_text("ann", "lab.ipynb", text) if f.kind == "code"]
    assert in_memory.text == scanned.text and in_memory.cell_lines == scanned.cell_lines
    assert "# %matplotlib inline" in scanned.text and "# np.sum?" in scanned.text
    linted = [f.to_dict() for f in check_ingested(task, load_folder(learner, "ann"))]
    report = scan(ScanConfig(tmp_path / "round", task_path=task_file, notes=False))
    assert report["findings"] == linted
    assert [(f["code"], f["line"], f["cell"]) for f in linted] == [("NS101", 7, 2)]


def test_positions_one_statement_at_a_time_equal_libcst_positions():
    """The rules' positions (generated per top-level statement, placed by `ast`) are libCST's
    own, for every node a finding can name, asked in any order; where `ast` and the text do not
    agree with the tree, the whole module is generated, as libCST does."""
    import random

    import libcst as cst
    import torch
    from libcst.metadata import MetadataWrapper, PositionProvider

    from checker.code.cst_walk import NodePositions, _top_level_of

    shapes = "\n".join([
        "import os; import sys", "", "", "# a comment", "@decorator", "# between", "@other(1)",
        "def f(x):", "    return x", "", "", "class A:", '    """doc"""', "    y = [i for i in range(3)]",
        "if True:", "    pass", "else:", "    x = 1; y = 2", "last = f(", "    1,", ")"])  # no final break
    texts = [(p.read_text(encoding="utf-8"), None) for p in
             sorted((Path(torch.__file__).parent / "nn" / "modules").glob("[a-c]*.py"))[:4]]
    texts += [(shapes, None), (shapes + "\n", None), (shapes, shapes.replace("import os", "import  os"))]
    rng = random.Random(5)
    for text, told in texts:
        module = cst.parse_module(text)
        expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        top = _top_level_of(module)
        named = [n for n in expected if id(n) in top]
        for order in (named[:60], rng.sample(named, min(300, len(named))), named[::-1]):
            positions = NodePositions(module, told or text)
            assert [positions.start(n) for n in order] == [expected[n].start for n in order]
        positions = NodePositions(module, told or text)
        positions.start(named[0])  # in the first statement, where the told text differs
        assert positions._whole == (told is not None)  # placed alone, unless the text disagrees


def test_the_rules_walk_meets_what_libcst_visit_meets_in_the_same_order():
    """`walk` (the rules' read-only traversal) calls the visitor on the same nodes, in the same
    order, as libCST's own `visit`, on real files: the facts the rules read are the same."""
    import libcst as cst
    import torch

    from checker.code.cst_walk import walk
    from checker.rules.names import GatherFactsVisitor

    def facts(visitor: GatherFactsVisitor) -> tuple:
        f = visitor.facts
        return ([(i.target, i.alias, i.binds, i.dynamic, id(i.node)) for i in f.imports],
                [(r.written, r.function, id(r.node)) for r in f.refs],
                [(c.written, c.function, c.method, id(c.node)) for c in f.calls],
                [(loop.kind, loop.function, id(loop.node)) for loop in f.loops],
                [(d.qualname, d.is_method, d.missing_params, d.missing_return, d.annotated, id(d.node))
                 for d in f.functions],
                [(c.name, c.bases, id(c.node)) for c in f.classes], f.star_modules, f.locals)

    files = sorted((Path(torch.__file__).parent / "nn" / "modules").glob("*.py"))
    files += sorted((Path(__file__).parent.parent / "checker" / "examples").rglob("*.py"))
    assert len(files) > 20
    for path in files:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        by_libcst, by_walk = GatherFactsVisitor("pkg"), GatherFactsVisitor("pkg")
        module.visit(by_libcst)
        walk(module, by_walk)
        assert facts(by_walk) == facts(by_libcst), path
        assert by_walk.facts.refs and by_walk.facts.calls
