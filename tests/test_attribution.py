"""Attribution: a corpus match the learner names (or marks as borrowed) is attributed."""

from __future__ import annotations

import json
from pathlib import Path

from checker.corpus.attribution import (attribute, comment_lines, evidence_from_submission,
                                 gather_evidence, is_reference_marker, source_names)
from checker.ingest.round import load_folder
from checker.model import SourceFile

COPIED = """import torch
from torch import nn


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]
"""

D2L = source_names("pypi:d2l==1.0.3", "https://github.com/d2l-ai/d2l-en",
                   ["d2l.ai", "Dive into Deep Learning", "动手学深度学习"])


def _evidence(code: str, notes: dict[str, str] | None = None, path: str = "train.py"):
    return gather_evidence("learner-01", [SourceFile("learner-01", path, code)],
                           list((notes or {}).items()))


def test_url_below_the_repository_in_a_comment_names_the_source():
    code = "# https://github.com/d2l-ai/d2l-en/blob/master/d2l/torch.py\n" + COPIED
    verdict = attribute(_evidence(code), D2L, "train.py", [(5, 10)])
    assert verdict.attributed and verdict.kind == "named"
    assert "train.py:1" in verdict.reason and "github.com/d2l-ai/d2l-en" in verdict.reason


def test_book_site_with_a_subdomain_in_the_readme_names_the_source():
    notes = {"README.md": "# Week 3\n\nThe accumulator follows https://zh.d2l.ai/chapter_linear-networks/"}
    verdict = attribute(_evidence(COPIED, notes), D2L, "train.py", [(5, 10)])
    assert verdict.attributed and "README.md:3" in verdict.reason


def test_chinese_alias_in_the_notes_names_the_source():
    notes = {"notes.md": "这部分代码参照了《动手学深度学习》的实现。"}
    verdict = attribute(_evidence(COPIED, notes), D2L, "train.py", [(5, 10)])
    assert verdict.attributed and "动手学深度学习" in verdict.reason


def test_package_name_with_underscore_or_dash_names_the_source():
    names = source_names("pypi:vit-pytorch==1.26.11", "https://github.com/lucidrains/vit-pytorch")
    code = "# model taken from vit_pytorch\n" + COPIED
    assert attribute(_evidence(code), names, "train.py", [(5, 10)]).attributed


def test_importing_the_package_is_not_an_attribution():
    code = "from d2l import torch as d2l\n" + COPIED
    verdict = attribute(_evidence(code), D2L, "train.py", [(5, 10)])
    assert not verdict.attributed and verdict.kind == "none" and verdict.reason == ""


def test_naming_another_project_does_not_attribute_this_one():
    notes = {"README.md": "I read https://github.com/karpathy/nanoGPT and the timm docs."}
    assert not attribute(_evidence(COPIED, notes), D2L, "train.py", [(5, 10)]).attributed


def test_reference_marker_just_above_the_copied_code_marks_it_borrowed():
    lines = [f"x{i} = {i}" for i in range(30)]
    code = "\n".join(lines) + "\n# reference from ChatGPT\n" + COPIED
    # COPIED starts on line 32; its class on line 36
    verdict = attribute(_evidence(code), D2L, "train.py", [(36, 41)])
    assert verdict.attributed and verdict.kind == "marked"
    assert "does not name pypi:d2l==1.0.3" in verdict.reason and "train.py:31" in verdict.reason


def test_chinese_reference_marker_inside_the_copied_lines_marks_it_borrowed():
    lines = [f"x{i} = {i}" for i in range(30)]
    code = "\n".join(lines) + "\n" + COPIED.replace("    def add", "    # 参考网上的写法\n    def add")
    assert attribute(_evidence(code), D2L, "train.py", [(35, 42)]).kind == "marked"


def test_marker_far_from_the_copied_code_does_not_attribute_it():
    lines = [f"x{i} = {i}" for i in range(40)]
    code = "\n".join(lines[:20]) + "\n# adapted from a blog post\n" + "\n".join(lines[20:]) + "\n" + COPIED
    verdict = attribute(_evidence(code), D2L, "train.py", [(66, 71)])
    assert not verdict.attributed


def test_generic_repository_name_alone_is_not_a_name():
    names = source_names("git:https://github.com/pytorch/examples", "https://github.com/pytorch/examples")
    assert "examples" not in [w.lower() for w in names.words]
    plain = {"README.md": "I wrote more examples to test the model."}
    assert not attribute(_evidence(COPIED, plain), names, "train.py", [(5, 10)]).attributed
    named = {"README.md": "The loop comes from pytorch/examples (mnist)."}
    assert attribute(_evidence(COPIED, named), names, "train.py", [(5, 10)]).attributed


def test_a_repository_named_like_an_english_word_is_named_only_by_owner_and_repo():
    names = source_names("pypi:torchvision==0.29.1", "https://github.com/pytorch/vision")
    topic = {"README.md": "My first computer vision project."}
    assert not attribute(_evidence(COPIED, topic), names, "train.py", [(5, 10)]).attributed
    cited = {"README.md": "ResNet block from pytorch/vision, torchvision/models/resnet.py"}
    assert attribute(_evidence(COPIED, cited), names, "train.py", [(5, 10)]).attributed


def test_reference_markers_in_english_and_chinese_are_recognised():
    assert is_reference_marker("reference from ChatGPT")
    assert is_reference_marker("Adapted from the official tutorial")
    assert is_reference_marker("来源：CSDN")
    assert not is_reference_marker("compute the loss and step the optimizer")


def test_comments_and_docstrings_are_the_learners_words_but_code_is_not():
    code = 'import d2l\n"""Module doc: see d2l.ai"""\nx = "d2l"  # tweak\ndef f():\n    """Inner doc."""\n'
    mentions = comment_lines(SourceFile("l", "a.py", code))
    assert [(m.line, m.where, m.text) for m in mentions] == [
        (2, "docstring", "Module doc: see d2l.ai"), (3, "comment", "tweak"), (5, "docstring", "Inner doc.")]


def test_evidence_of_a_submission_reads_readme_notes_and_notebook_markdown(tmp_path: Path):
    folder = tmp_path / "learner-02"
    folder.mkdir()
    (folder / "model.py").write_text(COPIED, encoding="utf-8")
    (folder / "README.md").write_text("Borrowed from Dive into Deep Learning.\n", encoding="utf-8")
    (folder / "notes.txt").write_bytes("参考 动手学深度学习\n".encode("gb18030"))
    notebook = {"cells": [{"cell_type": "markdown", "source": ["see https://d2l.ai/"]},
                          {"cell_type": "code", "source": ["x = 1"]}], "nbformat": 4}
    (folder / "train.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    evidence = evidence_from_submission(load_folder(folder, "learner-02"))
    quoted = {(m.path, m.text) for m in evidence.notes}
    assert ("README.md", "Borrowed from Dive into Deep Learning.") in quoted
    assert ("notes.txt", "参考 动手学深度学习") in quoted
    assert ("train.ipynb", "see https://d2l.ai/") in quoted
    assert attribute(evidence, D2L, "model.py", [(5, 10)]).attributed


def test_attribution_in_a_manifest_round_finds_notes_in_the_round_folder(tmp_path: Path, monkeypatch):
    from checker.ingest.round import load_round

    root = tmp_path / "round"
    (root / "work").mkdir(parents=True)
    (root / "work" / "ann_model.py").write_text(COPIED, encoding="utf-8")
    (root / "work" / "ann_README.md").write_text("Borrowed from Dive into Deep Learning.\n",
                                                 encoding="utf-8")
    (root / "manifest.csv").write_text("learner,path\nann,work/ann_model.py\nann,work/ann_README.md\n",
                                       encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the notes are not looked for from here
    [sub], _ = load_round(root, tmp_path / "work")
    evidence = evidence_from_submission(sub)
    assert [(m.path, m.line) for m in evidence.notes] == [("work/ann_README.md", 1)]
    assert attribute(evidence, D2L, "work/ann_model.py", [(5, 10)]).attributed
