"""The example task files on the real west2 submissions (read in place from ../shared/datasets)."""

from __future__ import annotations

import base64
import gzip
import json
from collections import defaultdict
from pathlib import Path

import pytest

from checker.ingest.encoding import decode_bytes
from checker.rules.check import check_submission
from checker.rules.reader import sources_from_text
from checker.task.taskfile import load_task

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO.parent / "shared" / "datasets" / "west2-submissions-2024-2026.jsonl.gz"


def _round(prefix: str) -> dict[str, list]:
    if not DATASET.exists():
        pytest.skip(f"real submissions absent: {DATASET} (the shared datasets folder is not mounted)")
    learners: dict[str, list] = defaultdict(list)
    with gzip.open(DATASET, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if not rec["path"].startswith(prefix + "/learner-"):
                continue
            learner, rel = rec["path"][len(prefix) + 1:].split("/", 1)
            text = rec["text"] if rec["text"] is not None else decode_bytes(base64.b64decode(rec["text_b64"]))[0]
            learners[learner].extend(sources_from_text(learner, rel, text))
    return learners


def test_numpy_task_flags_the_loops_in_the_broadcasting_exercise_only():
    task = load_task(REPO / "examples" / "tasks" / "2025-task3-numpy.toml")
    findings = [f for learner, files in sorted(_round("work3").items())
                for f in check_submission(task, files, learner=learner)]
    loops = [(f.learner, f.path, f.line) for f in findings if f.code == "NS301"]
    assert loops == [("learner-30", "broadcastapply/main.py", 5), ("learner-30", "broadcastapply/main.py", 8)]
    assert {f.code for f in findings} <= {"NS000", "NS301", "NS302", "NS801", "NS802"}


def test_cnn_task_counts_parameters_and_finds_no_violation():
    task = load_task(REPO / "examples" / "tasks" / "2025-task5-cnn.toml")
    files = _round("work4-6")["learner-30"]
    findings = check_submission(task, files, learner="learner-30")
    assert not [f for f in findings if f.severity == "error"]
    counts = {f.message.split(":")[0] for f in findings if f.code == "NS503"}
    assert {"TwoLayerFC", "ThreeLayerConvNet"} <= counts
