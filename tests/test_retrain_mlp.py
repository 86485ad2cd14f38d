"""The example task (examples/retrain-mlp): a real tiny MLP trained with torch on CPU.

The honest submission reproduces; a copy whose claim is inflated is not reproduced; a copy with
a wider hidden layer is over the parameter budget. The three runs go through `retrain_many` in
one batch (module fixture, ~10-15 s on 2 busy cores); each test reads its own result.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomllib

from checker.retrain.config import RetrainConfig
from checker.retrain.runs import retrain_many

pytestmark = pytest.mark.slow  # the fast lane is `pytest -m "not slow"`

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "retrain-mlp"


@pytest.fixture(scope="module")
def example_results(tmp_path_factory) -> dict:
    pytest.importorskip("torch", reason="the example task trains with torch")
    task = tomllib.loads((EXAMPLE / "task.toml").read_text())
    config = RetrainConfig.from_table(task["retrain"], EXAMPLE / "task.toml")
    round_dir = tmp_path_factory.mktemp("round")

    honest = round_dir / "honest"
    shutil.copytree(EXAMPLE / "submission", honest)
    inflated = round_dir / "inflated"
    shutil.copytree(EXAMPLE / "submission", inflated)
    (inflated / "claims.json").write_text(json.dumps({"accuracy": "97.5%", "params": 1251}))
    wide = round_dir / "wide"
    shutil.copytree(EXAMPLE / "submission", wide)
    train = (wide / "train.py").read_text()
    (wide / "train.py").write_text(train.replace("HIDDEN = 32", "HIDDEN = 128"))
    (wide / "claims.json").write_text(json.dumps({"accuracy": "92%", "params": "4.9k"}))

    results = retrain_many({"honest": honest, "inflated": inflated, "wide": wide}, config,
                           max_params=task["rules"]["max_params"], parallel=3)
    if results["honest"].status == "skipped" and "not run" in results["honest"].reason:
        pytest.skip(results["honest"].reason)
    return results


def test_honest_submission_reproduces(example_results):
    result = example_results["honest"]

    assert result.status == "reproduced", result.reason + result.log_tail
    assert result.reached == pytest.approx(0.917, abs=0.03)
    assert result.params == 1251 and result.claimed_params == 1251


def test_inflated_claim_is_not_reproduced_with_its_gap(example_results):
    result = example_results["inflated"]

    assert result.status == "not_reproduced", result.reason
    assert result.gap < -0.03
    assert "below the learner's claim of 97.5%" in result.reason


def test_wider_model_is_over_the_parameter_budget(example_results):
    result = example_results["wide"]

    assert result.status == "over_budget", result.reason
    assert result.params == 2 * 128 + 128 + 128 * 128 + 128 + 128 * 3 + 3
    assert "over the task's limit of 5,000" in result.reason
    assert "the learner claims 4,900 parameters" in result.reason
