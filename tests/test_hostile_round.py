"""One round holding every hostile hand-in met so far, scanned as a mentor runs it.

Each row of the hostile-input table is here at once: a nesting bomb, learner folders that are
links (to /etc, outside the round), linked files, dot-prefixed learner folders, a zip bomb, a
notebook of plots that hides a copy, learner ids that are spreadsheet formulas, a file name with
a bidi override, the same learner as a folder and a zip, a training run that fills the disk. The
round must come out with exit 0 or 1, a report, the honest copy pair found, nothing from outside
the round anywhere in the output, every file that was not compared explained, and the disk use
bounded. The CLI's own refusals (`-o` inside the round, an `--index` that holds no index, a
manifest of folders) are checked beside it.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the fast lane is `pytest -m "not slow"`

REPO = Path(__file__).resolve().parents[1]
SECRET = "TOP-SECRET-OUTSIDE-THE-ROUND-7f3a"
RLO = "\u202e"
FORMULA = '=HYPERLINK("x")'

COPIED = '''
import torch
import torch.nn as nn


class PatchEmbedding(nn.Module):
    """Cut an image into patches and project each one."""

    def __init__(self, image_size=32, patch=4, channels=3, dim=128):
        super().__init__()
        self.patch = patch
        self.count = (image_size // patch) ** 2
        self.project = nn.Linear(patch * patch * channels, dim)
        self.position = nn.Parameter(torch.zeros(1, self.count + 1, dim))
        self.token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, images):
        b, c, h, w = images.shape
        p = self.patch
        x = images.unfold(2, p, p).unfold(3, p, p)
        x = x.contiguous().view(b, c, -1, p * p).permute(0, 2, 1, 3).reshape(b, -1, c * p * p)
        x = self.project(x)
        token = self.token.expand(b, -1, -1)
        x = torch.cat([token, x], dim=1)
        return x + self.position[:, : x.shape[1]]


def warmup_cosine(step, total, warmup, base_lr):
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * base_lr * (1 + torch.cos(torch.tensor(progress * 3.14159)).item())
'''

OWN = '''
def histogram(values, bins):
    lo, hi = min(values), max(values)
    width = (hi - lo) / bins or 1
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return counts
'''

FILL_DISK = '''
import os
os.makedirs("out", exist_ok=True)
for i in range(40):
    with open(f"out/chunk{i}.bin", "wb") as fh:
        fh.write(os.urandom(5 * 1024 * 1024))
print("accuracy: 0.99")
'''


def _notebook_with_plots(code: str) -> str:
    """A notebook of ~2.4 MB: three embedded PNG plots around a code cell holding `code`."""
    png = base64.b64encode(os.urandom(600_000)).decode()
    plot = {"output_type": "display_data", "data": {"image/png": png}, "metadata": {}}
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Experiments\n"]},
             {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": code,
              "outputs": [plot, plot]},
             {"cell_type": "code", "metadata": {}, "execution_count": 2,
              "source": "print('done')\n", "outputs": [plot]}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _zip_bomb(path: Path, entries: int = 30, size: int = 19_900_000) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mallory/honest.py", OWN)
        for i in range(entries):
            zf.writestr(f"mallory/data{i}.txt", b"\0" * size)


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def _checker(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NOSHORTCUT_INDEX", None)
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def hostile_round(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-round")
    outside = tmp / "outside"
    _write(outside / "stolen.py", f"KEY = '{SECRET}'\n" + OWN)
    _write(outside / "notes.md", f"{SECRET}\n\nThe answer to everything.\n")
    root = tmp / "round"
    _write(root / "alice" / "vit.py", COPIED)  # the honest copy pair: alice and bob
    _write(root / "bob" / "experiments.ipynb", _notebook_with_plots(COPIED))
    _write(root / "carol" / "deep.py", "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n" + OWN)
    _write(root / "carol" / "ok.py", OWN)
    (root / "dan").mkdir(parents=True)
    (root / "dan" / "leak.py").symlink_to(outside / "stolen.py")
    _write(root / "dan" / "own.py", OWN.replace("counts", "tally"))
    (root / "etc-link").symlink_to("/etc")
    (root / "outside-link").symlink_to(outside)
    _write(root / ".hidden" / "train.py", OWN)
    _write(root / FORMULA / f"evil{RLO}gnp.py", OWN.replace("values", "xs"))
    _write(root / "@SUM(1+1)" / "a.py", OWN.replace("bins", "n"))
    _write(root / "-rf" / "a.py", OWN.replace("lo", "low"))
    _write(root / "dave" / "first.py", OWN.replace("hi", "high"))
    with zipfile.ZipFile(root / "dave.zip", "w") as zf:
        zf.writestr("second.py", OWN.replace("width", "w"))
    _zip_bomb(root / "mallory.zip")
    _write(root / "erin" / "train.py", FILL_DISK)
    task = tmp / "task.toml"
    task.write_text('[task]\nname = "hostile"\n\n[rules]\n\n[retrain]\ncommand = "python train.py"\n'
                    'metric = "accuracy"\ntarget = 0.9\ntimeout_s = 60\ndisk_mb = 20\n',
                    encoding="utf-8")
    out = tmp / "report"
    done = _checker("scan", str(root), "--task", str(task), "--retrain", "-o", str(out), "-q",
                    cwd=tmp)
    return tmp, root, out, done


def test_the_hostile_round_finishes_with_a_report(hostile_round):
    _, _, out, done = hostile_round
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for name in ("report.json", "pairs.csv", "index.html"):
        assert (out / name).is_file(), name


def test_the_honest_copy_inside_a_notebook_of_plots_is_found(hostile_round):
    _, _, out, _ = hostile_round
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    pairs = {(p["left"], p["right"]) for p in report["pairs"] if p["source"] == "learner"}
    assert ("alice", "bob") in pairs
    verdicts = {v["learner"]: v for v in report["verdicts"]}
    assert verdicts["alice"]["risk"] == "high" and "bob" in verdicts["alice"]["reasons"][0]


def test_nothing_from_outside_the_round_reaches_any_output(hostile_round):
    _, _, out, done = hostile_round
    assert SECRET not in done.stdout and SECRET not in done.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    learners = {lr["id"] for lr in report["learners"]}
    assert not {"etc-link", "outside-link"} & learners


def test_every_file_not_compared_is_explained(hostile_round):
    _, _, out, _ = hostile_round
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    reasons: dict[str, str] = {}
    for w in report["warnings"]:
        reasons[w["path"]] = reasons.get(w["path"], "") + " " + w["reason"]
    expected = {"deep.py": "nesting", "leak.py": "link", "etc-link": "link",
                "outside-link": "link", ".hidden": "not compared", "dave.zip": "merged",
                "mallory/": "zip bomb"}
    for name, word in expected.items():
        found = [r for p, r in reasons.items() if p == name or p.endswith("/" + name)
                 or name in p]
        assert found, f"no warning for {name}: {sorted(reasons)}"
        assert word in " ".join(found), (name, found)
    assert "every code and notes file was read" not in (out / "index.html").read_text("utf-8")


def test_the_zip_bomb_and_the_disk_filler_are_stopped_at_their_budgets(hostile_round):
    _, _, out, _ = hostile_round
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    mallory = [w for w in report["warnings"] if "mallory" in w["path"] or w["learner"] == "mallory"]
    assert mallory, "the zip bomb left no warning"
    erin = report["retrain"]["erin"]
    assert erin["status"] == "failed" and "disk" in erin["reason"]


def test_the_same_learner_as_folder_and_zip_is_one_learner(hostile_round):
    _, _, out, _ = hostile_round
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    dave = [lr for lr in report["learners"] if lr["id"] == "dave"]
    assert len(dave) == 1
    assert {"first.py", "second.py"} <= {Path(f).name for f in dave[0]["code_files"]}


def test_formula_ids_are_neutralised_and_the_bidi_name_is_isolated(hostile_round):
    _, _, out, _ = hostile_round
    rows = list(csv.DictReader(io.StringIO((out / "pairs.csv").read_text("utf-8"))))
    cells = [row[k] for row in rows for k in ("left", "right")]
    assert all(not c.startswith(("=", "@", "-", "+")) for c in cells), cells
    html = "".join(p.read_text("utf-8") for p in out.rglob("*.html"))
    assert RLO not in html


def test_output_inside_the_round_is_refused_in_one_line(hostile_round):
    tmp, root, _, _ = hostile_round
    done = _checker("scan", str(root), "-o", str(root / "report"), "-q", cwd=tmp)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (root / "report").exists()


def test_an_index_folder_without_an_index_is_one_line(hostile_round):
    tmp, root, _, _ = hostile_round
    empty = tmp / "no-index"
    empty.mkdir(exist_ok=True)
    done = _checker("scan", str(root / "alice"), "--index", str(empty), "-q", cwd=tmp)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert str(empty) in done.stderr


def test_a_manifest_of_folders_reads_their_files(tmp_path):
    _write(tmp_path / "subs" / "a" / "model.py", COPIED)
    _write(tmp_path / "subs" / "b" / "model.py", COPIED)
    (tmp_path / "manifest.csv").write_text("learner,path\nann,subs/a\nben,subs/b\nben,subs/b\n",
                                           encoding="utf-8")
    done = _checker("scan", str(tmp_path), "-o", str(tmp_path.parent / "m-out"), "-q",
                    "--no-notes", cwd=tmp_path.parent)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads((tmp_path.parent / "m-out" / "report.json").read_text("utf-8"))
    assert {lr["id"] for lr in report["learners"]} == {"ann", "ben"}
    assert any(p["left"] == "ann" and p["right"] == "ben" for p in report["pairs"])
    assert any("repeats a row" in w["reason"] for w in report["warnings"])
