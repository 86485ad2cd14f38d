"""The remembered-rounds benchmark's pure parts (bench/bench_history.py: the split of a labelled
round, the copies it puts across rounds, the scoring of a scan): hand-made labels and reports."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_history import expected_copies, round_name, score_case, split_learners  # noqa: E402

LABELS = {
    "learners": {
        "learner-01": {"should_flag": True}, "learner-02": {"should_flag": True},
        "learner-03": {"should_flag": False}, "learner-04": {"should_flag": False},
        "learner-05": {"should_flag": True, "uncertain": True}, "learner-06": {"should_flag": False},
    },
    "pairs": [
        {"left": "learner-02", "right": "learner-01", "label": "copy"},
        {"left": "learner-03", "right": "learner-04", "label": "independent"},
        {"left": "learner-06", "right": "2024-task1:learner-09", "label": "handout"},
    ],
}


def test_the_split_puts_each_copys_source_first_and_its_copier_second():
    first, second = split_learners(LABELS)
    assert "learner-02" in first and "learner-01" in second
    assert sorted(first + second) == sorted(LABELS["learners"]) and not set(first) & set(second)
    assert expected_copies(LABELS, first, second, "r-a") == [("learner-01", "r-a:learner-02")]


def test_round_names_drop_the_folder_prefix():
    assert round_name("pre_task/2024/task1") == "2024-task1"
    assert round_name("work1", "a") == "work1-a"


def _verdict(learner, risk, *evidence):
    return {"learner": learner, "risk": risk, "reasons": [e["text"] for e in evidence],
            "evidence": list(evidence)}


def _evidence(kind, level, partner, text="..."):
    return {"kind": kind, "level": level, "partner": partner, "text": text}


def test_score_counts_history_pairs_own_work_and_the_flags_remembered_rounds_raise():
    with_history = {
        "pairs": [
            {"left": "learner-01", "right": "r-a:learner-02", "source": "history", "similarity": 1.0,
             "history": {"round": "r-a", "learner": "learner-02", "own_work": False}},
            {"left": "learner-04", "right": "r-a:learner-04", "source": "history", "similarity": 0.9,
             "history": {"round": "r-a", "learner": "learner-04", "own_work": True}},
            {"left": "learner-01", "right": "learner-04", "source": "learner", "similarity": 0.3},
        ],
        "verdicts": [
            _verdict("learner-01", "high", _evidence("history", "high", "r-a:learner-02", "a.py matches")),
            _verdict("learner-04", "none", _evidence("history", "none", "r-a:learner-04", "own earlier work")),
            _verdict("learner-03", "medium", _evidence("notes", "medium", "r-a:learner-06", "notes also in")),
            _verdict("learner-05", "medium", _evidence("code", "medium", "learner-01")),
        ],
        "history": {"compared": [{"name": "r-a"}]},
    }
    without = {"verdicts": [_verdict("learner-01", "none"), _verdict("learner-05", "medium",
                                                                     _evidence("code", "medium", "learner-01"))]}
    scored = score_case(LABELS, ["learner-01", "learner-03", "learner-04", "learner-05"], ["r-a"],
                        with_history, without, [("learner-01", "r-a:learner-02")])
    assert (scored["history_pairs"], scored["own_work_pairs"], scored["own_work_learners"]) == (2, 1, ["learner-04"])
    assert [(r["learner"], r["label"], r["partners"]) for r in scored["raised"]] == [
        ("learner-01", "should flag", ["r-a:learner-02"]), ("learner-03", "clean", ["r-a:learner-06"])]
    assert scored["raised_by_label"] == {"should flag": 1, "clean": 1, "uncertain": 0, "unlabelled": 0}
    assert scored["flagged_without_history"] == ["learner-05"]
    assert scored["flagged_with_history"] == ["learner-01", "learner-03", "learner-05"]
    assert scored["expected_paired"] == scored["expected_named"] == [["learner-01", "r-a:learner-02"]]
    assert scored["compared"] == ["r-a"]


def test_a_failed_scan_scores_no_pairs_and_no_flags():
    scored = score_case(LABELS, ["learner-01"], ["r-a"], None, None, [("learner-01", "r-a:learner-02")])
    assert scored["history_pairs"] == 0 and scored["raised"] == []
    assert scored["expected_paired"] == scored["expected_named"] == []
