"""Judging a re-run against the claim, the target and the parameter budget (pure)."""

from __future__ import annotations

import pytest

from checker.retrain.judge import judge
from checker.retrain.runs import RetrainResult

BASE = dict(metric="accuracy", tolerance=0.02, unit="fraction")


def test_reached_within_tolerance_of_the_claim_is_reproduced():
    status, gap, reason = judge(reached=0.652, claimed=0.663, target=0.65, **BASE)

    assert status == "reproduced"
    assert gap == pytest.approx(-0.011)
    assert "65.2%" in reason and "66.3%" in reason


def test_inflated_claim_is_not_reproduced_with_the_gap_in_words():
    status, gap, reason = judge(reached=0.61, claimed=0.663, target=0.65, **BASE)

    assert status == "not_reproduced"
    assert gap == pytest.approx(-0.053)
    assert "5.3 points below the learner's claim of 66.3%" in reason
    assert "below the task's target of 65.0%" in reason


def test_doing_better_than_claimed_is_not_a_shortcut():
    status, _, _ = judge(reached=0.80, claimed=0.663, target=None, **BASE)

    assert status == "reproduced"


def test_without_a_claim_the_target_is_the_reference():
    status, gap, reason = judge(reached=0.60, claimed=None, target=0.65, **BASE)

    assert status == "not_reproduced" and gap == pytest.approx(-0.05)
    assert "the task's target" in reason


def test_lower_is_better_metrics_are_judged_the_other_way():
    ok, _, _ = judge(metric="loss", reached=0.30, claimed=0.31, target=None, tolerance=0.02, direction="min")
    bad, _, reason = judge(metric="loss", reached=0.50, claimed=0.31, target=None, tolerance=0.02,
                           direction="min")

    assert ok == "reproduced" and bad == "not_reproduced"
    assert "above the learner's claim" in reason


def test_model_over_the_budget_is_over_budget_whatever_it_reaches():
    status, _, reason = judge(reached=0.70, claimed=0.663, target=0.65, params=25_100_000,
                              claimed_params=18_200_000, max_params=20_000_000, **BASE)

    assert status == "over_budget"
    assert reason.startswith("the trained model has 25.10M (25,100,000) parameters, over the task's limit")
    assert "claims 18.20M" in reason


def test_parameter_count_far_from_the_claim_is_not_reproduced():
    rounded, _, _ = judge(reached=0.663, claimed=0.663, target=None, params=18_234_567,
                          claimed_params=18_200_000, **BASE)
    far, _, reason = judge(reached=0.663, claimed=0.663, target=None, params=9_000_000,
                           claimed_params=18_200_000, **BASE)

    assert rounded == "reproduced"
    assert far == "not_reproduced" and "the trained model has 9.00M" in reason


def test_result_status_must_be_a_known_one():
    with pytest.raises(ValueError, match="status must be one of"):
        RetrainResult(status="ok", reason="", submission="x", metric="accuracy")
