"""A learner's hand-in is hostile until proven otherwise: links out of the round, zip bombs, huge
notebooks, odd manifests, duplicate learners, hidden folders, crashed runs. Tiny fixtures built
in tmp_path."""

from __future__ import annotations

import base64
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from checker import defaults

from conftest import write_round

from checker.pipeline import workdir as workdir
from checker.pipeline import scan as scan_module
from checker.ingest.round import extract_zip, load_folder, load_round, read_code_file
from checker.ingest.documents import parse_notes_text
from checker.pipeline.scan import ScanConfig, scan

REPO = Path(__file__).resolve().parents[1]

CODE = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width=64):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Flatten(),
                                  nn.LazyLinear(10))

    def forward(self, x):
        return self.body(x)


def train(model, loader, optimizer, loss_fn, epochs=3):
    for epoch in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
    return model
'''
SECRET = "TOP_SECRET_FROM_OUTSIDE_THE_ROUND = 'do not leak me'\n"


def _scan(root: Path) -> dict:
    return scan(ScanConfig(root, jobs=1))


def _reasons(warnings) -> dict[str, str]:
    return {(w["path"] if isinstance(w, dict) else w.path):
            (w["reason"] if isinstance(w, dict) else w.reason) for w in warnings}


def _outside(tmp_path: Path) -> Path:
    """A folder beside the round with a secret nobody may read into a report."""
    return write_round(tmp_path / "outside", {"secret.py": SECRET, "notes.md": "secret notes\n"})


# --- links ---------------------------------------------------------------------------------
def test_a_learner_folder_that_is_a_symlink_is_not_followed(tmp_path):
    outside = _outside(tmp_path)
    root = write_round(tmp_path / "round", {"alice/train.py": CODE, "bob/train.py": CODE})
    (root / "mallory").symlink_to(outside, target_is_directory=True)
    (root / "bob-again").symlink_to(root / "bob", target_is_directory=True)  # inside: not either
    (root / "eve.zip").symlink_to(outside / "secret.py")
    report = _scan(root)
    assert {lr["id"] for lr in report["learners"]} == {"alice", "bob"}
    assert "TOP_SECRET" not in json.dumps(report)
    reasons = _reasons(report["warnings"])
    for name in ("mallory", "bob-again", "eve.zip"):
        assert "symbolic link, not followed" in reasons[name]


def test_links_inside_a_learner_folder_are_warned_and_not_followed(tmp_path):
    outside = _outside(tmp_path)
    root = write_round(tmp_path / "round", {"alice/train.py": CODE, "alice/data/a.csv": "x\n1\n"})
    alice = root / "alice"
    (alice / "stolen.py").symlink_to(outside / "secret.py")
    (alice / "lib").symlink_to(outside, target_is_directory=True)
    (alice / "copy.py").symlink_to(alice / "train.py")  # stays inside: still not followed
    for n in range(3):  # links to data: not compared anyway, one warning for all of them
        (alice / f"img{n}.png").symlink_to(outside / "secret.py")
    sub = load_folder(alice, "alice")
    assert [f.path for f in sub.code] == ["train.py"]
    assert not any("TOP_SECRET" in f.text for f in sub.code)
    reasons = _reasons(sub.warnings)
    assert "points outside" in reasons["stolen.py"] and "points outside" in reasons["lib"]
    assert "points inside" in reasons["copy.py"]
    assert "2 more links" in reasons["img0.png"]
    assert len(sub.warnings) == 4
    assert "data/a.csv" in sub.other  # other files: listed, no warning


def test_a_manifest_path_that_leaves_the_round_is_refused(tmp_path):
    outside = _outside(tmp_path)
    root = write_round(tmp_path / "round", {"files/ann.py": CODE})
    (root / "files" / "link.py").symlink_to(outside / "secret.py")
    (root / "files" / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "manifest.csv").write_text(
        "learner,path\nann,files/ann.py\nmal,../outside/secret.py\nmal,files/link.py\n"
        f"mal,{outside / 'secret.py'}\nmal,files/linkdir\nmal,files/linkdir/notes.md\n")
    report = _scan(root)
    assert "TOP_SECRET" not in json.dumps(report) and "secret notes" not in json.dumps(report)
    refused = [w for w in report["warnings"] if "outside the round" in w["reason"]]
    assert len(refused) == 5 and {w["learner"] for w in refused} == {"mal"}


# --- files that are not compared are named --------------------------------------------------
def test_hidden_and_tool_folders_of_the_round_are_warned_when_they_hold_code(tmp_path):
    root = write_round(tmp_path / "round", {
        "alice/train.py": CODE, ".hidden/train.py": CODE, ".../train.py": CODE,
        ".git/config": "[core]\n", "__pycache__/x.pyc": b"\x00", ".DS_Store": b"\x00",
        ".sneaky.py": CODE,
    })
    subs, warnings = load_round(root, tmp_path / "work")
    assert [s.learner for s in subs] == ["alice"]
    reasons = _reasons(warnings)
    assert set(reasons) == {".hidden", "...", ".sneaky.py"}
    assert "not compared" in reasons[".hidden"] and "train.py" in reasons["..."]


def test_tool_folders_inside_a_learner_folder_are_warned_when_they_hold_code(tmp_path):
    nb = json.dumps({"cells": [{"cell_type": "code", "source": CODE}]})
    root = write_round(tmp_path / "round", {
        "alice/train.py": CODE, "alice/venv/lib/model.py": CODE, "alice/__pycache__/a.pyc": b"\0",
        "alice/.git/HEAD": "ref\n", "alice/work.ipynb": nb,
        "alice/.ipynb_checkpoints/work-checkpoint.ipynb": nb,  # an autosave of work.ipynb
        "alice/.ipynb_checkpoints/gone-checkpoint.ipynb": nb,  # its notebook is not there
        "alice/plot.png": b"\x89PNG", "alice/model.pt": b"\0" * 10,
    })
    sub = load_folder(root / "alice", "alice")
    reasons = _reasons(sub.warnings)
    assert set(reasons) == {"venv", ".ipynb_checkpoints"}
    assert "virtual environment" in reasons["venv"] and "venv/lib/model.py" not in reasons
    assert "gone-checkpoint.ipynb" in reasons[".ipynb_checkpoints"]
    assert sorted(sub.other) == ["model.pt", "plot.png"]


def test_the_report_says_no_warnings_only_about_code_and_notes(tmp_path):
    from checker.report.html import render_html

    root = write_round(tmp_path / "round", {"alice/train.py": CODE, "bob/train.py": CODE,
                                       "bob/plot.png": b"\x89PNG"})
    report = _scan(root)
    assert report["warnings"] == []
    render_html(report, tmp_path / "html")
    pages = " ".join(p.read_text(encoding="utf-8") for p in (tmp_path / "html").rglob("*.html"))
    assert "every code and notes file was read" in pages
    assert "every file was read and compared" not in pages


def test_a_report_written_inside_the_round_is_not_a_learner_next_time(tmp_path):
    from checker.report.html import render_html
    from checker.report.writers import write_report

    root = write_round(tmp_path / "round", {"alice/train.py": CODE, "bob/train.py": CODE})
    report = _scan(root)
    write_report(report, root / "report")
    render_html(report, root / "report")
    again = _scan(root)
    assert {lr["id"] for lr in again["learners"]} == {"alice", "bob"}
    assert "noshortcut report" in _reasons(again["warnings"])["report"]
    # a learner's folder that happens to hold such files but also code is still a learner
    (root / "report" / "mine.py").write_text(CODE)
    subs, _ = load_round(root, tmp_path / "work")
    assert "report" in [s.learner for s in subs]


# --- zips ------------------------------------------------------------------------------------
def _disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_zip_bomb_never_writes_more_than_the_budget(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train.py", CODE)
        for n in range(40):
            zf.writestr(f"data/{n:02d}.bin", b"\0" * 100_000)  # ~1,000:1
    assert bomb.stat().st_size < 20_000
    dest = tmp_path / "out"
    warnings = extract_zip(bomb, dest, "bomb", max_total=450_000, ratio_min_bytes=10**9)
    assert _disk_bytes(dest) <= 450_000
    assert (dest / "train.py").read_text() == CODE  # code goes first
    assert len(warnings) == 1 and "over the zip budget of 450,000" in warnings[0].reason
    assert "extraction stopped, 36 files not extracted" in warnings[0].reason


def test_a_member_packed_like_a_bomb_stops_the_extraction(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "ZIP_RATIO_MIN_BYTES", 50_000)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.py", CODE)
        zf.writestr("zeros.bin", b"\0" * 200_000)
        zf.writestr("zeros2.bin", b"\0" * 200_000)
        zf.writestr("random.bin", os.urandom(60_000))  # incompressible: never refused for ratio
    warnings = extract_zip(bomb, tmp_path / "out", "bomb")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.py"]
    assert len(warnings) == 1 and "a zip bomb?" in warnings[0].reason
    assert warnings[0].path == "zeros.bin"


def test_a_zip_with_too_many_members_is_cut_at_the_limit(tmp_path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for n in range(10):
            zf.writestr(f"f{n}.txt", "x")
    warnings = extract_zip(many, tmp_path / "out", "many", max_members=4)
    assert len(list((tmp_path / "out").iterdir())) == 4
    assert "the last 6 not extracted" in warnings[0].reason


def test_a_member_whose_header_lies_about_its_size_is_not_kept(tmp_path):
    liar = tmp_path / "liar.zip"
    with zipfile.ZipFile(liar, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.py", "x = 1\n" * 20_000)
        zf.writestr("ok.py", CODE)
    data = bytearray(liar.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local header, central dir
        at = data.index(sig)
        struct.pack_into("<I", data, at + offset, 100)  # "100 bytes", it holds 120,000
    liar.write_bytes(bytes(data))
    warnings = extract_zip(liar, tmp_path / "out", "liar")
    assert not (tmp_path / "out" / "big.py").exists()
    assert (tmp_path / "out" / "ok.py").read_text() == CODE
    assert "big.py" in _reasons(warnings)


def test_broken_members_of_a_zip_are_warnings(tmp_path):
    odd = tmp_path / "odd.zip"
    with zipfile.ZipFile(odd, "w") as zf:
        zf.writestr("locked.py", CODE)  # marked encrypted below: needs a password to read
        zf.writestr("a/b.py", CODE)
        zf.writestr("a", "a file")  # `a` is a folder already
        zf.writestr("venv/lib/x.py", CODE)  # a tool folder: not extracted, named
        zf.writestr("__MACOSX/._a.py", b"\0\5\26\7")  # macOS metadata: silently dropped
        zf.writestr("good.py", CODE)
    data = bytearray(odd.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # the flags of locked.py
        at = data.index(sig)
        struct.pack_into("<H", data, at + offset, struct.unpack_from("<H", data, at + offset)[0] | 1)
    odd.write_bytes(bytes(data))
    warnings = extract_zip(odd, tmp_path / "out", "odd")
    reasons = _reasons(warnings)
    assert set(reasons) == {"locked.py", "a", "venv"}
    assert "encrypted" in reasons["locked.py"]
    assert (tmp_path / "out" / "good.py").exists() and not (tmp_path / "out" / "venv").exists()


def test_a_zip_over_budget_still_gives_its_learner_a_warning_in_the_round(tmp_path, monkeypatch):
    monkeypatch.setattr(defaults, "ZIP_MAX_TOTAL_BYTES", 10_000)
    root = write_round(tmp_path / "round", {"alice/train.py": CODE})
    with zipfile.ZipFile(root / "bob.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bob/train.py", CODE)
        zf.writestr("bob/data.csv", "1,2,3\n" * 5_000)
    subs, _ = load_round(root, tmp_path / "work")
    bob = next(s for s in subs if s.learner == "bob")
    assert [f.path for f in bob.code] == ["train.py"]
    assert any("over the zip budget" in w.reason for w in bob.warnings)
    assert _disk_bytes(tmp_path / "work") <= 10_000


# --- notebooks -------------------------------------------------------------------------------
def _notebook(code: str, markdown: str, plot_bytes: int) -> str:
    png = base64.b64encode(os.urandom(plot_bytes)).decode()
    plot = {"output_type": "display_data", "data": {"image/png": png}, "metadata": {}}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "source": markdown, "metadata": {}},
        {"cell_type": "code", "source": code, "outputs": [plot, plot, plot], "metadata": {},
         "execution_count": 1},
    ]})


def test_a_large_notebook_with_plots_is_compared_on_its_code(tmp_path):
    nb = _notebook(CODE, "# My experiments\n\nI trained a small network and plotted the loss.",
                   600_000)
    assert len(nb) > 2_000_000 > defaults.MAX_FILE_BYTES - 1  # over the old limit
    root = write_round(tmp_path / "round", {"alice/train.py": CODE, "bob/work.ipynb": nb})
    report = _scan(root)
    assert report["warnings"] == []
    bob = next(lr for lr in report["learners"] if lr["id"] == "bob")
    assert bob["code_files"] == ["work.ipynb"]
    assert report["learner_pairs"] and report["learner_pairs"][0]["similarity"] > 0.9
    assert "plotted the loss" in json.dumps(report["notes"])


def test_the_size_limit_of_a_notebook_is_on_its_code_and_markdown(monkeypatch):
    monkeypatch.setattr(defaults, "MAX_FILE_BYTES", 2_000)
    small = _notebook(CODE, "short", 10_000).encode()
    source, _, warning = read_code_file(small, "bob", "work.ipynb")
    assert source is not None and warning is None
    big = _notebook(CODE * 5, "short", 10).encode()
    source, _, warning = read_code_file(big, "bob", "work.ipynb")
    assert source is None and "code and markdown cells" in warning.reason
    doc = parse_notes_text(_notebook("x = 1", "many words " * 500, 10), "work.ipynb", "bob")
    assert not doc.paragraphs and "markdown cells" in doc.warnings[0].reason


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    json.dumps({"cells": [{"cell_type": "markdown", "source": [1, None]},
                          {"cell_type": "code", "source": [2, "x = 1"]}]}),
    json.dumps({"worksheets": [1, {"cells": "no"}]}),
], ids=["nested-too-deeply", "sources-not-text", "nbformat3-garbage"])
def test_a_hostile_notebook_is_a_warning_or_read_never_a_crash(text):
    read_code_file(text.encode(), "bob", "work.ipynb")
    parse_notes_text(text, "work.ipynb", "bob")


# --- manifests ---------------------------------------------------------------------------------
def test_a_manifest_may_name_folders(tmp_path):
    root = write_round(tmp_path / "round", {
        "subs/ann/train.py": CODE, "subs/ann/notes.md": "I wrote this network myself.\n",
        "subs/ben/model/train.py": CODE, "subs/ben/.git/HEAD": "x",
    })
    (root / "manifest.csv").write_text("learner,path\nann,subs/ann/\nben,subs/ben\n")
    report = _scan(root)
    files = {lr["id"]: lr["code_files"] for lr in report["learners"]}
    assert files == {"ann": ["subs/ann/train.py"], "ben": ["subs/ben/model/train.py"]}
    assert report["warnings"] == []
    assert report["learner_pairs"][0]["similarity"] > 0.9
    assert "wrote this network" in json.dumps(report["notes"])


def test_bad_manifest_rows_are_warnings_not_crashes(tmp_path):
    root = write_round(tmp_path / "round", {"files/a.py": CODE, "files/b.py": CODE})
    (root / "manifest.csv").write_text(
        "learner,path\n"
        "ann,files/a.py\n"
        ",\n"                     # empty row
        "cat,\n"                  # no path
        ",files/b.py\n"           # no learner
        "dan,files/missing.py\n"  # not found
        "dan,files/missing.md\n"  # not found (notes are read later: still named now)
        "ann,files/a.py\n"        # repeated
        "ann,./files//a.py\n"     # the same file, spelt differently
        "ben,files/a.py\n"        # another learner's file
        "ben,files/b.py,extra\n"  # more fields than the header
    )
    subs, warnings = load_round(root, tmp_path / "work")
    by = {s.learner: s for s in subs}
    assert [f.path for f in by["ann"].code] == ["files/a.py"]
    assert [f.path for f in by["ben"].code] == ["files/b.py"]
    assert {w.reason for w in warnings} >= {"empty row; skipped"}
    assert any("no learner" in w.reason for w in warnings)
    assert "no path" in by["cat"].warnings[0].reason
    assert all("not found" in w.reason for w in by["dan"].warnings) and len(by["dan"].warnings) == 2
    assert sum("repeats a row" in w.reason for w in by["ann"].warnings) == 2
    ben = " ".join(w.reason for w in by["ben"].warnings)
    assert "listed for learner 'ann' too" in ben and "more fields than its header" in ben


# --- one learner, one submission --------------------------------------------------------------
def test_a_learner_with_a_folder_and_a_zip_is_one_submission(tmp_path):
    root = write_round(tmp_path / "round", {"dave/train.py": CODE, "erin/train.py": CODE})
    with zipfile.ZipFile(root / "dave.zip", "w") as zf:
        zf.writestr("dave/train.py", CODE)
        zf.writestr("dave/extra.py", "def helper(x):\n    return x * 2\n")
        zf.writestr("dave/notes.md", "Dave's own notes about the training run.\n")
    report = _scan(root)
    dave = [lr for lr in report["learners"] if lr["id"] == "dave"]
    assert len(dave) == 1
    assert sorted(dave[0]["code_files"]) == ["extra.py", "train.py"]
    assert dave[0]["notes_files"] == ["notes.md"]
    assert "Dave's own notes" in json.dumps(report["notes"])  # read from the extracted zip
    reasons = _reasons(report["warnings"])
    assert "second hand-in" in reasons["dave.zip"]
    assert sum(f["owner"] == "dave" for f in report["files"]) == 2


# --- temporary folders -----------------------------------------------------------------------
@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _crash_fingerprint_worker(args):
    os._exit(3)


@pytest.mark.parametrize("failure", ["error", "interrupt", "worker"])
def test_a_failed_scan_leaves_no_temporary_folder(tmp_path, private_tmp, monkeypatch, failure):
    files = {f"l{n:02d}/train.py": CODE.replace("width=64", f"width={n}") for n in range(41)}
    root = write_round(tmp_path / "round", files)
    with zipfile.ZipFile(root / "zed.zip", "w") as zf:  # something in the work folder
        zf.writestr("train.py", CODE)
    jobs = 1
    if failure == "error":
        monkeypatch.setattr(scan_module, "match_code", lambda *a, **k: 1 / 0)
        expected = ZeroDivisionError
    elif failure == "interrupt":
        def interrupt(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(scan_module, "read_round_notes", interrupt)
        expected = KeyboardInterrupt
    else:  # a fingerprint worker dies on every file: each is read lexically, the run goes on
        from checker.code import fingerprints as fingerprints
        monkeypatch.setattr(fingerprints, "_fingerprint_star", _crash_fingerprint_worker)
        jobs, expected = 2, None
    seen = []
    real_load_round = scan_module.load_round
    monkeypatch.setattr(scan_module, "load_round",
                        lambda r, w: seen.append(w) or real_load_round(r, w))
    if expected is None:
        report = scan(ScanConfig(root, jobs=jobs))
        assert any(w["kind"] == "fallback" for w in report["warnings"])
    else:
        with pytest.raises(expected):
            scan(ScanConfig(root, jobs=jobs))
    assert seen and seen[0].parent == private_tmp  # the scan did make its folder there
    assert list(private_tmp.iterdir()) == []


def test_a_crashed_worker_of_a_forked_stage_fails_the_run_instead_of_hanging():
    script = textwrap.dedent("""
        import os
        from checker.pipeline import scan as scan
        def worker(x):
            if x == 3:
                os._exit(1)
            return x
        try:
            list(scan._forked_imap(worker, list(range(8)), (), 2))
        except Exception as exc:
            print(type(exc).__name__)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=False, timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "BrokenProcessPool"


def test_a_terminated_scan_removes_its_temporary_folder(tmp_path, private_tmp):
    root = write_round(tmp_path / "round", {"alice/train.py": CODE, "bob/train.py": CODE})
    script = textwrap.dedent(f"""
        import time
        from checker.pipeline import scan as scan
        def stuck(*args, **kwargs):
            print("stuck", flush=True)
            time.sleep(60)
        scan.match_code = stuck
        scan.scan(scan.ScanConfig({str(root)!r}, jobs=1))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(private_tmp)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env=env)
    try:
        assert proc.stdout.readline().strip() == "stuck"
        assert len(list(private_tmp.glob("noshortcut-*"))) == 1
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert list(private_tmp.iterdir()) == []


def test_work_folders_of_killed_scans_are_removed_by_the_next_run(private_tmp):
    with workdir.work_dir() as alive:
        # a scan killed outright: its folder is left, its lock free
        dead = private_tmp / "noshortcut-dead"
        dead.mkdir()
        (dead / "zips").mkdir()
        (dead / workdir._LOCK).write_text("")
        other = private_tmp / "noshortcut-run-sandbox"  # not ours: no lock file
        other.mkdir()
        removed = workdir.sweep_stale()
        assert removed == [dead]
        assert alive.exists() and other.exists()  # a running scan's folder is locked
    assert not alive.exists()
    assert [p.name for p in private_tmp.iterdir()] == ["noshortcut-run-sandbox"]
