"""`checker scan --task` and `--retrain`: rules and re-runs land in report.json and verdicts."""

from __future__ import annotations

import pytest

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from checker.cli.main import cli

REPO = Path(__file__).resolve().parents[1]


def test_scan_with_a_task_reports_rule_findings_per_learner(tmp_path):
    result = CliRunner().invoke(cli, ["scan", "--example", "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    dave = [f for f in report["findings"] if f["learner"] == "dave"]
    assert {"NS201", "NS202"} <= {f["code"] for f in dave}
    assert report["task"]["max_params"] == 20_000_000
    verdict = {v["learner"]: v for v in report["verdicts"]}["dave"]
    assert verdict["risk"] == "medium" and "NS201" in " ".join(verdict["reasons"])


def test_a_bad_task_file_fails_before_scanning_with_exit_2(tmp_path, round_dir):
    root = round_dir({"ann/a.py": "x = 1\n"})
    task = tmp_path / "task.toml"
    task.write_text("[rules]\nmax_param = 5\n")
    result = CliRunner().invoke(cli, ["scan", str(root), "--task", str(task), "-q"])
    assert result.exit_code == 2
    assert "max_param" in result.output and "max_params" in result.output


@pytest.mark.slow
def test_scan_retrain_reruns_every_learner_and_flags_an_inflated_claim(tmp_path):
    example = REPO / "examples" / "retrain-mlp"
    root = tmp_path / "round"
    shutil.copytree(example / "submission", root / "honest")
    shutil.copytree(example / "submission", root / "inflated")
    (root / "inflated" / "claims.json").write_text('{"accuracy": 0.99}')
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["scan", str(root), "--task", str(example / "task.toml"),
                                      "--retrain", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["retrain"]["honest"]["status"] == "reproduced"
    assert report["retrain"]["inflated"]["status"] == "not_reproduced"
    verdict = {v["learner"]: v for v in report["verdicts"]}["inflated"]
    assert any("retrain not reproduced" in r for r in verdict["reasons"])


def test_rules_that_found_nothing_show_as_run_in_the_report(tmp_path, round_dir):
    from checker.report.html import build_context

    root = round_dir({"ann/net.py": "import torch.nn as nn\nlayer = nn.Conv2d(3, 8, 3)\n"})
    task = tmp_path / "task.toml"
    task.write_text('[rules]\nforbid_imports = ["d2l"]\n')
    result = CliRunner().invoke(cli, ["scan", str(root), "--task", str(task), "-o", str(tmp_path / "o"),
                                      "-q", "--no-notes", "--no-html"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["findings"] == []
    assert build_context(report).overview.findings_state == "ran"
