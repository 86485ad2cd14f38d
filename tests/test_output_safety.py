"""What a learner names their folder and files is hostile: a spreadsheet formula in the CSVs, a
bidi override in the HTML, rich markup or an escape sequence in the terminal. One real scan of a
hostile round (the CLI, HTML on), then its CSVs, pages and terminal view are read back."""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_round
from rich.console import Console

from checker.cli.main import cli
from checker.report.html import render_csv
from checker.report.html.filters import name_filter, plain_filter, text_filter
from checker.report.html.pages import _environment
from checker.report.safetext import csv_cell, csv_row, visible_controls
from checker.report.terminal import render_terminal

RLO = "\u202e"
FORMULA = '=HYPERLINK("evil.example?x","click")'  # a folder name: no slash
AT_FORMULA = "@SUM(1+1)"
DASH = "-rf"
MARKUP = "[bold red]mallory"
BIDI_FILE = f"evil{RLO}gnp.py"  # shows as "evilyp.png" when not isolated
CODE = ("def area(w, h):\n    total = 0\n    for i in range(w):\n        for j in range(h):\n"
        "            total = total + i * j + w - h\n    return total * 2 + sum([w, h, w * h])\n"
        "\n\ndef perimeter(w, h):\n    values = [w, h, w, h]\n    return sum(values) + len(values) - 4\n")


@pytest.fixture(scope="module")
def hostile_scan(tmp_path_factory) -> tuple[Path, dict]:
    """A round whose learner ids are formulas and markup and whose file name holds U+202E,
    scanned by the CLI with HTML; the report is re-rendered with `checker report --csv`."""
    tmp = tmp_path_factory.mktemp("hostile")
    root = write_round(tmp / "round", {f"{FORMULA}/{BIDI_FILE}": CODE,
                                       f"{AT_FORMULA}/model.py": CODE.replace("total", "acc"),
                                       f"{DASH}/+train.py": CODE.replace("values", "vals"),
                                       f"{MARKUP}/m.py": CODE})
    out = tmp / "report"
    result = CliRunner().invoke(cli, ["scan", str(root), "-o", str(out), "-q", "--no-notes"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["report", str(out / "report.json"), "--csv"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {lr["id"] for lr in report["learners"]} == {FORMULA, AT_FORMULA, DASH, MARKUP}
    return out, report


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --- CSV: formulas neutralised, numbers kept ------------------------------------------------

def test_formula_learner_ids_in_pairs_csv_start_with_a_quote(hostile_scan):
    out, _ = hostile_scan
    rows = _rows(out / "pairs.csv")
    ids = {r["left"] for r in rows} | {r["right"] for r in rows}
    assert "'" + FORMULA in ids and "'" + AT_FORMULA in ids and "'" + DASH in ids
    assert MARKUP in ids  # text that no spreadsheet runs is written as it is
    assert not {FORMULA, AT_FORMULA, DASH} & ids
    files = {r["left_file"] for r in rows} | {r["right_file"] for r in rows}
    assert "'+train.py" in files and BIDI_FILE in files  # the CSV keeps U+202E: it is data
    for row in rows:
        assert float(row["similarity"]) > 0 and int(row["longest_lines"]) > 0  # still numbers


def test_formula_learner_ids_in_learners_csv_start_with_a_quote(hostile_scan):
    out, _ = hostile_scan
    rows = _rows(out / "learners.csv")
    by_id = {r["learner"]: r for r in rows}
    assert set(by_id) == {"'" + FORMULA, "'" + AT_FORMULA, "'" + DASH, MARKUP}
    assert by_id["'" + FORMULA]["learner"].startswith("'=")
    for row in rows:
        float(row["score"])  # numbers stay numbers
        int(row["code_files"])


def test_every_csv_writer_neutralises_formula_cells_but_not_numbers(tmp_path):
    report = {"learners": [], "pairs": [], "verdicts": [],
              "findings": [{"learner": "=cmd|' /C calc'!A0", "path": "@x.py", "line": 3, "col": -1,
                            "cell": 0, "code": "NS201", "severity": "error", "title": "t",
                            "message": "+1 is not allowed"}]}
    written = render_csv(report, tmp_path)
    rows = _rows(tmp_path / "findings.csv")
    assert sorted(p.name for p in written) == ["findings.csv", "learners.csv", "pairs.csv"]
    assert rows[0]["learner"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["path"] == "'@x.py" and rows[0]["message"] == "'+1 is not allowed"
    assert rows[0]["line"] == "3" and rows[0]["col"] == "-1"  # an int we write is no text cell
    assert csv_cell(-0.5) == -0.5 and csv_cell(3) == 3
    assert csv_row(["\tx", "\rx", "x=1", ""]) == ["'\tx", "'\rx", "x=1", ""]


# --- HTML: names isolated, bidi controls visible --------------------------------------------

class _Texts(HTMLParser):
    """Every text node with the tags open around it, and every attribute value."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.texts: list[tuple[tuple[str, ...], str]] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.attributes += [v or "" for _, v in attrs]
        if tag not in ("meta", "br", "input", "circle", "rect", "line", "link"):
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.attributes += [v or "" for _, v in attrs]

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        self.texts.append((tuple(self.stack), data))


def _parse(html: str) -> _Texts:
    parser = _Texts()
    parser.feed(html)
    return parser


def test_bidi_file_name_renders_inside_bdi_with_the_escape_visible(hostile_scan):
    out, _ = hostile_scan
    pages = {p: p.read_text(encoding="utf-8") for p in out.rglob("*.html")}
    shown = [p for p, html in pages.items() if "gnp.py" in html]
    assert out / "index.html" in shown and any(p.parent.name == "pairs" for p in shown)
    expected = ('<bdi class="name">evil<span class="ctl" title="U+202E RIGHT-TO-LEFT OVERRIDE">'
                '\\u202e</span>gnp.py</bdi>')
    for path in shown:
        html = pages[path]
        assert RLO not in html, path  # not in text nodes, attributes or data: links
        assert expected in html, path
        for stack, text in _parse(html).texts:
            if "gnp.py" in text or text.startswith("evil"):
                assert "bdi" in stack, (path, stack, text)


def test_learner_ids_render_isolated_and_escaped_in_every_page(hostile_scan):
    out, _ = hostile_scan
    index = (out / "index.html").read_text(encoding="utf-8")
    escaped = FORMULA.replace('"', "&#34;")
    assert f'<bdi class="name">{escaped}</bdi>' in index
    assert f'<bdi class="name">{MARKUP}</bdi>' in index
    seen = 0
    for path in out.rglob("*.html"):
        parsed = _parse(path.read_text(encoding="utf-8"))
        for stack, text in parsed.texts:
            if text in (FORMULA, AT_FORMULA, DASH, MARKUP) and "text" not in stack:
                assert stack[-1] == "bdi", (path, stack, text)  # svg <text> labels: plain
                seen += 1
    assert seen > 20


def test_filters_escape_controls_for_markup_attributes_and_text():
    assert str(name_filter("a\u202eb")) == ('<bdi class="name">a<span class="ctl" '
                                            'title="U+202E RIGHT-TO-LEFT OVERRIDE">\\u202e</span>b</bdi>')
    assert str(name_filter("<x>\t")) == ('<bdi class="name">&lt;x&gt;<span class="ctl" '
                                         'title="U+0009">\\x09</span></bdi>')
    assert str(text_filter("x\ty\n\x1b[2J")) == ('x\ty\n<span class="ctl" title="U+001B">\\x1b</span>'
                                                  '[2J')
    assert plain_filter("a\u2066b\u200f") == "a\\u2066b\\u200f"
    page = _environment().from_string('<a title="{{ n|plain }}">{{ n|name }}</a>').render(n='"\u061c')
    assert "\u061c" not in page and 'title="&#34;\\u061c"' in page
    assert visible_controls("plain name.py") == "plain name.py"


# --- terminal -------------------------------------------------------------------------------

def test_terminal_view_shows_ids_as_typed_and_bidi_controls_as_escapes(hostile_scan):
    _, report = hostile_scan
    report = json.loads(json.dumps(report))
    report["findings"] = [{"learner": MARKUP, "path": BIDI_FILE, "line": 1, "col": 1,
                           "code": "NS201", "severity": "error",
                           "message": "[blink]boo\x1b[2J"}]
    buffer = io.StringIO()
    render_terminal(report, Console(file=buffer, width=400, force_terminal=True,
                                    color_system="truecolor"), top=50)
    shown = buffer.getvalue()
    assert RLO not in shown and "\\u202egnp.py" in shown
    assert MARKUP in shown  # printed, not parsed as a style
    assert "[blink]boo\\x1b[2J" in shown and "\x1b[2J" not in shown
    assert FORMULA in shown and AT_FORMULA in shown
