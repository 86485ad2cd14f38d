"""Notebook outputs as evidence: the same stochastic training log, figures or plots in two
learners' notebooks pair them (source `outputs`); honest notebooks of one task do not pair;
execution-count anomalies are information, never risk; bad outputs never stop a round."""

from __future__ import annotations

import base64
import csv
import io
import json
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker import defaults
from checker.cli.main import cli
from checker.code.outputs import evidence_items, figures, match_outputs
from checker.ingest.notebook import read_notebook
from checker.pipeline.scan import ScanConfig, scan_report
from checker.report.writers import load_report

REPO = Path(__file__).resolve().parents[1]

# --- hand-made notebooks -----------------------------------------------------------------------


def notebook(*cells: tuple[str, int | None, list[dict]]) -> str:
    """A notebook's JSON from (source, execution count, outputs) per code cell."""
    return json.dumps({
        "cells": [{"cell_type": "code", "execution_count": count, "metadata": {},
                   "source": source, "outputs": outputs} for source, count, outputs in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def result(text: str, count: int = 1) -> dict:
    return {"output_type": "execute_result", "execution_count": count, "metadata": {},
            "data": {"text/plain": text}}


def image(data: bytes) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(data).decode(), "text/plain": "<Figure size 640x480 with 1 Axes>"}}


def training_log(seed: int, epochs: int = 12) -> str:
    """A Keras-style log whose figures depend on `seed`, as two independent runs' would."""
    rng = random.Random(seed)
    loss, acc = 0.9 + rng.random() / 10, 0.6 + rng.random() / 10
    lines = []
    for epoch in range(1, epochs + 1):
        loss *= 0.8 + rng.random() / 10
        acc += (1 - acc) * rng.random() / 3
        lines.append(f"Epoch {epoch}/{epochs} - loss: {loss:.5f} - acc: {acc:.4f} - "
                     f"val_loss: {loss * 1.07:.5f} - val_acc: {acc - 0.011:.4f}")
    return "\n".join(lines) + "\n"


# What every learner of an MNIST task prints: never evidence.
SHARED_NOISE = [
    stream("Downloading http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz to "
           "./data/MNIST/raw/train-images-idx3-ubyte.gz\n100.0%\n"),
    stream("/usr/lib/python3/site-packages/torchvision/io/image.py:13: UserWarning: Failed to "
           "load image Python extension: 0.15234\n  warn(\n", "stderr"),
    result("torch.Size([64, 1, 28, 28])"),
    result("(60000, 28, 28)"),
    stream(" 45%|████▌     | 423/938 [00:04<00:05, 98.1234it/s]\r100%|██████████| 938/938 "
           "[00:09<00:00, 97.5432it/s]\n", "stderr"),
    stream("initial loss 2.3026\nmean 0.1307 std 0.3081\nNone\n0.5\n98%\n"),
]


def mnist_notebook(style: int, log: str, *, counts=(1, 2, 3, 4)) -> str:
    """A learner's notebook: data, model, training. `style` changes the code (names, layout)."""
    if style == 0:
        code = ["import torch\nfrom torchvision import datasets",
                "train = datasets.MNIST('data', download=True)\nprint(train.data.shape)",
                "model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))",
                "for epoch in range(12):\n    loss = step(model)\n    print(f'Epoch {epoch}')"]
    else:
        code = ["import torch as T\nimport torchvision as tv",
                "ds = tv.datasets.MNIST(root='./data', download=True)\nds.data.shape",
                "class Net(T.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                "        self.fc = T.nn.Linear(28 * 28, 10)",
                "def fit(net, n):\n    for e in range(n):\n        report(e, run_epoch(net))\nfit(Net(), 12)"]
    outputs = [[SHARED_NOISE[0], SHARED_NOISE[1]], [SHARED_NOISE[2], SHARED_NOISE[3]],
               [SHARED_NOISE[5]], [SHARED_NOISE[4], stream(log)]]
    return notebook(*zip(code, counts, outputs))


def scan(root: Path, **kwargs):
    return scan_report(ScanConfig(root, notes=False, **kwargs))


def outputs_pairs(report) -> list:
    return [p for p in report.pairs if p.source == "outputs"]


def verdict(report, learner: str):
    return next(v for v in report.verdicts if v.learner == learner)


# --- must show ---------------------------------------------------------------------------------


def test_two_notebooks_with_different_code_and_the_same_training_log_are_paired_as_outputs(tmp_path, round_dir):
    log = training_log(seed=7)
    root = round_dir({"ann/train.ipynb": mnist_notebook(0, log),
                      "ben/work/mnist.ipynb": mnist_notebook(1, log, counts=(1, 2, 3, 5))})
    out = tmp_path / "out"
    run = CliRunner().invoke(cli, ["scan", str(root), "--no-notes", "-o", str(out), "-q"])
    assert run.exit_code == 0, run.output

    rows = list(csv.DictReader(io.StringIO((out / "pairs.csv").read_text())))
    row = next(r for r in rows if r["source"] == "outputs")
    assert (row["left"], row["left_file"], row["right"], row["right_file"]) == (
        "ann", "train.ipynb", "ben", "work/mnist.ipynb")
    # cell 4, output lines 2-13 on both sides (line 1 is the progress bar)
    assert row["fragments"] == "c4.2-c4.13:c4.2-c4.13"

    report = json.loads((out / "report.json").read_text())
    assert load_report(out).to_dict() == report  # typed: read back as written
    pair = next(p for p in report["pairs"] if p["source"] == "outputs")
    [run_] = pair["outputs"]
    assert (run_["left_cell"], run_["left_line"], run_["left_end_line"]) == (4, 2, 13)
    # four figures a line, less those that end in zeros (`0.7260` has three significant digits)
    assert run_["lines"] == 12 and 40 <= run_["numbers"] <= 48 and run_["min_digits"] == 4
    assert run_["text"] == log.strip() and run_["right_text"] == ""
    ben = {v["learner"]: v for v in report["verdicts"]}["ben"]
    assert ben["risk"] == "high"
    assert ("ben's notebook work/mnist.ipynb prints the same training log as ann's train.ipynb: "
            f"12 line(s), {run_['numbers']} numbers to 4-5 digits") in ben["reasons"][0]
    assert "cell 4 ↔ cell 4" in ben["reasons"][0]

    # the pair page shows the shared run with its cells and text on both sides
    page = next((out / "pairs").glob("*.html")).read_text()
    assert "cell 4, output lines 2–13" in page and "val_loss: " in page
    # and the overview's cluster graph joins the two learners by an outputs edge
    overview = (out / "index.html").read_text()
    assert overview.count('class="edge edge-outputs"') == 1
    assert "ann ↔ ben: outputs similarity" in overview


def test_two_honest_notebooks_of_the_same_task_are_not_paired_by_their_outputs(round_dir):
    # same code shape, same print format, the same shapes, warnings, download messages and
    # constants; only the figures of their runs differ
    root = round_dir({"ann/train.ipynb": mnist_notebook(0, training_log(seed=1)),
                      "ben/train.ipynb": mnist_notebook(0, training_log(seed=2))})
    report = scan(root)
    assert outputs_pairs(report) == []
    for learner in ("ann", "ben"):
        assert not [e for e in verdict(report, learner).evidence if e.kind == "outputs"]
    assert report.outputs is not None and report.outputs.stats["pairs"] == 0


# --- what counts -------------------------------------------------------------------------------


def test_trivial_outputs_never_count():
    for line in ["torch.Size([64, 1, 28, 28])", "(60000, 28, 28)", "None", "0.5", "98%", "100.0%",
                 "Epoch 3/10", "accuracy 0.9", "initial loss 2.3026",  # ln(10): every untrained net
                 "tensor(0.6931, grad_fn=<NllLossBackward0>)",  # ln(2)
                 "Normalize(mean=(0.1307,), std=(0.3081,))",
                 "/opt/conda/lib/python3.10/site-packages/torch/nn/modules/conv.py:456: "
                 "UserWarning: Applied workaround for CuDNN issue 0.12345",
                 "FutureWarning: The default value of 0.56789 will change",
                 " 45%|████▌     | 423/938 [00:04<00:05, 98.1234it/s]",
                 "saved to ./runs/exp_0.98765/model.pt", "torch 2.1.0, cuda 12.1.105"]:
        assert figures(line) == (), line
    assert figures("Epoch 1/10 - loss: 0.69314 - acc: 98.76%") == ("0.69314", "98.76")


def test_notebooks_sharing_only_trivial_outputs_are_not_paired(round_dir):
    noise = [o for o in SHARED_NOISE]
    root = round_dir({"ann/a.ipynb": notebook(("x = 1", 1, noise)),
                      "ben/b.ipynb": notebook(("y = 2", 1, noise))})
    assert outputs_pairs(scan(root)) == []


def test_a_figure_line_every_learner_prints_is_not_evidence(round_dir):
    # a dataset statistic printed alike by four learners: deterministic, not a copy
    stat = stream("pixel mean 33.31842 std 78.56749\n")
    root = round_dir({f"l{n}/a.ipynb": notebook((f"v{n} = {n}", 1, [stat]),
                                                (f"w{n} = {n}", 2, [stream(training_log(n))]))
                      for n in range(defaults.OUTPUTS_COMMON_LEARNERS)})
    report = scan(root)
    assert outputs_pairs(report) == []
    assert report.outputs.stats["common_items"] == 1


def test_figures_the_handout_notebook_prints_are_not_evidence(tmp_path, round_dir):
    log = training_log(seed=3)
    root = round_dir({"ann/a.ipynb": notebook(("a = 1", 1, [stream(log)])),
                      "ben/b.ipynb": notebook(("b = 2", 1, [stream(log)]))})
    handout = tmp_path / "handout"
    handout.mkdir()
    (handout / "starter.ipynb").write_text(notebook(("demo()", 1, [stream(log)])))
    assert outputs_pairs(scan(root)) != []
    assert outputs_pairs(scan(root, base_dir=handout)) == []


def test_a_reworded_print_of_the_same_run_still_matches():
    a = read_notebook(notebook(("fit()", 1, [stream(training_log(5))])))[0]
    reworded = training_log(5).replace(" - loss: ", " | train loss ").replace("Epoch", "ep")
    b = read_notebook(notebook(("train()", 3, [stream(reworded)])))[0]
    pairs, _ = match_outputs([_evidence("ann", a), _evidence("ben", b)])
    [pair] = pairs
    assert pair.runs[0].lines == 12 and pair.runs[0].right_text.startswith("ep 1/12 | train loss")


def _evidence(owner, nb):
    from checker.code.outputs import NotebookEvidence

    return NotebookEvidence(owner, f"{owner}.ipynb", evidence_items(nb.outputs))


def test_the_same_image_output_pairs_two_notebooks_by_its_hash_and_is_shown_not_raised(round_dir):
    plot = b"\x89PNG\r\n\x1a\n" + random.Random(4).randbytes(5000)
    other = b"\x89PNG\r\n\x1a\n" + random.Random(5).randbytes(5000)
    blank = b"\x89PNG\r\n\x1a\n" + bytes(100)  # a near-empty figure: too small to tell anything
    root = round_dir({"ann/a.ipynb": notebook(("plot(a)", 1, [image(blank)]), ("show(a)", 2, [image(plot)])),
                      "ben/b.ipynb": notebook(("draw(b)", 7, [image(plot)]), ("x", 8, [image(blank)])),
                      "cat/c.ipynb": notebook(("plot(c)", 1, [image(other)]))})
    report = scan(root)
    [pair] = outputs_pairs(report)
    assert (pair.left, pair.right) == ("ann", "ben")
    [run_] = pair.outputs
    assert run_.images == 1 and (run_.left_cell, run_.right_cell) == (2, 1)
    assert "sha256" in run_.text
    ann = verdict(report, "ann")
    item = next(e for e in ann.evidence if e.kind == "outputs")
    assert item.level == "low" and ann.risk == "low"  # shown, not raised to medium
    assert "1 identical image output(s), cell 2 ↔ cell 1" in item.text
    from checker.report.html.view import build_context

    graph = build_context(report).overview.graph  # listed, never drawn as a link between them
    assert [e.kind for e in graph.edges if e.kind == "outputs"] == []


def test_a_few_shared_figures_are_medium_and_a_single_one_is_nothing(round_dir):
    epoch = "Epoch 9 - loss: 0.21874 - acc: 0.9312 - val_loss: 0.24518 - val_acc: 0.9257\n"
    one = "test accuracy 0.9871\n"
    root = round_dir({"ann/a.ipynb": notebook(("a()", 1, [stream(epoch)]), ("t()", 2, [stream(one)])),
                      "ben/b.ipynb": notebook(("b()", 1, [stream(epoch)])),
                      "cat/c.ipynb": notebook(("c()", 1, [stream(one)]))})
    report = scan(root)
    [pair] = outputs_pairs(report)
    assert (pair.left, pair.right) == ("ann", "ben")
    assert verdict(report, "ben").risk == "medium" and verdict(report, "cat").risk == "none"


# --- execution counts --------------------------------------------------------------------------


def test_execution_count_anomalies_are_reported_on_the_learner_page_without_raising_risk(tmp_path, round_dir):
    cells = [("a = 1", 1, []), ("b = 2", 2, []), ("c = 3", 40, [stream("pasted\n")]),
             ("d = 4", 41, []), ("e = 5", 3, []), ("f = 6", 3, []), ("g = 7", None, [stream("old output\n")])]
    root = round_dir({"ann/a.ipynb": notebook(*cells), "ben/b.py": "print('hello')\n"})
    out = tmp_path / "out"
    run = CliRunner().invoke(cli, ["scan", str(root), "--no-notes", "-o", str(out), "-q"])
    assert run.exit_code == 0, run.output
    report = json.loads((out / "report.json").read_text())
    [nb] = report["outputs"]["notebooks"]
    kinds = {a["kind"]: a for a in nb["anomalies"]}
    assert set(kinds) == {"duplicated", "out_of_order", "gap", "no_count"}
    assert kinds["duplicated"]["cells"] == [5, 6]
    assert kinds["gap"]["cells"] == [3, 4]
    assert kinds["no_count"]["cells"] == [7]
    ann = {v["learner"]: v for v in report["verdicts"]}["ann"]
    assert ann["risk"] == "none"
    page = "\n".join(p.read_text() for p in (out / "learners").glob("*.html"))
    assert "Execution counts (information, not risk on their own)" in page
    assert "cells 3, 4 ran 38 counts apart from the cells around them" in page


# --- bad input ---------------------------------------------------------------------------------


def test_broken_or_huge_outputs_never_stop_the_round(monkeypatch, round_dir):
    log = training_log(seed=11)
    broken = json.dumps({"cells": [
        {"cell_type": "code", "execution_count": "seven", "source": "a = 1", "outputs": "not a list"},
        {"cell_type": "code", "execution_count": 2, "source": "b = 2",
         "outputs": ["a string", {"output_type": "display_data", "data": {"image/png": "@@not base64@@"}},
                     {"output_type": "stream", "text": 12345}, {"output_type": "error", "ename": "ValueError",
                                                                "evalue": "bad", "traceback": ["\x1b[31mx"]}]},
        {"cell_type": "code", "execution_count": 3, "source": "fit()", "outputs": [stream(log)]},
    ], "nbformat": 4})
    monkeypatch.setattr(defaults, "NOTEBOOK_OUTPUT_MAX_CHARS", len(log) + 100)
    huge = notebook(("dump()", 1, [stream("0.123456 " * 100_000)]), ("fit()", 2, [stream(log)]))
    root = round_dir({"ann/broken.ipynb": broken, "ben/huge.ipynb": huge,
                      "cat/bad.ipynb": '{"cells": [', "dan/a.py": "x = 1\n"})
    report = scan(root)
    notebooks = {nb.learner: nb for nb in report.outputs.notebooks}
    assert notebooks["ben"].unread == 1 and notebooks["ben"].outputs == 2  # counted, not read
    assert "cat" not in notebooks and any(w.learner == "cat" for w in report.warnings)
    # what could be read still is: both logs are the same run
    [pair] = outputs_pairs(report)
    assert (pair.left, pair.right) == ("ann", "ben") and pair.outputs[0].lines == 12


# --- retrain -----------------------------------------------------------------------------------


def test_a_printed_metric_the_re_run_contradicts_is_a_retrain_item_naming_the_cell():
    from checker.pipeline.outputs import printed_metric
    from checker.report.model import NotebookOutputsEntry, OutputsSection, RetrainRun
    from checker.report.verdicts import learner_verdicts
    from checker.retrain.config import RetrainConfig

    log = "epoch 1 train acc 0.81, test acc 0.80\nepoch 2 train acc 0.95, test acc 0.987\n"
    nb = read_notebook(notebook(("import torch", 1, []), ("fit()", 2, [stream(log)])))[0]
    config = RetrainConfig(metric="accuracy", unit="fraction", tolerance=0.03)
    run = RetrainRun("reproduced", "", "ann", "accuracy", reached=0.912, tolerance=0.03)
    found = printed_metric(nb.outputs, run, config)
    assert (found.cell, found.line, found.value, found.contradicted) == (2, 2, 0.987, True)
    honest = printed_metric(nb.outputs, RetrainRun("reproduced", "", "ann", "accuracy", reached=0.975,
                                                   tolerance=0.03), config)
    assert not honest.contradicted

    entry = NotebookOutputsEntry("ann", "train.ipynb", 2, 2, 1, 0, 0, 2, [], found)
    [v] = learner_verdicts(["ann"], [], [], outputs=OutputsSection([entry], {}))
    assert v.risk == "medium"
    assert v.reasons[0].startswith("retrain: train.ipynb cell 2 prints “epoch 2 train acc 0.95, test acc 0.987”")
    assert "0.912" in v.reasons[0]


@pytest.mark.slow
def test_scan_retrain_flags_a_notebook_whose_printed_accuracy_the_re_run_does_not_reach(tmp_path):
    example = REPO / "examples" / "retrain-mlp"
    root = tmp_path / "round"
    for learner, loss, printed in (("honest", "0.23417", "0.9167"), ("inflated", "0.19862", "0.9912")):
        shutil.copytree(example / "submission", root / learner)
        (root / learner / "claims.json").unlink(missing_ok=True)
        (root / learner / "explore.ipynb").write_text(notebook(
            ("!python train.py", 1, [stream(f"epoch 200 loss {loss}\ntest accuracy: {printed}\n")])))
    out = tmp_path / "out"
    run = CliRunner().invoke(cli, ["scan", str(root), "--task", str(example / "task.toml"),
                                   "--retrain", "--no-notes", "-o", str(out), "-q"])
    assert run.exit_code == 0, run.output
    report = json.loads((out / "report.json").read_text())
    printed = {nb["learner"]: nb["printed_metric"] for nb in report["outputs"]["notebooks"]}
    assert printed["inflated"]["contradicted"] and not printed["honest"]["contradicted"]
    assert printed["inflated"]["cell"] == 1 and printed["inflated"]["value"] == 0.9912
    reasons = {v["learner"]: v["reasons"] for v in report["verdicts"]}
    assert any("explore.ipynb cell 1 prints “test accuracy: 0.9912”" in r for r in reasons["inflated"])
    assert not any("prints" in r for r in reasons["honest"])
