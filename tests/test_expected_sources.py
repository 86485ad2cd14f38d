"""`[sources] expected` of a task file: corpus matches to public code the task tells learners to
use or read are marked `expected` in report.json; the same code between two learners stays
evidence."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner
from test_scan_corpus import COPIED, PUBLIC

from checker.cli.main import cli
from checker.corpus.match import expected_entry
from checker.report.writers import PAIRS_CSV_COLUMNS
from checker.task.taskfile import TaskFileError, parse_task

# Another public helper, in a source the task does not name.
OTHER_PUBLIC = '''
import numpy as np


def iou(box_a, box_b):
    """Intersection over union of two boxes given as (x1, y1, x2, y2)."""
    x1 = max(box_a[0], box_b[0])
    y1 = max(box_a[1], box_b[1])
    x2 = min(box_a[2], box_b[2])
    y2 = min(box_a[3], box_b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area_a = (box_a[2] - box_a[0]) * (box_a[3] - box_a[1])
    area_b = (box_b[2] - box_b[0]) * (box_b[3] - box_b[1])
    return inter / (area_a + area_b - inter + 1e-9)


def non_max_suppression(boxes, scores, threshold=0.5):
    """Greedy NMS: keep the best box, drop the ones overlapping it, repeat."""
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size > 0:
        best = order[0]
        keep.append(int(best))
        rest = [i for i in order[1:] if iou(boxes[best], boxes[i]) < threshold]
        order = np.array(rest, dtype=int)
    return keep
'''

OTHER_COPIED = OTHER_PUBLIC.replace("box_a", "first").replace("box_b", "second").replace("inter", "overlap")


@pytest.mark.parametrize("right, expected, hit", [
    ("pypi:yolov5==7.0.14", ["pypi:yolov5"], "pypi:yolov5"),  # version-less: any version
    ("pypi:yolov5==7.0.14", ["pypi:YOLOv5"], "pypi:YOLOv5"),  # PEP 503 names
    ("pypi:vit-pytorch==1.26.11", ["pypi:vit_pytorch"], "pypi:vit_pytorch"),
    ("pypi:yolov5==7.0.14", ["pypi:yolov5==7.0.13"], None),  # pinned: that version only
    ("pypi:yolov5==7.0.13", ["pypi:timm", "pypi:yolov5==7.0.13"], "pypi:yolov5==7.0.13"),
    ("pypi:ultralytics==8.4.190", ["pypi:yolov5"], None),  # another package
    ("git:https://github.com/ultralytics/yolov5@v7.0", ["git:https://github.com/Ultralytics/yolov5.git"],
     "git:https://github.com/Ultralytics/yolov5.git"),
    ("git:https://github.com/ultralytics/yolov5@v7.0", ["git:https://github.com/ultralytics/yolov5@v6.0"], None),
    ("git:https://github.com/ultralytics/yolov5@v7.0", ["pypi:yolov5"], None),  # list both to mean both
    ("not a spec", ["pypi:yolov5"], None),
])
def test_expected_entry_matches_package_repository_and_version(right, expected, hit):
    assert expected_entry(right, expected) == hit


def test_sources_table_is_parsed_and_validated():
    task = parse_task('[rules]\n[sources]\nexpected = ["pypi:yolov5", "git:https://github.com/lucidrains/vit-pytorch"]\n')
    assert task.expected_sources == ("pypi:yolov5", "git:https://github.com/lucidrains/vit-pytorch")
    assert parse_task("[rules]\n").expected_sources == ()
    with pytest.raises(TaskFileError, match=r"\[sources\]\.expectd: unknown key \(did you mean 'expected'\?\)"):
        parse_task('[rules]\n[sources]\nexpectd = ["pypi:yolov5"]\n', "t.toml")
    with pytest.raises(TaskFileError, match=r"\[sources\]\.expected\[1\]: .*not a source"):
        parse_task('[rules]\n[sources]\nexpected = ["pypi:yolov5", "yolov5"]\n', "t.toml")
    with pytest.raises(TaskFileError, match=r"\[sources\]\.expected\[0\]: .*is not a source spec: use pypi:NAME"):
        parse_task('[rules]\n[sources]\nexpected = ["pypi:yolov5>=7"]\n', "t.toml")
    with pytest.raises(TaskFileError, match=r"\[sources\]\.expected: expected a list of strings"):
        parse_task('[rules]\n[sources]\nexpected = 3\n', "t.toml")
    with pytest.raises(TaskFileError, match=r"sources: expected a table \[sources\]"):
        parse_task('sources = ["pypi:yolov5"]\n[rules]\n', "t.toml")


def test_a_match_to_an_expected_source_is_marked_and_others_are_not(tmp_path, round_dir):
    expected_dir, other_dir = tmp_path / "yolo-public", tmp_path / "other-public"
    (expected_dir / "yolo").mkdir(parents=True)
    (expected_dir / "yolo" / "utils.py").write_text(PUBLIC)
    (other_dir / "boxes").mkdir(parents=True)
    (other_dir / "boxes" / "nms.py").write_text(OTHER_PUBLIC)
    index = tmp_path / "index"
    runner = CliRunner()
    added = runner.invoke(cli, ["corpus", "add", f"dir:{expected_dir}", f"dir:{other_dir}",
                                "--index", str(index), "-q", "--no-notes"])
    assert added.exit_code == 0, added.output
    task = tmp_path / "task.toml"
    task.write_text(f'[task]\nname = "yolo"\n[rules]\n[sources]\nexpected = ["dir:{expected_dir}"]\n')
    # ann uses the expected source and the other one; ben took ann's copy of the expected one
    root = round_dir({"ann/utils.py": COPIED, "ann/nms.py": OTHER_COPIED, "ben/helpers.py": COPIED})
    out = tmp_path / "out"
    result = runner.invoke(cli, ["scan", str(root), "--index", str(index), "--task", str(task),
                                 "-o", str(out), "-q", "--no-html", "--no-notes"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    corpus = {(p["left"], p["right"]): p for p in report["pairs"] if p["source"] == "corpus"}
    assert corpus[("ann", f"dir:{expected_dir}")]["expected"] is True
    assert corpus[("ann", f"dir:{expected_dir}")]["right_meta"]["expected_as"] == f"dir:{expected_dir}"
    assert corpus[("ben", f"dir:{expected_dir}")]["expected"] is True
    assert corpus[("ann", f"dir:{other_dir}")]["expected"] is False
    assert report["stats"]["expected_source_pairs"] == 2
    # the same public code copied between two learners is still evidence: never marked
    learner = [p for p in report["pairs"] if p["source"] == "learner"]
    assert any({p["left"], p["right"]} == {"ann", "ben"} for p in learner)
    assert all(p["expected"] is False for p in learner)
    assert all("expected" not in p for p in report["learner_pairs"])
    # pairs.csv keeps its columns
    with (out / "pairs.csv").open() as fh:
        assert next(csv.reader(fh)) == PAIRS_CSV_COLUMNS


def test_without_a_sources_table_corpus_pairs_are_not_expected(tmp_path, round_dir):
    public = tmp_path / "public"
    (public / "d2lmini").mkdir(parents=True)
    (public / "d2lmini" / "torch.py").write_text(PUBLIC)
    index = tmp_path / "index"
    runner = CliRunner()
    assert runner.invoke(cli, ["corpus", "add", f"dir:{public}", "--index", str(index), "-q",
                               "--no-notes"]).exit_code == 0
    task = tmp_path / "task.toml"
    task.write_text("[rules]\n")
    out = tmp_path / "out"
    result = runner.invoke(cli, ["scan", str(round_dir({"ann/utils.py": COPIED})), "--index", str(index),
                                 "--task", str(task), "-o", str(out), "-q", "--no-html", "--no-notes"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    (pair,) = [p for p in report["pairs"] if p["source"] == "corpus"]
    assert pair["expected"] is False and "expected_source_pairs" not in report["stats"]
