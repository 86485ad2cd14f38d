"""Both sides of a corpus match: a scan with a corpus index copies the matched public lines (with
context, within one cap per report) into report.json, and the pair page shows them beside the
learner's file with source, version, path, licence and URL, anonymised or not; the overview's
analysis table says which corpora were used and whether anything matched."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_scan_corpus import COPIED, INDEPENDENT, PUBLIC

from checker import defaults
from checker.cli.main import cli
from checker.cli.report import report as report_command
from checker.corpus.excerpts import ExcerptBudget, excerpt, public_excerpts, wanted_ranges
from checker.corpus.index import CorpusIndex

# a second public helper, far below the first in the same file, that another learner copies
TRAINER = '''

def train_epoch(net, train_iter, loss, updater):
    """Train a model for one epoch (the book's chapter 3 loop)."""
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]
'''
TRAINER_COPY = ("import torch\n\n" + TRAINER.replace("train_epoch", "one_epoch").replace("metric", "acc")
                .replace("updater", "opt").replace("y_hat", "out"))
HEADER = "".join(f"# public header line {i}\n" for i in range(1, 41))
FILLER = "".join(f"CONSTANT_{i} = {i}\n" for i in range(60))
PUBLIC_FILE = HEADER + PUBLIC + "\n" + FILLER + TRAINER + "\n# the end\n"
URL = "https://github.com/d2l-ai/d2l-zh"


def build_dir_corpus(tmp: Path) -> tuple[Path, str]:
    """A corpus index in `tmp` of one dir: source holding PUBLIC_FILE; (index folder, source spec)."""
    (tmp / "public" / "d2lmini").mkdir(parents=True)
    (tmp / "public" / "d2lmini" / "torch.py").write_text(PUBLIC_FILE)
    index = tmp / "index"
    added = CliRunner().invoke(cli, ["corpus", "add", f"dir:{tmp / 'public'}", "--index", str(index),
                                     "--licence", "MIT-0", "--url", URL, "--no-notes", "-q"])
    assert added.exit_code == 0, added.output
    return index, f"dir:{tmp / 'public'}"


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory) -> tuple[Path, str]:
    return build_dir_corpus(tmp_path_factory.mktemp("corpus"))


def _scan(round_dir, index: Path, out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(cli, ["scan", str(round_dir), "--index", str(index), "-o", str(out),
                                      "-q", *extra])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text())


def _public_line(number: int) -> str:
    return PUBLIC_FILE.split("\n")[number - 1]


def _side(page: str, side: str) -> str:
    """The text of one side's code box of a pair page (tags removed)."""
    box = re.search(rf'<div class="side side-{side}">(.*?)</div>\s*(?=<div class="side|</div>\s*</div>)',
                    page, flags=re.DOTALL)
    assert box, side
    return re.sub(r"<[^>]+>", "", box.group(1))


def test_corpus_match_carries_the_public_lines_into_report_json_and_the_pair_page(
        tmp_path, round_dir, corpus_index):
    index, spec = corpus_index
    root = round_dir({"ann/utils.py": COPIED, "ben/eval.py": INDEPENDENT})
    report = _scan(root, index, tmp_path / "out")
    (pair,) = [p for p in report["pairs"] if p["source"] == "corpus"]
    assert pair["right"] == spec and pair["right_file"] == "d2lmini/torch.py"
    assert {k: pair["right_meta"][k] for k in ("version", "licence", "url", "path")} == {
        "version": "", "licence": "MIT-0", "url": URL, "path": "d2lmini/torch.py"}  # a folder has no version
    text = pair["right_text"]
    assert text["lines"] == PUBLIC_FILE.count("\n") and text["cut_lines"] == 0
    assert text["context"] == defaults.REPORT_CORPUS_CONTEXT_LINES
    # the public lines themselves, numbered as the fragments number them, context included
    first = min(f["right_start_line"] for f in pair["fragments"])
    last = max(f["right_end_line"] for f in pair["fragments"])
    (block,) = text["blocks"]
    assert block["start_line"] == first - defaults.REPORT_CORPUS_CONTEXT_LINES
    assert len(block["lines"]) == last - first + 1 + 2 * defaults.REPORT_CORPUS_CONTEXT_LINES
    for n, line in enumerate(block["lines"], block["start_line"]):
        assert line == _public_line(n)
    assert "class Accumulator:" in block["lines"] and "# public header line 1" not in block["lines"]

    page = (tmp_path / "out" / "pairs" / "pair-0001.html").read_text()
    right, left = _side(page, "right"), _side(page, "left")
    assert "class Accumulator:" in right and "def evaluate_accuracy(net, data_iter):" in right
    assert "class Counter:" in left and "class Accumulator" not in left  # the learner's renamed copy
    for shown in (spec, "d2lmini/torch.py", "MIT-0", URL, "not matched (not in report.json)",
                  '<tr><th>version</th><td><bdi class="name">unknown</bdi></td></tr>'):
        assert shown in page, shown
    assert "is in the corpus index, not in report.json" not in page
    # every fragment link has its target on the public side
    assert set(re.findall(r'href="#(p1-R\d+)"', page)) <= set(re.findall(r'id="(p1-R\d+)"', page))

    # the anonymised view keeps the public side (it is not a learner) and hides the learner
    anon = tmp_path / "anon"
    result = CliRunner().invoke(report_command, [str(tmp_path / "out" / "report.json"), "-o", str(anon),
                                                 "--anonymise"])
    assert result.exit_code == 0, result.output
    anon_page = next(p.read_text() for p in (anon / "pairs").glob("*.html") if spec in p.read_text())
    assert "class Accumulator:" in _side(anon_page, "right")
    for shown in (spec, "MIT-0", URL):
        assert shown in anon_page
    assert not re.search(r"(?<![\w-])ann(?![\w-])", re.sub(r'<div class="code".*?</div></div>', "",
                                                            anon_page, flags=re.DOTALL))


def test_public_text_is_capped_per_report_strongest_match_first_and_the_page_marks_the_cut(
        tmp_path, round_dir, corpus_index, monkeypatch):
    index, _ = corpus_index
    root = round_dir({"ann/utils.py": COPIED, "cat/loop.py": TRAINER_COPY, "ben/eval.py": INDEPENDENT})
    whole = _scan(root, index, tmp_path / "whole", "--no-html")
    corpus = [p for p in whole["pairs"] if p["source"] == "corpus"]
    assert len(corpus) == 2 and all(p["right_text"]["cut_lines"] == 0 for p in corpus)
    kept = [sum(len(b["lines"]) for b in p["right_text"]["blocks"]) for p in corpus]

    cap = kept[0] + kept[1] // 2
    monkeypatch.setattr(defaults, "REPORT_CORPUS_TEXT_MAX_LINES", cap)
    capped = _scan(root, index, tmp_path / "capped")
    pairs = [p for p in capped["pairs"] if p["source"] == "corpus"]
    assert [(p["left"], p["left_file"]) for p in pairs] == [(p["left"], p["left_file"]) for p in corpus]
    strong, weak = (p["right_text"] for p in pairs)
    assert strong == corpus[0]["right_text"]  # the strongest match keeps all its lines
    assert sum(len(b["lines"]) for b in weak["blocks"]) == cap - kept[0]
    assert weak["cut_lines"] == kept[1] - (cap - kept[0])
    assert sum(len(b["lines"]) for p in pairs for b in p["right_text"]["blocks"]) == cap

    number = capped["pairs"].index(pairs[1]) + 1
    page = (tmp_path / "capped" / "pairs" / f"pair-{number:04d}.html").read_text()
    assert f"✂ {weak['cut_lines']} matched line(s) of this public file were cut" in page
    assert 'class="seg gap cut"' in page and "cut: report.json holds a limited number" in page
    key = f"p{number}"
    assert set(re.findall(rf'href="#({key}-R\d+)"', page)) <= set(re.findall(rf'id="({key}-R\d+)"', page))
    first_page = (tmp_path / "capped" / "pairs" / f"pair-{capped['pairs'].index(pairs[0]) + 1:04d}.html")
    assert "✂" not in first_page.read_text()


def test_the_budget_counts_bytes_shortens_long_lines_and_merges_context():
    lines = [f"line {i}" for i in range(1, 101)]
    assert wanted_ranges([(10, 12), (15, 20), (60, 60)], 3, 100) == [(7, 23), (57, 63)]
    assert wanted_ranges([(1, 2), (99, 100)], 3, 100) == [(1, 5), (96, 100)]

    budget = ExcerptBudget(max_lines=1000, max_bytes=10 * 8, line_chars=400, context=0)
    first = excerpt(lines, [(1, 5)], budget)  # "line 1\n" is 7 bytes, "line 10\n" 8
    second = excerpt(lines, [(10, 20)], budget)
    assert first.blocks == [(1, lines[0:5])] and first.cut_lines == 0
    assert second.blocks == [(10, lines[9:14])] and second.cut_lines == 6
    assert excerpt(lines, [(30, 30)], budget).cut_lines == 1  # spent: nothing after fits

    wide = ["x" * 5000, "short"]
    shortened = excerpt(wide, [(1, 2)], ExcerptBudget(line_chars=40, context=0))
    assert shortened.blocks == [(1, ["x" * 40 + " …", "short"])]


def test_a_document_the_index_no_longer_holds_gets_no_text(corpus_index):
    index, spec = corpus_index
    with CorpusIndex.open(index) as opened:
        found = public_excerpts(opened, [(spec, "d2lmini/torch.py", [(50, 52)]),
                                         (spec, "gone.py", [(1, 3)]), ("pypi:nothing==1", "x.py", [(1, 1)])])
    assert found[0] is not None and found[0].blocks[0][1][3] == _public_line(50)
    assert found[1:] == [None, None]


def test_analysis_table_tells_no_corpus_from_nothing_matched(tmp_path, round_dir, corpus_index,
                                                              monkeypatch):
    index, spec = corpus_index
    clean = round_dir({"ben/eval.py": INDEPENDENT, "dan/main.py": "print('hello')\n"})
    monkeypatch.chdir(tmp_path)  # no fingerprints/ here: the scan has no corpus index
    monkeypatch.delenv(defaults.CORPUS_INDEX_ENV, raising=False)
    result = CliRunner().invoke(cli, ["scan", str(clean), "-o", str(tmp_path / "none"), "-q"])
    assert result.exit_code == 0, result.output
    assert "corpus" not in json.loads((tmp_path / "none" / "report.json").read_text())
    without = (tmp_path / "none" / "index.html").read_text()
    assert "no corpus index: public code was not checked" in without
    assert "no notes corpus: notes were compared between learners only" in without

    report = _scan(clean, index, tmp_path / "checked")
    assert report["corpus"]["sources"] == [{"source": spec, "version": "", "licence": "MIT-0", "url": URL}]
    checked = (tmp_path / "checked" / "index.html").read_text()
    row = re.search(r"<td>public code \(corpus index\)</td>(.*?)</tr>", checked, flags=re.DOTALL).group(1)
    assert "ran" in row and spec in row and "nothing matched" in row
    assert "public code was not checked" not in checked

    matched = _scan(round_dir({"ann/utils.py": COPIED}), index, tmp_path / "matched")
    assert [p["source"] for p in matched["pairs"]] == ["corpus"]
    page = (tmp_path / "matched" / "index.html").read_text()
    assert re.search(r"compared with 1 source\(s\) of [^<]*: [^<]*; 1 file pair\(s\) matched", page)


def test_analysis_table_names_the_notes_corpus_and_its_sources(tmp_path):
    from test_render_fixtures import small_round_report

    from checker.report.html import render_html

    report = small_round_report()
    render_html(report, tmp_path / "without")
    page = (tmp_path / "without" / "index.html").read_text()
    assert "no notes corpus: notes were compared between learners only" in page
    report["notes_corpus"] = {"path": "fingerprints/notes", "sources": [
        {"source": "d2l-zh", "documents": 181, "url": "https://zh.d2l.ai", "licence": "Apache-2.0"}]}
    render_html(report, tmp_path / "with")
    page = (tmp_path / "with" / "index.html").read_text()
    row = re.search(r"<td>public notes \(notes corpus\)</td>(.*?)</tr>", page, flags=re.DOTALL).group(1)
    assert "ran" in row and "d2l-zh (181 documents)" in row and "1 paragraph(s) matched" in row
    row = re.search(r"<td>public code \(corpus index\)</td>(.*?)</tr>", page, flags=re.DOTALL).group(1)
    assert "pypi:d2l==1.0.3" in row and "1 file pair(s) matched" in row
