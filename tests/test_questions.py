"""Review questions (checker.report.questions): what a mentor asks each learner, from the evidence.

Scanned rounds (a learner who copied d2l's chapter-3 training helpers with the functions renamed,
two learners sharing a model file) and hand-made reports (a rule finding, a retrain gap, copied
notes) are asked about; the CLI prints a learner's sheet; the HTML sheet prints one A4 page per
learner in headless Chromium (skipped when it is not installed).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_round
from test_render_fixtures import _match, _notes_section, _paragraph, _retrain_result, small_round_report
from test_scan_corpus import INDEPENDENT

from checker.cli.main import cli
from checker.pipeline.scan import ScanConfig, question_facts, scan_report
from checker.report.model import (
    Finding,
    LearnerEntry,
    NotesSection,
    Report,
    RetrainRun,
)
from checker.report.questions import (
    QuestionPolicy,
    add_questions,
    key_terms,
    round_language,
    texts_to_read,
    with_questions,
)
from checker.report.verdicts import evidence_runs
from checker.report.wording import in_language
from checker.report.writers import refresh_verdicts, write_report

D2L = Path(__file__).parent / "data" / "d2l_0_17_6_torch_ch3.py"
# d2l's names -> the learner's
RENAMED = {"train_epoch_ch3": "run_one_epoch", "train_ch3": "fit_model", "evaluate_accuracy": "test_acc_of",
           "Accumulator": "Totals", "Animator": "LivePlot", "accuracy": "n_correct"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _copied_d2l() -> str:
    """A learner file: d2l's helpers with every helper renamed, its own imports on top."""
    helpers = D2L.read_text(encoding="utf-8").split("\n\n\n", 1)[1]
    for old, new in RENAMED.items():
        helpers = re.sub(rf"\b{old}\b", new, helpers)
    return "import torch\nfrom IPython import display\nfrom d2l import torch as d2l\n\n\n" + helpers


@pytest.fixture(scope="module")
def d2l_scan(tmp_path_factory) -> tuple[Report, Path]:
    """ann copied d2l's helpers (renamed), ben copied ann, cat wrote her own; the public d2l
    file is indexed as a corpus source."""
    tmp = tmp_path_factory.mktemp("d2l")
    public = tmp / "public" / "d2l"
    public.mkdir(parents=True)
    shutil.copy(D2L, public / "torch.py")
    index = tmp / "index"
    added = CliRunner().invoke(cli, ["corpus", "add", f"dir:{public.parent}", "--index", str(index)])
    assert added.exit_code == 0, added.output
    # ben copied d2l too, under other names, with his own lines between the helpers: his file
    # matches d2l (and ann) in several regions
    ben = _copied_d2l().replace("fit_model", "train_all").replace("run_one_epoch", "one_pass")
    ben = ben.replace("\n\nclass Totals", "\n\nSEED = 1234\ntorch.manual_seed(SEED)\n\nclass Totals")
    ben = ben.replace("\n\ndef one_pass", "\n\nprint('helpers loaded at', SEED * 7)\n\ndef one_pass")
    ben = ben.replace("\n\ndef train_all", "\n\nlearning_rate, epochs = 0.1, 10\n\ndef train_all")
    root = write_round(tmp / "round", {"ann/train.py": _copied_d2l(), "ben/main.py": ben,
                                       "cat/eval.py": INDEPENDENT})
    report = scan_report(ScanConfig(round_dir=root, index_dir=index, notes=False, jobs=1))
    return report, root


def _verdict(report: Report, learner: str):
    return next(v for v in report.verdicts if v.learner == learner)


def _learner_text(root: Path, learner: str, path: str) -> list[str]:
    return (root / learner / path).read_text(encoding="utf-8").split("\n")


def test_a_renamed_copy_of_d2l_helpers_is_asked_about_by_the_learners_own_function_and_a_matched_constant(d2l_scan):
    report, root = d2l_scan
    verdict = _verdict(report, "ann")
    # ann's file matches d2l and ben's copy on the same lines: both items are asked about
    corpus = {i for i, e in enumerate(verdict.evidence) if e.kind == "corpus"}
    asked = verdict.questions
    assert any(q.evidence in corpus for q in asked), [q.text for q in asked]
    pair = next(p for p in report.pairs if p.source == "corpus" and p.left == "ann")
    regions = [(f.left_start_line, f.left_end_line) for f in evidence_runs(pair)]
    lines = _learner_text(root, "ann", "train.py")

    functions = [q for q in asked if q.kind == "function"]
    assert functions
    for q in functions:
        name = re.search(r"`([\w.]+)`", q.texts["en"]).group(1)
        assert name in RENAMED.values()  # the learner's own name, the def on the quoted line
        assert re.match(rf"(def|class) {name}\b", q.quote)
        assert f"`{name}`" in q.texts["zh"]
    for q in asked:  # d2l's names are never put in the learner's mouth
        for text in q.texts.values():
            assert not any(re.search(rf"\b{old}\b", text) for old in RENAMED), text

    constants = [q for q in asked if q.kind == "constant"]
    assert constants
    for q in constants:
        first, last = q.lines
        assert any(a <= first <= b for a, b in regions)  # inside the matched lines
        call = re.search(r"`([^`]+)`\. Why", q.texts["en"]).group(1)
        value = re.search(r"Why `([^`]+)`", q.texts["en"]).group(1)
        written = " ".join(" ".join(lines[first - 1 : last]).split())
        assert value in written and call.split("(")[0] in written
        assert q.quote.split("\n")[0] == lines[first - 1].strip()
    assert any("`Totals(3)`" in q.texts["en"] for q in constants) or any(
        "ylim=[0.3, 0.9]" in q.texts["en"] for q in constants)
    on_corpus = [q for q in asked if q.evidence in corpus]
    assert {q.source for q in on_corpus} == {pair.right} and {q.source_file for q in on_corpus} == {"d2l/torch.py"}


def test_questions_are_the_same_every_time(d2l_scan):
    report, root = d2l_scan
    sources = {}
    for entry in report.files:
        path = root / entry.owner / entry.path
        sources[(entry.owner, entry.path)] = type("Src", (), {"text": path.read_text(encoding="utf-8")})()
    again = report.copy()
    for v in again.verdicts:
        v.questions = []
    add_questions(again, sources, report.lang)
    assert [v.to_dict() for v in again.verdicts] == [v.to_dict() for v in report.verdicts]


def test_questions_made_with_the_files_read_in_worker_processes_are_the_same(d2l_scan, monkeypatch):
    """The scan reads the libCST facts of the questioned files in forked workers (question_facts,
    from 32 files; here from 1): the questions are the same as with every file read here."""
    import checker.pipeline.scan as scan_module

    report, _ = d2l_scan
    monkeypatch.setattr(scan_module, "_PARALLEL_FACTS_MIN_FILES", 1)
    facts = question_facts(report, 2)
    assert facts and set(facts) == set(texts_to_read(report))
    in_workers, here = report.copy(), report.copy()
    for r in (in_workers, here):
        for v in r.verdicts:
            v.questions = []
    add_questions(in_workers, None, report.lang, facts=facts)
    add_questions(here, None, report.lang)
    assert [v.to_dict() for v in in_workers.verdicts] == [v.to_dict() for v in here.verdicts]
    assert any(v.questions for v in here.verdicts)


def test_a_learner_who_wrote_their_own_code_is_asked_nothing(d2l_scan):
    report, _ = d2l_scan
    assert _verdict(report, "cat").questions == []


def test_each_region_asks_about_function_constants_shape_and_a_line_to_remove(round_dir):
    model = '''import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 10, 5)
        self.fc = nn.Linear(320, 10)

    def forward(self, x):
        x = torch.relu(torch.max_pool2d(self.conv(x), 2))
        x = x.view(-1, 320)
        return self.fc(x)


def train(net, loader, optimizer, loss_fn):
    net.train()
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(net(inputs), targets)
        loss.backward()
        optimizer.step()
'''
    # ben's own lines between the model and the training loop: two matched regions
    ben = model.replace("Net", "Model").replace("\n\ndef train", "\n\nprint('model ready', 2024 * 365)\n\ndef train")
    root = round_dir({"ann/model.py": model, "ben/net.py": ben})
    # a textbook CNN is in the shipped list of code everyone writes: not evidence, unless asked
    report = scan_report(ScanConfig(round_dir=root, notes=False, jobs=1, common=False))
    verdict = _verdict(report, "ann")
    [pair] = report.pairs
    regions = [(f.left_start_line, f.left_end_line) for f in evidence_runs(pair)]
    assert len(regions) == 2
    kinds = [q.kind for q in verdict.questions]
    assert kinds == ["function", "constant", "shape", "function", "removal"], kinds
    lines = model.split("\n")
    for q in verdict.questions:
        assert q.file == "model.py" and q.source == "ben" and q.source_file == "net.py"
        assert q.quote.split("\n")[0] == lines[q.lines[0] - 1].strip()
        assert q.evidence == 0 and verdict.evidence[0].kind == "code"
        assert any(a <= q.lines[0] <= b for a, b in regions)
    by_kind = {q.kind: q for q in verdict.questions}
    assert "your class `Net` (model.py lines 5–14)" in verdict.questions[0].text
    assert "your function `train` (model.py lines 17–23)" in verdict.questions[3].text
    assert "`nn.Conv2d(1, 10, 5)`" in by_kind["constant"].text and "`1`, `10` and `5`" in by_kind["constant"].text
    assert "What shape does `x` have after model.py:13 (`x = x.view(-1, 320)`)" in by_kind["shape"].text
    assert "model.py:20 (`optimizer.zero_grad()`) were removed" in by_kind["removal"].text


def test_a_region_with_nothing_to_parse_asks_which_part_they_wrote(round_dir):
    plain = "\n".join(f"text_{i} = source_{i}.strip().lower().replace(old_{i}, new_{i})"
                      for i in range(12)) + "\n"
    root = round_dir({"ann/clean.py": plain, "ben/tidy.py": plain})
    report = scan_report(ScanConfig(round_dir=root, notes=False, jobs=1))
    [q] = _verdict(report, "ann").questions
    [pair] = report.pairs
    [run] = evidence_runs(pair)
    a, b = run.left_start_line, run.left_end_line
    assert q.kind == "own_part" and q.lines == [a, b] and q.source_lines == [run.right_start_line, run.right_end_line]
    assert q.text == (f"clean.py lines {a}–{b}: the same code as ben's tidy.py lines {a}–{b}. Which part "
                      f"did you write yourself, and how do you explain the match?")
    assert q.texts["zh"] == (f"clean.py 第 {a}–{b} 行与 ben 的 tidy.py 第 {a}–{b} 行是同一段代码。"
                             "哪些部分是你自己写的？两份代码为什么会一样？")


def test_code_libcst_cannot_parse_is_still_asked_about_by_its_own_names(round_dir):
    py2 = """import numpy as np


def normalise_batch(images, mean, std):
    print "normalising", len(images)
    scaled = np.clip(images / 255.0, 0, 1)
    centred = (scaled - mean) / std
    return centred.reshape(-1, 3, 32, 32)


def make_kernel(size):
    grid = np.linspace(-1.5, 1.5, size)
    print "kernel", size
    return np.exp(-grid ** 2 / 0.8)
"""
    root = round_dir({"ann/prep.py": py2, "ben/prep2.py": py2})
    report = scan_report(ScanConfig(round_dir=root, notes=False, jobs=1, common=False))
    questions = _verdict(report, "ann").questions
    kinds = {q.kind: q for q in questions}
    assert "function" in kinds and re.search(r"`(normalise_batch|make_kernel)`", kinds["function"].text)
    call = re.search(r"`([^`]+)`\. Why `", kinds["constant"].text).group(1)
    assert call in py2 and call.startswith(("centred.reshape(", "np.clip(", "np.linspace("))


def _rule_report() -> Report:
    report = Report(
        learners=[LearnerEntry("dave", ["train.py"])],
        pairs=[],
        findings=[Finding("NS201", "error", "torchvision.models.resnet18(pretrained=True) loads pretrained "
                          "weights", "train.py", 8, 27, "dave", 0, "pretrained-weights"),
                  Finding("NS202", "error", "a ready-made model from a model zoo", "train.py", 8, 11, "dave",
                          0, "model-zoo"),
                  Finding("NS401", "error", "no Conv2d layer in any of the 1 parsed code files", ".", 0, 0,
                          "dave", 0, "required-layer-missing")],
    )
    refresh_verdicts(report)
    return report


TRAIN = "import torch\nfrom torchvision import models\n\n\n\n\ndef build():\n    net = models.resnet18(pretrained=True)\n"


def test_a_rule_finding_is_asked_about_with_the_rule_and_the_line():
    report = _rule_report()
    source = type("Src", (), {"text": TRAIN})()
    add_questions(report, {("dave", "train.py"): source}, "en")
    questions = _verdict(report, "dave").questions
    assert [q.kind for q in questions] == ["rule", "rule"]  # one per line: NS202 shares NS201's
    assert questions[0].text == ("`models.resnet18(pretrained=True)` at train.py:8: where do these "
                                 "weights come from, and what does the task say about them?")
    assert questions[0].texts["zh"] == ("train.py 第 8 行的 `models.resnet18(pretrained=True)`："
                                        "这些权重是从哪里来的？任务对此有什么规定？")
    assert questions[0].quote == "net = models.resnet18(pretrained=True)" and questions[0].lines == [8, 8]
    assert questions[1].file == "" and questions[1].lines == []  # NS401: the submission as a whole
    assert "Which layer did you use instead" in questions[1].text


def test_a_rule_finding_without_the_file_text_still_names_the_line():
    report = _rule_report()
    add_questions(report)  # report.json alone: the file is in no pair, its text is not kept
    first = _verdict(report, "dave").questions[0]
    assert first.text.startswith("train.py:8: where do these weights come from") and first.quote == ""


def test_retrain_asks_for_the_claimed_figure_the_reproduced_one_and_the_gap():
    report = Report(learners=[LearnerEntry("ann")], pairs=[], retrain={
        "ann": RetrainRun.from_dict(_retrain_result(
            "not_reproduced", "reached 0.52, claimed 0.71", "ann", claimed=0.71, reached=0.52, gap=-0.19,
            claim_source="README.md"))})
    refresh_verdicts(report)
    add_questions(report)
    [q] = _verdict(report, "ann").questions
    assert q.kind == "retrain"
    assert q.text == ("You report test_accuracy 0.71 (README.md); the re-run reached 0.52, a gap of -0.19. "
                      "How did you get 0.71: which settings, which run, and can you show its log?")
    assert all(x in q.texts["zh"] for x in ("0.71", "0.52", "-0.19", "复现"))


def test_copied_notes_ask_to_explain_the_paragraphs_concept_in_their_own_words():
    text = ("Batch Normalization normalizes the inputs of each layer over a mini-batch, which reduces "
            "internal covariate shift. With Batch Normalization the network tolerates larger learning "
            "rates and the normalization also acts as a regularizer.")
    notes = _notes_section()
    notes["learners"][2]["paragraphs"] = [_paragraph(
        "dan", "notes.md", 0, (4, 6), text, "copied",
        corpus_match=_match("verbatim", 0.95, "pypi:d2l==1.0.3", "chapter_bn.md", (20, 22)))]
    report = Report(learners=[LearnerEntry("dan", notes_files=["notes.md"])], pairs=[],
                    notes=NotesSection.from_dict(notes))
    refresh_verdicts(report)
    add_questions(report)
    [q] = _verdict(report, "dan").questions
    assert q.kind == "notes" and q.file == "notes.md" and q.lines == [4, 6] and q.source_lines == [20, 22]
    assert "Batch Normalization" in q.text and "from pypi:d2l==1.0.3 chapter_bn.md without a citation" in q.text
    assert "Explain that idea in your own words" in q.text
    assert "请不看笔记，用你自己的话把这个概念讲一遍" in q.texts["zh"] and "Batch Normalization" in q.texts["zh"]


def test_key_terms_name_the_idea_of_english_and_chinese_paragraphs():
    assert key_terms("I started with two convolution layers because the images are only 32x32 pixels; "
                     "a third layer shrank them.", 2) == ["convolution layers", "images"]
    zh = "批量归一化（Batch Normalization）在每个小批量上对每一层的输入做标准化，使训练更稳定，神经网络也能用更大的学习率。"
    terms = key_terms(zh, 3)
    assert terms[0] == "Batch Normalization" and all(CJK.search(t) for t in terms[1:])


def test_the_cap_takes_every_evidence_items_first_question_before_any_second():
    report = Report.from_dict(small_round_report())
    add_questions(report, policy=QuestionPolicy(per_learner=3))
    ann = _verdict(report, "ann")
    full = Report.from_dict(small_round_report())
    firsts = []
    for q in _verdict(full, "ann").questions:
        if q.evidence not in [f.evidence for f in firsts]:
            firsts.append(q)
    assert [q.to_dict() for q in ann.questions] == [q.to_dict() for q in firsts[:3]]
    assert len({q.evidence for q in ann.questions}) == 3


def test_the_default_language_is_the_round_notes_language():
    zh = _notes_section()
    zh["learners"][2]["paragraphs"][0]["text"] = "我用了两个卷积层，因为图片只有 32x32 像素；第三层会把特征图缩得太小。"
    assert round_language(Report(learners=[], pairs=[], notes=NotesSection.from_dict(zh))) == "zh"
    en = _notes_section()
    en["learners"][0]["paragraphs"] = []
    assert round_language(Report(learners=[], pairs=[], notes=NotesSection.from_dict(en))) == "en"
    assert round_language(Report(learners=[], pairs=[])) == "en"  # no notes


def test_every_question_is_written_in_english_and_in_chinese(d2l_scan):
    report, _ = d2l_scan
    questions = [q for v in report.verdicts for q in v.questions]
    assert report.lang == "en" and all(q.text == q.texts["en"] for q in questions)
    for q in questions:
        assert set(q.texts) == {"en", "zh"}
        assert CJK.search(q.texts["zh"]) and not CJK.search(q.texts["en"])
    switched = in_language(report, "zh")
    assert switched.lang == "zh" and report.lang == "en"  # a copy: the scan's report is unchanged
    assert [q.text for v in switched.verdicts for q in v.questions] == [q.texts["zh"] for q in questions]


def test_scan_lang_zh_writes_chinese_questions_to_report_json(round_dir, tmp_path):
    root = round_dir({"ann/a.py": _copied_d2l(), "ben/b.py": _copied_d2l()})
    result = CliRunner().invoke(cli, ["scan", str(root), "--no-notes", "--lang", "zh", "-o",
                                      str(tmp_path / "out"), "-q", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    report = Report.from_dict(__import__("json").loads((tmp_path / "out" / "report.json").read_text()))
    questions = _verdict(report, "ann").questions
    assert report.lang == "zh" and questions and all(q.text == q.texts["zh"] for q in questions)
    sheet = (tmp_path / "out" / "questions" / "L01.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in sheet and "复核问题" in sheet


@pytest.fixture(scope="module")
def written(d2l_scan, tmp_path_factory) -> Path:
    report, _ = d2l_scan
    out = tmp_path_factory.mktemp("written")
    write_report(report, out)
    return out


def test_cli_prints_a_learners_sheet_in_the_language_asked(written):
    runner = CliRunner()
    en = runner.invoke(cli, ["report", str(written / "report.json"), "--questions", "ann"])
    assert en.exit_code == 0, en.output
    assert en.output.startswith("Review questions · ann (risk: high)\n")
    assert "1. [" in en.output and "evidence: train.py" in en.output and "notes: ____" in en.output
    zh = runner.invoke(cli, ["report", str(written / "report.json"), "--questions", "ann", "--lang", "zh"])
    assert zh.exit_code == 0 and zh.output.startswith("复核问题 · ann（风险：高）\n")
    assert "证据：train.py 第" in zh.output and "run_one_epoch" in zh.output
    assert not (written / "index.html").exists()  # --questions prints, it writes no pages


def test_cli_questions_of_an_anonymised_learner_name_nobody(written):
    result = CliRunner().invoke(cli, ["report", str(written / "report.json"), "--questions", "L01",
                                      "--anonymise"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Review questions · L01 (risk: high)")
    assert "L02's main.py" in result.output
    assert not re.search(r"\b(ann|ben|cat)\b", result.output)


def test_cli_questions_of_an_unknown_learner_exits_2_naming_it(written):
    result = CliRunner().invoke(cli, ["report", str(written / "report.json"), "--questions", "zoe"])
    assert result.exit_code == 2 and "no learner 'zoe' in the report (learners: ann, ben, cat)" in result.output


def test_cli_prints_learner_controlled_text_with_controls_escaped(tmp_path):
    evil = "ev\x1b[31mil"
    report = _rule_report()
    report.learners[0].id = evil
    for f in report.findings:
        f.learner = evil
        f.path = "tr\u202eain.py"
    refresh_verdicts(report)
    add_questions(report)
    write_report(report, tmp_path)
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "report.json"), "--questions", evil])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "ev\\x1b[31mil" in result.output and "tr\\u202eain.py" in result.output


def test_html_sheets_are_linked_from_the_learner_page_and_anonymised_with_the_report(written, tmp_path):
    out = tmp_path / "html"
    result = CliRunner().invoke(cli, ["report", str(written / "report.json"), "-o", str(out), "--anonymise"])
    assert result.exit_code == 0, result.output
    assert 'href="../questions/L01.html"' in (out / "learners" / "L01.html").read_text(encoding="utf-8")
    for page in (out / "questions").glob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"(?<![\w-])(ann|ben|cat)(?![\w-])", html), page
    sheet = (out / "questions" / "L01.html").read_text(encoding="utf-8")
    assert 'id="questions-L01"' in sheet and "run_one_epoch" in sheet and "q-notes" in sheet
    assert "http://" not in sheet and "https://" not in sheet  # offline: nothing to fetch
    single = tmp_path / "single"
    CliRunner().invoke(cli, ["report", str(written / "report.json"), "-o", str(single), "--single-file"])
    index = (single / "index.html").read_text(encoding="utf-8")
    assert 'href="#questions-L01"' in index and 'id="questions-L01"' in index


def test_a_report_written_without_questions_gets_them_when_rendered(written, tmp_path):
    import json

    data = json.loads((written / "report.json").read_text(encoding="utf-8"))
    for v in data["verdicts"]:
        del v["questions"]
    del data["lang"]
    old = tmp_path / "old"
    old.mkdir()
    (old / "report.json").write_text(json.dumps(data), encoding="utf-8")
    report = Report.from_dict(data)
    assert not any(v.questions for v in report.verdicts)
    regenerated = with_questions(report)
    assert not any(v.questions for v in report.verdicts)  # the report handed in is unchanged
    assert _verdict(regenerated, "ann").questions
    result = CliRunner().invoke(cli, ["report", str(old / "report.json"), "--questions", "ann"])
    assert result.exit_code == 0 and "run_one_epoch" in result.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _pdf(page: Path, pdf: Path) -> list[str]:
    """The text of each page of `page` printed to PDF by headless Chromium."""
    from pypdf import PdfReader

    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--no-pdf-header-footer", f"--user-data-dir={pdf.parent / 'profile'}",
                    f"--print-to-pdf={pdf}", page.as_uri()],
                   check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    raw = pdf.read_bytes()
    reader = PdfReader(pdf)
    assert len(re.findall(rb"/Type\s*/Page(?!s)", raw)) == len(reader.pages)
    return [p.extract_text() for p in reader.pages]


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed: `apt-get install -y chromium`")
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_question_sheet_prints_one_page_per_learner(written, tmp_path, lang):
    out = tmp_path / "html"
    result = CliRunner().invoke(cli, ["report", str(written / "report.json"), "-o", str(out), "--lang", lang])
    assert result.exit_code == 0, result.output
    report = with_questions(Report.from_dict(__import__("json").loads(
        (written / "report.json").read_text(encoding="utf-8"))), lang)
    asked = [v for v in report.verdicts if v.questions]
    assert len(asked) == 2 and all(len(v.questions) == 8 for v in asked)  # full sheets
    pages = _pdf(out / "questions" / "all.html", tmp_path / "all.pdf")
    assert len(pages) == len(asked)
    for text, verdict in zip(pages, asked):  # each page: one learner, every question, legible
        flat = "".join(text.split())
        assert verdict.learner in text and "8." in flat and "9." not in flat
        assert all("".join(q.quote.split()) in flat for q in verdict.questions)  # code is ASCII
        if lang == "en":
            assert f"Review questions · {verdict.learner}" in text
    [one] = _pdf(out / "questions" / "L03.html", tmp_path / "cat.pdf")  # cat: nothing to ask
    assert "cat" in one
