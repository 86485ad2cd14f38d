"""Reading what a learner claims, from claims.json or from sentences in the notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.retrain.claims import normalise, parse_figure, parse_param_count, read_claims


def _submission(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "learner"
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def test_claims_file_gives_metric_and_params_with_their_source(tmp_path):
    root = _submission(tmp_path, {"claims.json": '{"accuracy": "66.3%", "params": "18.2M"}'})

    claims = read_claims(root, "accuracy", unit="fraction")

    assert claims.metric.value == pytest.approx(0.663) and claims.metric.source == "claims.json"
    assert claims.params.value == 18_200_000


def test_english_readme_sentence_is_read(tmp_path):
    root = _submission(tmp_path, {"README.md": "# CIFAR\nTest accuracy 66.3% with 18.2M parameters.\n"})

    claims = read_claims(root, "accuracy", unit="fraction")

    assert claims.metric.value == pytest.approx(0.663)
    assert claims.metric.source == "README.md:2"
    assert claims.params.value == 18_200_000


def test_chinese_notes_in_gbk_are_read(tmp_path):
    notes = "训练了 10 轮。\n测试集准确率为 66.3%，参数量：1820万\n".encode("gb18030")
    root = _submission(tmp_path, {"notes/笔记.md": notes})

    claims = read_claims(root, "accuracy", unit="fraction")

    assert claims.metric.value == pytest.approx(0.663)
    assert claims.params.value == 18_200_000
    assert claims.metric.source == "notes/笔记.md:2"


def test_test_set_figure_wins_over_the_training_figure(tmp_path):
    root = _submission(tmp_path, {"README.md": "train acc: 0.99\nfinal test acc: 0.71\n"})

    assert read_claims(root, "accuracy", unit="fraction").metric.value == pytest.approx(0.71)


def test_numbers_that_count_something_else_are_not_claims(tmp_path):
    root = _submission(tmp_path, {"README.md": "accuracy after 10 epochs is fine\naccelerate 5 times\n"
                                               "Non-trainable params: 0\n"})

    claims = read_claims(root, "accuracy", unit="fraction")

    assert claims.metric is None and claims.params is None


def test_torchsummary_total_is_a_parameter_claim(tmp_path):
    root = _submission(tmp_path, {"notes.txt": "Total params: 1,251\nTrainable params: 1,251\n"})

    assert read_claims(root, "accuracy").params.value == 1251


def test_task_pattern_is_tried_first(tmp_path):
    root = _submission(tmp_path, {"README.md": "acc 0.5\nMy score => 0.87\n"})

    claims = read_claims(root, "accuracy", patterns=[r"score => ([0-9.]+)"])

    assert claims.metric.value == pytest.approx(0.87)


def test_broken_claims_file_falls_back_to_the_notes_with_a_warning(tmp_path):
    root = _submission(tmp_path, {"claims.json": "{accuracy: 0.9", "README.md": "test accuracy 0.88\n"})

    claims = read_claims(root, "accuracy")

    assert claims.metric.value == pytest.approx(0.88)
    assert "claims.json is not valid JSON" in claims.warnings[0]


def test_linked_readme_is_not_followed(tmp_path):
    outside = tmp_path / "host-notes.md"
    outside.write_text("test accuracy 0.99\n")
    root = _submission(tmp_path, {"train.py": ""})
    (root / "README.md").symlink_to(outside)

    assert read_claims(root, "accuracy").metric is None


def test_notes_in_a_tool_folder_are_not_the_learners_claims(tmp_path):
    root = _submission(tmp_path, {"train.py": "", "venv/lib/README.md": "test accuracy 0.99\n"})

    assert read_claims(root, "accuracy").metric is None


def test_claims_are_read_from_the_notes_the_scan_read(tmp_path):
    root = _submission(tmp_path, {"README.md": "test accuracy 0.5\n"})

    claims = read_claims(root, "accuracy", notes={"notes/week1.md": "test accuracy 0.7\n"})

    assert claims.metric.value == pytest.approx(0.7) and claims.metric.source == "notes/week1.md:1"


@pytest.mark.parametrize(
    ("text", "count"),
    [("1251", 1251), ("1,251", 1251), ("18.2M", 18_200_000), ("1.2 million", 1_200_000),
     ("120万", 1_200_000), ("0.5B", 500_000_000), ("many", None)],
)
def test_parameter_counts_are_parsed_with_their_units(text, count):
    assert parse_param_count(text) == count


def test_figures_are_brought_to_the_tasks_unit():
    assert parse_figure("66.3%", "fraction") == pytest.approx(0.663)
    assert parse_figure("66,3 %", "fraction") == pytest.approx(0.663)
    assert parse_figure("0.663", "percent") == pytest.approx(66.3)
    assert normalise(66.3, False, "fraction") == pytest.approx(0.663)
    assert normalise(66.3, True, "raw") == 66.3
    assert parse_figure("about 66", "fraction") is None
