"""The `checker scan` command as a user runs it: files written, contract columns, exit codes."""

from __future__ import annotations

import pytest

import csv
import json
import subprocess
import sys

from click.testing import CliRunner

from checker.cli.main import cli

COPIED = "def area(w, h):\n    total = 0\n    for i in range(w):\n        for j in range(h):\n" \
         "            total = total + i * j + w - h\n    return total * 2 + sum([w, h, w * h])\n" \
         "\n\ndef perimeter(w, h):\n    values = [w, h, w, h]\n    return sum(values) + len(values) - 4\n"


def test_scan_writes_report_json_and_pairs_csv_with_the_contract_columns(round_dir, tmp_path):
    root = round_dir({"ann/a.py": COPIED, "ben/b.py": COPIED.replace("total", "acc"),
                      "cat/c.py": "print('hello world')\n"})
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["scan", str(root), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["schema_version"] == 1
    assert report["config"]["fingerprint"]["k"] > 0
    rows = list(csv.DictReader((out / "pairs.csv").open()))
    assert {"left", "right", "left_file", "right_file", "similarity", "left_coverage",
            "right_coverage", "longest_lines"} <= set(rows[0])
    assert (rows[0]["left"], rows[0]["right"]) == ("ann", "ben")
    assert rows[0]["left_file"] == "a.py" and float(rows[0]["similarity"]) > 0.9
    sims = [float(r["similarity"]) for r in rows]
    assert sims == sorted(sims, reverse=True)


def test_scan_of_a_missing_folder_exits_2_naming_it(tmp_path):
    result = CliRunner().invoke(cli, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope" in result.output


def test_fail_on_high_exits_1_when_learners_copied(round_dir):
    from test_render_fixtures import MODEL  # a whole model file: generic loops alone would be common code

    root = round_dir({"ann/a.py": MODEL, "ben/b.py": MODEL})
    assert CliRunner().invoke(cli, ["scan", str(root), "-q"]).exit_code == 0
    assert CliRunner().invoke(cli, ["scan", str(root), "-q", "--fail-on", "high"]).exit_code == 1


@pytest.mark.slow
def test_python_dash_m_checker_runs_the_bundled_example(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "checker", "scan", "--example", "-o",
                           str(tmp_path), "-q"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    top = report["learner_pairs"][0]
    assert {top["left"], top["right"]} == {"alice", "bob"}
    # the handout's data.py, shared by three learners, is not evidence
    assert not [p for p in report["pairs"] if p["left_file"] == "data.py"]
