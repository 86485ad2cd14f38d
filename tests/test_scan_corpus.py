"""`checker scan --index`: learners' code against the corpus, as a mentor runs it."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from checker.cli.main import cli

# A public helper (standing in for d2l's) and a learner who copied it with renamed variables.
PUBLIC = '''
import torch
from torch import nn


class Accumulator:
    """For accumulating sums over n variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_accuracy(net, data_iter):
    """Compute the accuracy for a model on a dataset."""
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def accuracy(y_hat, y):
    """Compute the number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())
'''

COPIED = (PUBLIC.replace("Accumulator", "Counter").replace("metric", "stats")
          .replace("data_iter", "loader").replace("y_hat", "pred").replace("cmp", "same"))

INDEPENDENT = '''
import torch


def test_accuracy(model, batches):
    model.eval()
    right, seen = 0, 0
    with torch.no_grad():
        for inputs, targets in batches:
            right += (model(inputs).argmax(1) == targets).sum().item()
            seen += targets.shape[0]
    return right / max(seen, 1)
'''


def test_scan_reports_a_renamed_copy_of_public_code_with_its_source_and_lines(tmp_path, round_dir):
    public = tmp_path / "public"
    (public / "d2lmini").mkdir(parents=True)
    (public / "d2lmini" / "torch.py").write_text(PUBLIC)
    index = tmp_path / "index"
    runner = CliRunner()
    added = runner.invoke(cli, ["corpus", "add", f"dir:{public}", "--index", str(index)])
    assert added.exit_code == 0, added.output
    root = round_dir({"ann/utils.py": COPIED, "ben/eval.py": INDEPENDENT})
    out = tmp_path / "out"
    result = runner.invoke(cli, ["scan", str(root), "--index", str(index), "-o", str(out), "-q",
                                 "--no-html"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((out / "pairs.csv").open()))
    corpus_rows = [r for r in rows if r["source"] == "corpus"]
    assert [r["left"] for r in corpus_rows] == ["ann"]
    row = corpus_rows[0]
    assert row["right"] == f"dir:{public}" and row["right_file"] == "d2lmini/torch.py"
    assert float(row["left_coverage"]) > 0.8
    report = json.loads((out / "report.json").read_text())
    (pair,) = [p for p in report["pairs"] if p["source"] == "corpus"]
    first = min(f["right_start_line"] for f in pair["fragments"])
    class_line = PUBLIC[:PUBLIC.index("class Accumulator")].count("\n") + 1
    assert abs(first - class_line) <= 2  # the fragment starts at the copied class
    verdict = {v["learner"]: v for v in report["verdicts"]}
    assert verdict["ann"]["risk"] == "high"
    assert "without attribution" in " ".join(verdict["ann"]["reasons"])
    assert verdict["ben"]["risk"] in ("none", "low")
