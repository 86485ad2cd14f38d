"""The real-round benchmark's scoring (bench/bench_round.py: score_round, totals): hand-made labels
and a hand-made report.json, no datasets, no scan."""

from __future__ import annotations

import sys
from pathlib import Path

# `bench/` is a folder of the repository, not an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_round import record_bytes, score_round, totals  # noqa: E402

LABELS = {
    "learners": {
        "learner-01": {"should_flag": True, "why": "copied learner-02's train.py"},
        "learner-02": {"should_flag": True, "why": "source of learner-01's copy"},
        "learner-03": {"should_flag": True, "why": "pasted a public tutorial", "uncertain": True},
        "learner-04": {"should_flag": False, "why": "own work"},
        "learner-05": {"should_flag": False, "why": "only handout overlap"},
        "learner-06": {"should_flag": True, "why": "copied from blog.example.com"},
        "learner-07": {"should_flag": False, "why": "own work, thin evidence", "uncertain": True},
    },
    "pairs": [
        {"left": "learner-01", "right": "learner-02", "label": "copy"},
        {"left": "learner-03", "right": "public:tutorial.example.org Python pages", "label": "public"},
        {"left": "learner-04", "right": "learner-05", "label": "handout"},
        {"left": "learner-06", "right": "public:blog.example.com posts", "label": "public"},
        {"left": "learner-06", "right": "learner-20", "label": "independent"},
    ],
}


def verdict(learner, risk, *reasons, **extra):
    return {"learner": learner, "risk": risk, "score": 0.5, "reasons": list(reasons), **extra}


REPORT = {"verdicts": [
    verdict("learner-01", "high", "shares 90% of their code with learner-02 (similarity 88%)"),
    # flagged, but its reasons name someone else
    verdict("learner-02", "medium", "notes: README.md shares a paragraph with learner-05's notes"),
    verdict("learner-03", "high", "Only 10% own words"),
    verdict("learner-04", "low", "notes: The notes have 2 words"),
    verdict("learner-05", "medium", "shares 40% of their code with learner-04 (similarity 30%)"),
    # the source appears in an evidence field, not in the reasons; learner-20 must not match learner-2
    verdict("learner-06", "medium", "train.py: 60% matches public code", evidence={"url": "https://blog.example.com/x"}),
    verdict("learner-07", "medium", "shares 30% of their code with learner-04"),
]}


def test_flagged_means_medium_or_high_and_recall_counts_certain_positives_only():
    r = score_round(LABELS, REPORT)
    assert r["learners"] == 7
    assert r["should_flag"] == 3  # learner-01, -02, -06 (learner-03 is uncertain)
    assert r["flagged_should_flag"] == 3 and r["recall"] == 1.0
    assert r["missed"] == []


def test_false_flags_are_certain_clean_learners_at_medium_or_high():
    r = score_round(LABELS, REPORT)
    assert r["clean"] == 2  # learner-04, -05 (learner-07 is uncertain)
    assert r["false_flagged"] == ["learner-05"]  # learner-04 is only "low"
    assert r["false_flags"] == 1 and r["false_flag_rate"] == 0.5


def test_uncertain_learners_count_on_neither_side_but_are_listed():
    r = score_round(LABELS, REPORT)
    assert r["uncertain"] == ["learner-03", "learner-07"]
    assert r["uncertain_flagged"] == 2
    assert "learner-07" not in r["false_flagged"] and "learner-03" not in r["missed"]


def test_partner_is_named_when_a_reason_or_evidence_mentions_a_copy_or_public_partner():
    rows = {row["learner"]: row for row in score_round(LABELS, REPORT)["rows"]}
    assert rows["learner-01"]["partners"] == ["learner-02"]
    assert rows["learner-01"]["partners_named"] == ["learner-02"]
    assert rows["learner-01"]["partner_first_reason"] == 1
    assert rows["learner-01"]["partner_reason_kind"] == "code shared with a learner"
    assert rows["learner-02"]["partners_named"] == []  # names learner-05, not its copier
    assert rows["learner-06"]["partners"] == ["public:blog.example.com posts"]  # independent pair left out
    assert rows["learner-06"]["partners_named"] == ["public:blog.example.com posts"]  # via evidence
    assert score_round(LABELS, REPORT)["partner_named"] == 2


def test_learner_id_does_not_match_a_longer_id():
    labels = {"learners": {"learner-1": {"should_flag": True}},
              "pairs": [{"left": "learner-1", "right": "learner-2", "label": "copy"}]}
    report = {"verdicts": [verdict("learner-1", "high", "shares 80% of their code with learner-20")]}
    (row,) = score_round(labels, report)["rows"]
    assert row["flagged"] and row["partners_named"] == []


def test_cross_round_partner_matches_by_its_learner_id():
    labels = {"learners": {"learner-11": {"should_flag": True}},
              "pairs": [{"left": "learner-11", "right": "work1:learner-28", "label": "copy"}]}
    report = {"verdicts": [verdict("learner-11", "high", "notes.md: 70% comes from learner-28")]}
    (row,) = score_round(labels, report)["rows"]
    assert row["partners_named"] == ["work1:learner-28"]


def test_a_labelled_learner_missing_from_the_report_or_a_failed_scan_is_not_flagged():
    labels = {"learners": {"learner-01": {"should_flag": True}, "learner-02": {"should_flag": False}},
              "pairs": []}
    r = score_round(labels, {"verdicts": [verdict("learner-02", "none", "nothing")]})
    assert r["missed"] == ["learner-01"]
    assert not r["rows"][0]["in_report"]
    failed = score_round(labels, None)
    assert failed["missed"] == ["learner-01"] and failed["rows"][0]["top_reason"] == "(scan failed)"


def test_repeated_reasons_are_shown_once_and_the_first_line_is_the_top_reason():
    labels = {"learners": {"learner-01": {"should_flag": False}}, "pairs": []}
    same = "notes: README.md shares a paragraph with learner-02's notes (reworded)"
    report = {"verdicts": [verdict("learner-01", "medium", same, same, same, "notes: Only 40% own words")]}
    (row,) = score_round(labels, report)["rows"]
    assert row["top_reason"] == same
    assert row["reasons_total"] == 4 and row["reasons_distinct"] == 2
    assert row["reason_kinds"] == {"notes shared with a learner": 1, "notes other": 1}


def test_totals_sum_rounds_and_recompute_the_rates():
    a = score_round(LABELS, REPORT)
    b = score_round({"learners": {"learner-09": {"should_flag": True}}, "pairs": []},
                    {"verdicts": [verdict("learner-09", "low", "x")]})
    t = totals({"a": a, "b": b})
    assert (t["should_flag"], t["flagged_should_flag"]) == (4, 3)
    assert t["recall"] == 0.75
    assert (t["clean"], t["false_flags"], t["uncertain"]) == (2, 1, 2)


def test_submission_bytes_keep_their_original_encoding():
    import base64

    gbk = "中文注释".encode("gbk")
    assert record_bytes({"text": None, "text_b64": base64.b64encode(gbk).decode()}) == gbk
    assert record_bytes({"text": "中文"}) == "中文".encode()
