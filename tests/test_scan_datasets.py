"""`checker scan` on the shared datasets: the Dolos Python benchmark and a real west2 round.

They read ../shared/datasets in place and skip when it is absent.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checker.pipeline.scan import ScanConfig, scan
from conftest import dataset, materialise_jsonl

pytestmark = pytest.mark.slow  # the fast lane is `pytest -m "not slow"`


def _sim(report, a, b, file_a=None, file_b=None):
    best = 0.0
    for p in report["pairs"]:
        if {p["left"], p["right"]} != {a, b}:
            continue
        files = {p["left"]: p["left_file"], p["right"]: p["right_file"]}
        if file_a and files[a] != file_a or file_b and files[b] != file_b:
            continue
        best = max(best, p["similarity"])
    return best


def test_dolos_benchmark_every_copy_of_a_scores_above_a_b(tmp_path):
    bench = dataset("dolos-python-benchmark")
    root = tmp_path / "round"
    for f in bench.glob("*.py"):
        (root / f.stem).mkdir(parents=True)
        shutil.copy(f, root / f.stem / f.name)
    report = scan(ScanConfig(round_dir=root, min_similarity=0.0, jobs=1))
    a_b = _sim(report, "UPGMA_A", "UPGMA_B")
    copies = [d.name for d in root.iterdir() if d.name.startswith("UPGMA_A_")]
    assert len(copies) == 6
    for copy in copies:
        assert _sim(report, "UPGMA_A", copy) > a_b, copy
    # README: A vs B should only give loadtxt (A lines 17-20) and savetxt (A lines 21-24)
    (ab,) = [p for p in report["pairs"] if {p["left"], p["right"]} == {"UPGMA_A", "UPGMA_B"}]
    longest = sorted(ab["fragments"], key=lambda f: -f["tokens"])[:2]
    a_side = "left" if ab["left"] == "UPGMA_A" else "right"
    for frag in longest:
        assert 17 <= frag[f"{a_side}_start_line"] <= 24
    # the combined file carries B's functions: it matches B far more than A matches B
    assert _sim(report, "UPGMA_A_B_combined", "UPGMA_B") > 2 * a_b


def test_real_round_finds_identical_files_and_ignores_handout(tmp_path):
    root = tmp_path / "work1"
    materialise_jsonl("west2-submissions-2024-2026.jsonl.gz", root, prefix="work1/learner-",
                      strip="work1/")
    handout = tmp_path / "handout"
    materialise_jsonl("west2-learn-ai-tasks.jsonl.gz", handout, prefix="tasks(2026)/foundation/")
    materialise_jsonl("west2-learn-ai-tasks.jsonl.gz", handout, prefix="pre-tasks/tasks(2025)/task1-3/")
    report = scan(ScanConfig(round_dir=root, base_dir=handout, min_similarity=0.0))
    # learner-20 and learner-31 hand in byte-identical Characters.py, Dialogue.py and save.py
    for name in ("Characters.py", "Dialogue.py", "save.py"):
        path = f"Campus_IF_Love/{name}"
        assert _sim(report, "learner-20", "learner-31", path, path) > 0.9, name
    # start_the_battle.py / check_my_code.py are handout files copied verbatim by 12 learners
    handout_pairs = [p for p in report["pairs"]
                     if Path(p["left_file"]).name in ("start_the_battle.py", "check_my_code.py")
                     and Path(p["right_file"]).name == Path(p["left_file"]).name]
    assert not [p for p in handout_pairs if p["similarity"] > 0.1]
    assert report["stats"]["files"] > 100
