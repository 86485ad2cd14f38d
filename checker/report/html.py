"""The HTML report for review meetings (and its CSV export), rendered from report.json alone.

    report dict ─► anonymise_report() (optional) ─► build_context(): a documented view-model
    ─► jinja2 templates in reports/templates ─► index.html + one page per learner and per pair
    (or one index.html with everything, `single_file=True`)

Everything a page shows is decided here, in Python: numbers are formatted, links resolved,
histogram bins counted, clusters found and the cluster graph laid out (each cluster a circle in
spectral order: deterministic, and the page needs no JS library). The sections other stages fill
(notes, retrain) are read in the shapes their modules write (`normalise_notes`,
`normalise_retrain`). The templates only read the context fields documented in
docs/report-schema.md (`autoescape=True`, `StrictUndefined`: a misspelt field fails the render
instead of printing nothing).

The pages are self-contained and offline: CSS and JS are inlined, a Content-Security-Policy meta
tag forbids every network request (`default-src 'none'`), and the only `http(s)://` strings are
links a person clicks (a corpus document's URL). Page file names are numbers, never learner ids
or paths, so a hostile file name cannot escape the output folder.
"""

from __future__ import annotations

import dataclasses

import csv
import functools
import io
import json
import math
import os
import re
import tempfile
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from checker import defaults
from checker.report.writers import ReportError, pairs_csv
from checker.report.safetext import control_escape, control_name, csv_row, unsafe_pattern, visible_controls
from checker.report.verdicts import RISK_ORDER

# The policy of every page: nothing may be fetched; inline CSS/JS and data: images only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
# Fragment colours: report.css defines classes c0..c7.
FRAGMENT_COLOURS = 8
RETRAIN_STATUS_WORDS = {
    "reproduced": "reproduced", "not_reproduced": "not reproduced", "over_budget": "over budget",
    "failed": "failed", "timed_out": "timed out", "skipped": "skipped",
}
NOT_RUN = "not run"
FINDINGS_CSV_COLUMNS = ["learner", "path", "line", "col", "cell", "code", "severity", "title",
                        "message"]
LEARNERS_CSV_COLUMNS = ["learner", "risk", "score", "code_files", "notes_files", "rule_errors",
                        "notes_own_words_share", "retrain_status", "reasons"]


# ---------------------------------------------------------------------------------------------
# The view-model. Every field a template reads is declared here (docs/report-schema.md lists
# them); hrefs are relative to the output folder and are written `{{ page.root }}{{ x.href }}`.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LearnerRef:
    """A learner as a link: `name` is the id, or its code (L01...) when anonymised."""

    name: str
    href: str  # "" when the learner has no page (not in report.learners)
    risk: str  # high | medium | low | none


@dataclass(frozen=True)
class PairRow:
    """One file pair as a table row and as the header of its pair view."""

    number: int  # 1-based rank in report.pairs (most similar first)
    key: str  # "p12": prefix of the element ids of this pair's view
    section_id: str  # "pair-0012": the id of the pair's section in a single-file report
    href: str
    left: LearnerRef
    left_file: str
    right: LearnerRef  # for a corpus match: the corpus source id, href ""
    right_file: str
    source: str  # learner | corpus
    similarity_pct: str
    left_coverage_pct: str
    right_coverage_pct: str
    longest_lines: int
    fragment_count: int
    attributed: bool
    attribution: str
    hot: bool  # similarity at or above the suspicious threshold


@dataclass(frozen=True)
class LearnerPairRow:
    left: LearnerRef
    right: LearnerRef
    similarity_pct: str
    left_coverage_pct: str
    right_coverage_pct: str
    longest_lines: int
    files: int
    hot: bool


@dataclass(frozen=True)
class VerdictRow:
    """A learner ranked by risk, with the checker's reasons in words."""

    rank: int
    learner: LearnerRef
    risk: str
    score_pct: str
    reasons: list[str]
    code_files: int
    notes_files: int
    rule_errors: int
    notes_own_words: str  # "64%" or "not run"
    retrain_status: str  # a RETRAIN_STATUS_WORDS value or "not run"


@dataclass(frozen=True)
class HistogramBin:
    label: str  # "50–60%"
    count: int
    x: float
    y: float
    width: float
    height: float
    label_x: float  # where the count is written, above the bar
    label_y: float
    hot: bool  # the bin is at or above the suspicious threshold


@dataclass(frozen=True)
class Histogram:
    title: str
    total: int
    note: str  # what is not counted (pairs below the report's minimum similarity)
    width: int
    height: int
    baseline_y: float
    axis_x1: float
    axis_x2: float
    tick_y: float
    max_count: int
    bins: list[HistogramBin]
    ticks: list[tuple[float, str]]  # (x, label) under the axis
    threshold_x: float
    threshold_label_x: float
    threshold_label: str


@dataclass(frozen=True)
class GraphNode:
    learner: LearnerRef
    x: float
    y: float
    label_x: float
    label_y: float
    label_rotate: float  # degrees, about (label_x, label_y): labels radiate from the circle
    label_anchor: str  # start | end (end on the circle's left half, so text reads upright)
    title: str


@dataclass(frozen=True)
class GraphEdge:
    x1: float
    y1: float
    x2: float
    y2: float
    width: float
    kind: str  # code | notes
    title: str


@dataclass(frozen=True)
class Cluster:
    number: int
    size: int
    learners: list[LearnerRef]
    max_similarity_pct: str
    kinds: str  # "code", "notes" or "code and notes"


@dataclass(frozen=True)
class Graph:
    width: int
    height: int
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    clusters: list[Cluster]
    rule: str  # which pairs became edges, in words


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    text: str
    cell: int  # notebook code cell that starts at this line, else 0


@dataclass(frozen=True)
class FragmentAnchor:
    """The start of a fragment on one side: the element id and the link to the other side."""

    id: str
    number: int
    css: str
    data_key: str  # "p12-3", as on the fragment's segments
    partner_href: str
    label: str  # "fragment 2 · 58 tokens · right lines 7–57"


@dataclass(frozen=True)
class Segment:
    """Consecutive lines inside the same fragment (or outside every fragment)."""

    fragment: int  # 0: not matched
    css: str  # "plain" or "frag c3"
    data_key: str  # "p12-3": the same on both sides, for hover highlighting; "" when plain
    anchors: list[FragmentAnchor]
    lines: list[Line]


@dataclass(frozen=True)
class CodeSide:
    side: str  # left | right
    owner: LearnerRef
    path: str
    details: str  # "libcst · utf-8 · 57 lines · 458 tokens"
    has_text: bool
    missing_reason: str
    segments: list[Segment]
    range_anchors: list[FragmentAnchor]  # without text: one per fragment, its lines as the label


@dataclass(frozen=True)
class FragmentRow:
    number: int
    css: str
    data_key: str
    left_lines: str
    right_lines: str
    tokens: int
    left_href: str
    right_href: str


@dataclass(frozen=True)
class CorpusSource:
    source: str
    path: str
    version: str
    licence: str
    url: str  # shown as a plain link a person clicks; "" when unknown
    other: list[tuple[str, str]]


@dataclass(frozen=True)
class PairView:
    row: PairRow
    fragments: list[FragmentRow]
    left: CodeSide
    right: CodeSide
    corpus: CorpusSource | None


@dataclass(frozen=True)
class FileRow:
    path: str
    kind: str
    parser: str
    encoding: str
    lines: int
    tokens: int
    cells: int


@dataclass(frozen=True)
class FindingRow:
    learner: LearnerRef
    code: str
    severity: str
    title: str
    message: str
    location: str  # "train.py:12:4" or "train.py cell 3 line 12:4"


@dataclass(frozen=True)
class PassageRow:
    """A paragraph of the learner's notes that comes from somewhere, beside that source."""

    file: str
    lines: str
    kind: str  # verbatim | edited | reworded | translated
    status: str  # copied | cited | shared (checker.notes.findings.ParagraphVerdict), "copied" when not given
    text: str
    source: LearnerRef  # a corpus source (href "") or another learner
    source_path: str
    source_span: str
    source_url: str  # a plain link a person clicks; "" when unknown
    source_excerpt: str  # the source paragraph's start, shown beside the learner's text
    similarity_pct: str
    cited: bool
    citation: str  # how it is cited ("link in paragraph", ...)
    suggestion: str  # what the learner could do


@dataclass(frozen=True)
class NotesPassagePair:
    kind: str
    similarity_pct: str
    left_where: str
    left_text: str
    right_where: str
    right_text: str


@dataclass(frozen=True)
class NotesPairRow:
    left: LearnerRef
    right: LearnerRef
    similarity_pct: str
    summary: str
    passages: list[NotesPassagePair]


@dataclass(frozen=True)
class NotesView:
    state: str  # "ran" | "not run" | "no entry" (the section ran, this learner has no result)
    own_words_pct: str
    words: str  # words of notes judged, "" when unknown
    risk: str
    needs_attention: bool
    reasons: list[str]
    passages: list[PassageRow]
    shared: list[NotesPairRow]


@dataclass(frozen=True)
class MetricRow:
    name: str
    claimed: str
    reached: str


@dataclass(frozen=True)
class RetrainView:
    state: str  # "ran" | "not run" | "no entry"
    status: str  # raw status, used as a CSS class
    status_words: str
    reason: str
    metrics: list[MetricRow]
    gap: str
    params: str  # counted in the re-run
    claimed_params: str
    max_params: str
    budget: str  # "545,098 of 20,000,000 allowed (3% of the budget)" or ""
    over_budget: bool
    facts: list[tuple[str, str]]  # command, duration, memory, target, tolerance, warnings...
    log_tail: str


@dataclass(frozen=True)
class WarningRow:
    learner: LearnerRef
    path: str
    kind: str
    reason: str


@dataclass(frozen=True)
class LearnerView:
    key: str  # element id of the learner's section, "learner-L03"
    pairs_table_id: str  # element id of the learner's file-pair table
    learner: LearnerRef
    verdict: VerdictRow
    files: list[FileRow]
    notes_files: list[str]
    other_files: list[str]
    pairs: list[PairRow]
    learner_pairs: list[LearnerPairRow]
    findings_state: str  # "ran" | "not run"
    findings: list[FindingRow]
    notes: NotesView
    retrain: RetrainView
    warnings: list[WarningRow]


@dataclass(frozen=True)
class SectionState:
    name: str
    state: str  # "ran" | "not run"
    summary: str


@dataclass(frozen=True)
class DownloadLink:
    name: str  # file name offered to the browser
    href: str  # data: URI, or "" when too large to embed
    note: str


@dataclass(frozen=True)
class Overview:
    headline: str
    facts: list[tuple[str, str]]
    sections: list[SectionState]
    verdicts: list[VerdictRow]
    risk_counts: list[tuple[str, int]]
    file_histogram: Histogram
    learner_histogram: Histogram
    graph: Graph
    learner_pairs: list[LearnerPairRow]  # the most similar REPORT_OVERVIEW_MAX_PAIRS
    learner_pairs_left_out: int  # learner pairs not listed here (on the learner pages)
    pairs: list[PairRow]  # the most similar REPORT_OVERVIEW_MAX_PAIRS
    pairs_left_out: int  # file pairs not listed here (on the learner pages, pair pages, pairs.csv)
    notes_pairs: list[NotesPairRow]
    findings_state: str
    findings: list[FindingRow]
    warnings: list[WarningRow]
    downloads: list[DownloadLink]


@dataclass(frozen=True)
class Page:
    """What base.html reads on every page."""

    title: str
    kind: str  # overview | learner | pair | single
    root: str  # prefix that makes an output-relative href work from this page: "" or "../"
    index_href: str  # "index.html" or "#overview"
    css: object  # Markup: the inlined stylesheet
    js: object  # Markup: the inlined script
    csp: str
    tool_version: str
    created: str
    anonymised: bool
    single_file: bool


@dataclass(frozen=True)
class ReportContext:
    """The whole view-model of a report: the overview plus every learner and pair view."""

    overview: Overview
    learners: list[LearnerView]
    pairs: list[PairView]
    anonymised: bool
    single_file: bool
    tool_version: str
    created: str


# ---------------------------------------------------------------------------------------------
# Sections filled by other stages, read in either of their shapes
# ---------------------------------------------------------------------------------------------

def _lines_of_span(span) -> tuple[int, int]:
    if isinstance(span, dict):
        return int(span.get("start_line", 0) or 0), int(span.get("end_line", 0) or 0)
    if isinstance(span, (list, tuple)) and len(span) >= 2:
        return int(span[0] or 0), int(span[1] or 0)
    return 0, 0


def normalise_notes(notes) -> dict:
    """report["notes"] in the one shape the pages read (docs/report-schema.md, "notes"):

        {"learners": {learner: {own_words_share, words, risk, needs_attention, reasons[],
                                passages[{file, start_line, end_line, text, kind, status, source,
                                          source_is_learner, source_path, source_span,
                                          source_url, source_excerpt, similarity, cited,
                                          citation, suggestion}]}},
         "pairs": [{left, right, similarity, summary,
                    passages[{left_file, left_start_line, left_end_line, left_text, right_file,
                              right_start_line, right_end_line, right_text, kind, similarity}]}]}

    Accepts that shape (keys may be missing) and the shape of `checker.notes.findings.NotesReport.to_dict()`
    (learners as a list with `own_share` and `paragraphs`, `shared` passages between learners).
    Anything else gives an empty section ("not run").
    """
    if not isinstance(notes, dict):
        return {"learners": {}, "pairs": []}
    raw_learners = notes.get("learners") or {}
    learners: dict[str, dict] = {}
    paragraph_text: dict[tuple[str, str, int], tuple[str, int, int]] = {}
    if isinstance(raw_learners, list):  # checker.notes.findings.NotesReport
        for entry in raw_learners:
            if not isinstance(entry, dict) or not entry.get("learner"):
                continue
            passages = []
            for par in entry.get("paragraphs") or []:
                if not isinstance(par, dict):
                    continue
                start, end = _lines_of_span(par.get("span"))
                paragraph_text[(entry["learner"], str(par.get("path", "")), par.get("index"))] = (
                    str(par.get("text", "")), start, end)
                if par.get("status") in (None, "own", "not_judged", "handout", "not_prose"):
                    continue  # handout text and code/formulas/tables are no one's passages
                match = par.get("corpus_match") or par.get("learner_match") or {}
                src = match.get("source") or {}
                s_start, s_end = _lines_of_span(src.get("span"))
                passages.append({
                    "file": str(par.get("path", "")), "start_line": start, "end_line": end,
                    "text": str(par.get("text", "")), "kind": str(match.get("kind", "")),
                    "status": str(par.get("status", "")), "source": str(src.get("source", "")),
                    "source_is_learner": not par.get("corpus_match") and bool(par.get("learner_match")),
                    "source_path": str(src.get("path", "")),
                    "source_span": f"lines {_range(s_start, s_end)}" if s_start else "",
                    "source_url": str(src.get("url", "") or ""),
                    "source_excerpt": str(src.get("excerpt", "") or ""),
                    "similarity": match.get("score"), "cited": bool(match.get("cited")),
                    "citation": str(match.get("citation", "") or ""),
                    "suggestion": str(par.get("suggestion", "") or "")})
            learners[entry["learner"]] = {
                "own_words_share": entry.get("own_share"), "words": entry.get("words"),
                "risk": entry.get("risk", ""), "needs_attention": bool(entry.get("needs_attention")),
                "reasons": [str(f.get("message", "")) for f in entry.get("findings") or []
                            if isinstance(f, dict)],
                "passages": passages}
    elif isinstance(raw_learners, dict):  # the brief's shape, keyed by learner
        for lid, entry in raw_learners.items():
            if not isinstance(entry, dict):
                continue
            passages = []
            for ps in entry.get("passages") or []:
                if not isinstance(ps, dict):
                    continue
                span = ps.get("source_span")
                if isinstance(span, (list, tuple)):
                    span = "lines " + "–".join(str(x) for x in span)
                elif isinstance(span, dict):
                    a, b = _lines_of_span(span)
                    span = f"lines {_range(a, b)}" if a else ""
                passages.append({**ps, "source_span": str(span or ""),
                                 "status": str(ps.get("status", "copied"))})
            learners[str(lid)] = {**entry, "passages": passages,
                                  "reasons": [str(r) for r in entry.get("reasons") or []]}
    pairs: list[dict] = []
    if isinstance(notes.get("shared"), list):  # checker.notes.findings.SharedPassage, one per paragraph
        grouped: dict[tuple[str, str], dict] = {}
        for sp in notes["shared"]:
            if not isinstance(sp, dict) or not sp.get("learner_a") or not sp.get("learner_b"):
                continue
            pair = grouped.setdefault((sp["learner_a"], sp["learner_b"]), {
                "left": sp["learner_a"], "right": sp["learner_b"], "similarity": 0.0,
                "summary": "", "passages": [], "common_sources": set()})
            score = float(sp.get("score", 0) or 0)
            pair["similarity"] = max(pair["similarity"], score)
            if sp.get("common_source"):
                pair["common_sources"].add(str(sp["common_source"]))
            sides = {}
            for side, suffix in (("left", "a"), ("right", "b")):
                key = (sp[f"learner_{suffix}"], str(sp.get(f"path_{suffix}", "")), sp.get(f"index_{suffix}"))
                start, end = _lines_of_span(sp.get(f"span_{suffix}"))
                sides[f"{side}_file"] = key[1]
                sides[f"{side}_start_line"], sides[f"{side}_end_line"] = start, end
                sides[f"{side}_text"] = paragraph_text.get(key, ("", 0, 0))[0]
            pair["passages"].append({**sides, "kind": str(sp.get("kind", "")), "similarity": score})
        for pair in grouped.values():
            common = sorted(pair.pop("common_sources"))
            pair["summary"] = f"{len(pair['passages'])} shared paragraph(s)" + (
                f"; both match {', '.join(common)}: possibly copied from there" if common else "")
            pairs.append(pair)
    for np_ in notes.get("pairs") or []:  # the brief's shape
        if isinstance(np_, dict) and np_.get("left") and np_.get("right"):
            pairs.append(np_)
    return {"learners": learners, "pairs": pairs}


def normalise_retrain(retrain) -> dict[str, dict]:
    """report["retrain"] as {learner: result}; a list of results is keyed by its `learner`
    (or the last part of its `submission` path). Results keep their own keys."""
    if isinstance(retrain, dict):
        return {str(k): v for k, v in retrain.items() if isinstance(v, dict)}
    out = {}
    for entry in retrain or []:
        if isinstance(entry, dict):
            key = entry.get("learner") or Path(str(entry.get("submission", ""))).name
            if key:
                out[str(key)] = entry
    return out


# ---------------------------------------------------------------------------------------------
# Anonymising
# ---------------------------------------------------------------------------------------------

def learner_codes(learner_ids: Iterable[str]) -> dict[str, str]:
    """Stable codes for learners: L01, L02, ... in sorted id order (width grows with the round)."""
    ids = sorted(set(learner_ids))
    width = max(2, len(str(len(ids))))
    return {lid: f"L{n:0{width}d}" for n, lid in enumerate(ids, 1)}


def _mention_replacer(codes: dict[str, str]):
    """A function replacing learner ids in free text (verdict reasons, messages, logs).

    An id counts only as a whole token: `learner-2` inside `learner-20` is left alone.
    """
    if not codes:
        return lambda text: text
    alternation = "|".join(re.escape(i) for i in sorted(codes, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])")

    def replace(text):
        if not isinstance(text, str):
            return text
        return pattern.sub(lambda m: codes[m.group(0)], text)

    return replace


def anonymise_report(report: dict) -> dict:
    """A copy of `report` with every learner id replaced by its code (see `learner_codes`).

    Replaced: id fields (learners, owners, pair sides, verdicts, findings, warnings, notes and
    retrain keys) and mentions in free text (reasons, messages, warnings, logs); the round folder
    is hidden. The notes and retrain sections come back in their normalised shape
    (`normalise_notes`, `normalise_retrain`). Not touched: the learners' own code and notes
    text, which is the evidence (a name in a comment stays visible), and file paths inside a
    submission.
    """
    rep = json.loads(json.dumps(report))
    codes = learner_codes(lr["id"] for lr in rep.get("learners", []))

    def code(name: str) -> str:  # corpus source ids are not learners and pass unchanged
        return codes.get(name, name)

    text = _mention_replacer(codes)
    for lr in rep.get("learners", []):
        lr["id"] = code(lr["id"])
    for f in rep.get("files", []):
        f["owner"] = code(f.get("owner", ""))
    for p in rep.get("pairs", []) + rep.get("learner_pairs", []):
        p["left"], p["right"] = code(p["left"]), code(p["right"])
        if "attribution" in p:
            p["attribution"] = text(p["attribution"])
    for v in rep.get("verdicts", []):
        v["learner"] = code(v["learner"])
        v["reasons"] = [text(r) for r in v.get("reasons", [])]
    for f in rep.get("findings", []) or []:
        f["learner"] = code(f.get("learner", ""))
        f["message"] = text(f.get("message", ""))
    for w in rep.get("warnings", []) or []:
        w["learner"] = code(w.get("learner", ""))
        w["path"] = text(w.get("path", ""))
        w["reason"] = text(w.get("reason", ""))
    notes = normalise_notes(rep.get("notes"))
    renamed = {}
    for lid, entry in notes["learners"].items():
        entry["reasons"] = [text(r) for r in entry.get("reasons", [])]
        for passage in entry.get("passages", []):
            source = passage.get("source", "")
            passage["source"] = code(source) if passage.get("source_is_learner") else text(source)
            passage["suggestion"] = text(passage.get("suggestion", ""))
        renamed[code(lid)] = entry
    notes["learners"] = renamed
    for np_ in notes["pairs"]:
        np_["left"], np_["right"] = code(np_["left"]), code(np_["right"])
        np_["summary"] = text(np_.get("summary", ""))
    rep["notes"] = notes
    renamed = {}
    for lid, entry in normalise_retrain(rep.get("retrain")).items():
        for key in ("reason", "log_tail", "submission", "command", "log_path"):
            if isinstance(entry.get(key), str):
                entry[key] = text(entry[key])
        renamed[code(lid)] = entry
    rep["retrain"] = renamed
    config = rep.get("config") or {}
    for key in ("round_dir", "base_dir"):
        if config.get(key):
            config[key] = "(hidden: anonymised report)"
    return rep


# ---------------------------------------------------------------------------------------------
# Small formatting helpers
# ---------------------------------------------------------------------------------------------

def _pct(x) -> str:
    try:
        return f"{round(100 * float(x))}%"
    except (TypeError, ValueError):
        return "–"


def _num(x) -> str:
    if x is None or x == "":
        return "–"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.0f}" if x.is_integer() and abs(x) >= 1000 else f"{x:.4g}"
    return str(x)


def _range(a: int, b: int) -> str:
    return f"{a}" if a == b else f"{a}–{b}"


def _risk(x) -> str:
    return x if x in RISK_ORDER else "none"


def _link_url(url) -> str:
    """`url` when it is an http(s) address a person may click, else "": a `javascript:` or
    `data:` URL from a corpus manifest must not become a link (the page's CSP allows inline
    script, which covers javascript: URLs)."""
    url = str(url or "").strip()
    return url if re.match(r"https?://[^\s\"'<>]+$", url, re.IGNORECASE) else ""


# ---------------------------------------------------------------------------------------------
# Histogram, clusters and graph layout (pure functions)
# ---------------------------------------------------------------------------------------------

def similarity_histogram(values: list[float], title: str, note: str,
                         bins: int = defaults.REPORT_HISTOGRAM_BINS,
                         threshold: float = defaults.SUSPICIOUS_SIMILARITY,
                         width: int = 460, height: int = 170) -> Histogram:
    """Counts of `values` (0..1) in `bins` equal bins, with SVG geometry for the bars."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(float(v) * bins)))] += 1
    left, right, top, bottom = 34, 20, 18, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    bar_w = plot_w / bins
    peak = max(counts) if counts else 0
    out_bins = []
    for i, c in enumerate(counts):
        h = plot_h * c / peak if peak else 0.0
        lo, hi = round(100 * i / bins), round(100 * (i + 1) / bins)
        x, y = round(left + i * bar_w + 1, 1), round(top + plot_h - h, 1)
        out_bins.append(HistogramBin(f"{lo}–{hi}%", c, x, y, round(bar_w - 2, 1), round(h, 1),
                                     round(x + bar_w / 2 - 1, 1), round(y - 3, 1),
                                     (i + 1) / bins > threshold + 1e-9))
    ticks = [(round(left + i * bar_w, 1), f"{round(100 * i / bins)}")
             for i in range(0, bins + 1, max(1, bins // 5))]
    threshold_x = round(left + threshold * plot_w, 1)
    return Histogram(title, len(values), note, width, height, float(top + plot_h), left - 4,
                     width - right, float(top + plot_h + 14), peak, out_bins, ticks, threshold_x,
                     threshold_x + 3, f"suspicious ≥ {_pct(threshold)}")


def connected_components(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Components (each sorted) of an undirected graph, largest first, then by first member."""
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def circle_order(nodes: list[str], edges: list[tuple[str, str, float]],
                 max_spectral: int = defaults.REPORT_GRAPH_SPECTRAL_MAX_NODES) -> list[str]:
    """The nodes of one cluster in the order they are placed around its circle.

    Spectral ordering (Fiedler 1973; Barnard, Pothen & Simon 1995): sorting by the eigenvector
    of the second-smallest eigenvalue of the weighted graph Laplacian puts strongly linked
    learners next to each other, so sub-groups stay together and chords stay short. The
    eigenvector's sign is fixed (largest component positive) so the picture is deterministic.
    """
    import numpy as np

    n = len(nodes)
    if n <= 3 or n > max_spectral:
        return sorted(nodes)
    index = {name: i for i, name in enumerate(nodes)}
    adjacency = np.zeros((n, n))
    for a, b, w in edges:
        adjacency[index[a], index[b]] = adjacency[index[b], index[a]] = max(w, 1e-3)
    laplacian = np.diag(adjacency.sum(1)) - adjacency
    _, vectors = np.linalg.eigh(laplacian)
    fiedler = vectors[:, 1]
    if fiedler[np.argmax(np.abs(fiedler))] < 0:
        fiedler = -fiedler
    return [nodes[i] for i in sorted(range(n), key=lambda i: (round(float(fiedler[i]), 9), nodes[i]))]


def cluster_graph(learner_pairs: list[dict], notes_pairs: list[dict], refs: dict[str, LearnerRef],
                  threshold: float = defaults.SUSPICIOUS_SIMILARITY,
                  min_similarity: float = defaults.REPORT_GRAPH_MIN_SIMILARITY,
                  width: int = 1200) -> Graph:
    """Learners who share code (or notes) as clusters, each drawn as a circle of learners.

    An edge is a learner pair the verdicts count: similarity >= `min_similarity`, or one side's
    coverage >= `threshold` (a small file copied whole into a big submission). Labels radiate
    outwards from the circle so long learner ids do not overlap.
    """
    weight: dict[tuple[str, str], dict[str, float]] = {}
    for lp in learner_pairs:
        sim = float(lp.get("similarity", 0))
        cover = max(float(lp.get("left_coverage", 0)), float(lp.get("right_coverage", 0)))
        if sim >= min_similarity or cover >= threshold:
            key = tuple(sorted((lp["left"], lp["right"])))
            weight.setdefault(key, {})["code"] = max(sim, weight.get(key, {}).get("code", 0.0))
    for np_ in notes_pairs:
        sim = float(np_.get("similarity", 0) or 0)
        if np_.get("left") and np_.get("right") and sim >= min_similarity:
            key = tuple(sorted((np_["left"], np_["right"])))
            weight.setdefault(key, {})["notes"] = max(sim, weight.get(key, {}).get("notes", 0.0))
    names = sorted({n for key in weight for n in key})
    components = [c for c in connected_components(names, list(weight)) if len(c) > 1]

    def ref(name: str) -> LearnerRef:
        return refs.get(name) or LearnerRef(name, "", "none")

    # Each cluster is drawn around (0, 0) first: the circle (24 px of arc per learner, 2 learners
    # side by side) and labels radiating out (~5.6 px a character at the 10 px label font); its
    # bounding box then becomes a cell, and cells are packed left to right in shelves.
    drawings = []
    for comp in components:
        comp_edges = [(a, b, max(w.values())) for (a, b), w in weight.items() if a in comp]
        order = circle_order(comp, comp_edges)
        radius = max(28.0, len(order) * 24 / (2 * math.pi))
        start = 0.0 if len(order) == 2 else -math.pi / 2
        items, xs, ys = [], [0.0], [0.0]
        for i, name in enumerate(order):
            theta = start + 2 * math.pi * i / len(order)
            cos, sin = math.cos(theta), math.sin(theta)
            reach = radius + 11 + 5.6 * len(ref(name).name)
            items.append((name, theta, radius * cos, radius * sin))
            xs += [radius * cos - 8, radius * cos + 8, reach * cos]
            ys += [radius * sin - 8, radius * sin + 8, reach * sin - 6, reach * sin + 6]
        drawings.append((comp, radius, items, min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    margin = 20
    x = y = shelf_h = used_w = 0.0
    nodes, pos = [], {}
    for comp, radius, items, left, top, box_w, box_h in drawings:
        if x + box_w > width and x > 0:
            x, y, shelf_h = 0.0, y + shelf_h + margin, 0.0
        cx, cy = x + margin - left, y + margin - top
        for name, theta, dx, dy in items:
            pos[name] = (round(cx + dx, 1), round(cy + dy, 1))
            left_half = math.cos(theta) < -1e-9
            degrees = math.degrees(theta)
            nodes.append(GraphNode(
                ref(name), pos[name][0], pos[name][1],
                round(cx + (radius + 11) * math.cos(theta), 1),
                round(cy + (radius + 11) * math.sin(theta), 1),
                round(degrees + 180 if left_half else degrees, 1), "end" if left_half else "start",
                f"{ref(name).name}: {ref(name).risk} risk"))
        x += box_w + margin
        shelf_h = max(shelf_h, box_h + margin)
        used_w = max(used_w, x + margin)
    height = int(y + shelf_h + margin) if components else 60
    edges = []
    for (a, b), kinds in sorted(weight.items()):
        if a not in pos:
            continue
        for kind, sim in sorted(kinds.items()):
            edges.append(GraphEdge(pos[a][0], pos[a][1], pos[b][0], pos[b][1],
                                   round(1 + 4 * sim, 1), kind,
                                   f"{ref(a).name} ↔ {ref(b).name}: {kind} similarity {_pct(sim)}"))
    clusters = []
    for number, comp in enumerate(components, 1):
        sims = [s for (a, b), w in weight.items() if a in comp for s in w.values()]
        kinds = sorted({k for (a, b), w in weight.items() if a in comp for k in w})
        clusters.append(Cluster(number, len(comp), [ref(n) for n in comp], _pct(max(sims)),
                                " and ".join(kinds)))
    rule = (f"an edge joins two learners whose code (or notes) similarity is at least "
            f"{_pct(min_similarity)}, or when {_pct(threshold)} of one side's code is shared")
    # the SVG is as wide as its content (a giant cluster may exceed `width`; CSS scales it down)
    return Graph(int(used_w) if components else width, height, nodes, edges, clusters, rule)


# ---------------------------------------------------------------------------------------------
# Pair views
# ---------------------------------------------------------------------------------------------

def _split_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return [ln.rstrip("\r") for ln in lines]


def code_segments(lines: list[str], spans: list[tuple[int, int, int]], pair_key: str, side: str,
                  partner: str, partner_spans: dict[int, tuple[int, int]],
                  tokens: dict[int, int], cell_lines: list[int]) -> list[Segment]:
    """The lines of one side cut into runs inside one fragment or outside all of them.

    `spans`: (fragment number, first line, last line), 1-based inclusive. A line inside two
    fragments belongs to the lower-numbered one; every fragment still gets its anchor (id and
    link to the other side) at its first line, so links never dangle.
    """
    n = len(lines)
    owner = [0] * (n + 2)
    starts: dict[int, list[int]] = {}
    for number, a, b in sorted(spans):
        a, b = max(1, a), min(n, b)
        if a > b:
            continue
        starts.setdefault(a, []).append(number)
        for ln in range(a, b + 1):
            if not owner[ln]:
                owner[ln] = number
    cells = {ln: i for i, ln in enumerate(cell_lines, 1)} if len(cell_lines) > 1 else {}
    other = "R" if side == "L" else "L"
    segments: list[Segment] = []
    current: Segment | None = None
    for ln in range(1, n + 1):
        frag = owner[ln]
        if current is None or frag != current.fragment or ln in starts:
            anchors = []
            for number in starts.get(ln, []):
                pa, pb = partner_spans[number]
                anchors.append(FragmentAnchor(
                    f"{pair_key}-{side}{number}", number,
                    f"c{(number - 1) % FRAGMENT_COLOURS}", f"{pair_key}-{number}",
                    f"#{pair_key}-{other}{number}",
                    f"fragment {number} · {tokens[number]} tokens · {partner} lines {_range(pa, pb)}"))
            current = Segment(frag, f"frag c{(frag - 1) % FRAGMENT_COLOURS}" if frag else "plain",
                              f"{pair_key}-{frag}" if frag else "", anchors, [])
            segments.append(current)
        current.lines.append(Line(ln, lines[ln - 1], cells.get(ln, 0)))
    return segments


def _corpus_source(pair: dict) -> CorpusSource:
    meta = dict(pair.get("right_meta") or {})
    known = ("version", "licence", "license", "url", "path")
    return CorpusSource(
        source=str(pair.get("right", "")),
        path=str(meta.get("path") or pair.get("right_file", "")),
        version=str(meta.get("version", "") or "unknown"),
        licence=str(meta.get("licence") or meta.get("license") or "unknown"),
        url=_link_url(meta.get("url")),
        other=[(str(k), ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
               for k, v in sorted(meta.items()) if k not in known]
        + ([("url (not a web address)", str(meta["url"]))]
           if meta.get("url") and not _link_url(meta.get("url")) else []),
    )


def _file_details(entry: dict | None) -> str:
    if not entry:
        return ""
    parts = [entry.get("parser", ""), entry.get("encoding", ""), f"{entry.get('lines', 0)} lines",
             f"{entry.get('tokens', 0)} tokens"]
    if len(entry.get("cell_lines") or []) > 1:
        parts.append(f"notebook, {len(entry['cell_lines'])} code cells")
    return " · ".join(p for p in parts if p)


class _Links:
    """Output-relative hrefs of every page, for the multi-page or the single-file layout."""

    def __init__(self, single_file: bool, learner_codes_: dict[str, str]):
        self.single_file = single_file
        self.codes = learner_codes_

    def learner(self, learner_id: str) -> str:
        code = self.codes.get(learner_id)
        if code is None:
            return ""
        return f"#learner-{code}" if self.single_file else f"learners/{code}.html"

    def learner_key(self, learner_id: str) -> str:
        return f"learner-{self.codes[learner_id]}"

    def pair(self, number: int) -> str:
        return f"#pair-{number:04d}" if self.single_file else f"pairs/pair-{number:04d}.html"

    def index(self) -> str:
        return "#overview" if self.single_file else "index.html"


# ---------------------------------------------------------------------------------------------
# build_context: report dict -> view-model
# ---------------------------------------------------------------------------------------------

def build_context(report: dict, *, single_file: bool = False, anonymised: bool = False,
                  csv_embed_max_bytes: int = defaults.REPORT_CSV_EMBED_MAX_BYTES,
                  max_rows: int = defaults.REPORT_OVERVIEW_MAX_PAIRS) -> ReportContext:
    """The view-model of a report dict (already anonymised when `anonymised`).

    Tolerates absent optional sections (findings, notes, retrain, warnings: shown as "not run"
    or empty) and absent optional keys inside them; a missing required field (learners, pairs,
    a pair's sides) raises ReportError naming it.
    """
    try:
        return _build_context(report, single_file, anonymised, csv_embed_max_bytes, max_rows)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ReportError(f"report.json lacks a field this renderer needs, or has it in another "
                          f"shape: {exc.__class__.__name__}: {exc}") from exc


def _build_context(report: dict, single_file: bool, anonymised: bool,
                   csv_embed_max_bytes: int, max_rows: int,
                   max_pair_pages: int = defaults.REPORT_MAX_PAIR_PAGES) -> ReportContext:
    threshold = defaults.SUSPICIOUS_SIMILARITY
    learners = report["learners"]
    ids = [lr["id"] for lr in learners]
    links = _Links(single_file, learner_codes(ids))
    verdict_of = {v["learner"]: v for v in report.get("verdicts") or []}
    if not verdict_of and ids:
        from checker.report.verdicts import learner_verdicts

        verdict_of = {v["learner"]: v for v in learner_verdicts(
            ids, report.get("learner_pairs", []), report["pairs"], report.get("findings"),
            normalise_notes(report.get("notes")), normalise_retrain(report.get("retrain")))}
    refs = {lid: LearnerRef(lid, links.learner(lid), _risk(verdict_of.get(lid, {}).get("risk")))
            for lid in ids}

    def ref(name: str) -> LearnerRef:
        return refs.get(name) or LearnerRef(str(name), "", "none")

    files = {(f["owner"], f["path"]): f for f in report.get("files", [])}

    # --- pairs
    pair_rows: list[PairRow] = []
    pair_views: list[PairView] = []
    line_cache: dict[tuple[str, str], list[str]] = {}

    def lines_of(owner: str, path: str) -> list[str] | None:
        entry = files.get((owner, path))
        if not entry or entry.get("text") is None:
            return None
        key = (owner, path)
        if key not in line_cache:
            line_cache[key] = _split_lines(entry["text"])
        return line_cache[key]

    for number, p in enumerate(report["pairs"], 1):
        source = p.get("source", "learner")
        row = PairRow(
            number=number, key=f"p{number}", section_id=f"pair-{number:04d}", href=links.pair(number), left=ref(p["left"]),
            left_file=p["left_file"],
            right=ref(p["right"]) if source != "corpus" else LearnerRef(str(p["right"]), "", "none"),
            right_file=p.get("right_file", ""), source=source,
            similarity_pct=_pct(p["similarity"]), left_coverage_pct=_pct(p.get("left_coverage")),
            right_coverage_pct=_pct(p.get("right_coverage")),
            longest_lines=int(p.get("longest_lines", 0)), fragment_count=len(p.get("fragments", [])),
            attributed=bool(p.get("attributed")), attribution=str(p.get("attribution", "") or ""),
            hot=float(p["similarity"]) >= threshold)
        if number > max_pair_pages:
            # a huge round: the least similar pairs get no page of their own (pairs.csv and
            # report.json keep them); the row says so instead of linking
            row = dataclasses.replace(row, href="")
        pair_rows.append(row)
        if number <= max_pair_pages:
            pair_views.append(_pair_view(row, p, files, lines_of))

    learner_pair_rows = [LearnerPairRow(
        ref(lp["left"]), ref(lp["right"]), _pct(lp["similarity"]), _pct(lp.get("left_coverage")),
        _pct(lp.get("right_coverage")), int(lp.get("longest_lines", 0)), int(lp.get("files", 0)),
        float(lp["similarity"]) >= threshold) for lp in report.get("learner_pairs", [])]

    # --- optional sections
    findings = report.get("findings") or []
    # a task file ran the rules (report["task"]) even when they found nothing
    findings_state = "ran" if findings or report.get("task") else NOT_RUN
    finding_rows = [_finding_row(f, ref) for f in sorted(
        findings, key=lambda f: ({"error": 0, "warning": 1, "info": 2}.get(f.get("severity"), 3),
                                 str(f.get("learner", "")), str(f.get("path", "")),
                                 int(f.get("line", 0) or 0)))]
    notes = normalise_notes(report.get("notes"))
    notes_learners, notes_pairs_raw = notes["learners"], notes["pairs"]
    notes_state = "ran" if notes_learners or notes_pairs_raw else NOT_RUN
    notes_pair_rows = [_notes_pair_row(np_, ref) for np_ in notes_pairs_raw]
    retrain = normalise_retrain(report.get("retrain"))
    retrain_state = "ran" if retrain else NOT_RUN
    warning_rows = [WarningRow(ref(w.get("learner", "")), str(w.get("path", "")),
                               str(w.get("kind", "skipped")), str(w.get("reason", "")))
                    for w in report.get("warnings", []) or []]

    # --- verdicts, ranked as the report ranks them (risk, then score)
    learner_entry = {lr["id"]: lr for lr in learners}
    ordered = sorted(ids, key=lambda i: (-RISK_ORDER[refs[i].risk],
                                         -float(verdict_of.get(i, {}).get("score", 0) or 0), i))
    verdict_rows: dict[str, VerdictRow] = {}
    errors_of: dict[str, int] = {}
    for f in findings:
        if f.get("severity") == "error":
            errors_of[f.get("learner", "")] = errors_of.get(f.get("learner", ""), 0) + 1
    for rank, lid in enumerate(ordered, 1):
        v = verdict_of.get(lid, {})
        nl = notes_learners.get(lid) if isinstance(notes_learners.get(lid), dict) else None
        rt = retrain.get(lid) if isinstance(retrain.get(lid), dict) else None
        verdict_rows[lid] = VerdictRow(
            rank, refs[lid], refs[lid].risk, _pct(v.get("score", 0)), list(v.get("reasons", [])),
            len(learner_entry[lid].get("code_files", [])),
            len(learner_entry[lid].get("notes_files", [])),
            errors_of.get(lid, 0),
            _pct(nl["own_words_share"]) if nl and nl.get("own_words_share") is not None
            else ("no entry" if notes_state == "ran" else NOT_RUN),
            RETRAIN_STATUS_WORDS.get(rt.get("status"), str(rt.get("status"))) if rt
            else ("no entry" if retrain_state == "ran" else NOT_RUN))

    # --- learner views (rows indexed by learner once: a round of thousands stays linear)
    def by_learner(rows, *sides: str) -> dict[str, list]:
        index: dict[str, list] = {}
        for row in rows:
            for name in dict.fromkeys(getattr(row, side).name for side in sides):
                index.setdefault(name, []).append(row)
        return index

    pairs_of = by_learner(pair_rows, "left", "right")
    learner_pairs_of = by_learner(learner_pair_rows, "left", "right")
    findings_of = by_learner(finding_rows, "learner")
    notes_pairs_of = by_learner(notes_pair_rows, "left", "right")
    warnings_of = by_learner(warning_rows, "learner")
    learner_views = []
    for lid in ids:
        lr = learner_entry[lid]
        learner_views.append(LearnerView(
            key=links.learner_key(lid), pairs_table_id=f"{links.learner_key(lid)}-pairs",
            learner=refs[lid], verdict=verdict_rows[lid],
            files=[_file_row(files[(lid, path)]) if (lid, path) in files
                   else FileRow(path, "code", "–", "–", 0, 0, 0) for path in lr.get("code_files", [])],
            notes_files=list(lr.get("notes_files", [])), other_files=list(lr.get("other_files", [])),
            pairs=pairs_of.get(lid, []), learner_pairs=learner_pairs_of.get(lid, []),
            findings_state=findings_state,
            findings=findings_of.get(lid, []),
            notes=_notes_view(notes_learners.get(lid), notes_state, ref,
                              notes_pairs_of.get(lid, [])),
            retrain=_retrain_view(retrain.get(lid), retrain_state),
            warnings=warnings_of.get(lid, []),
        ))

    # --- overview
    stats = report.get("stats", {}) or {}
    config = report.get("config", {}) or {}
    min_sim = config.get("min_similarity", defaults.MIN_REPORT_SIMILARITY)
    below = f"pairs below {_pct(min_sim)} similarity are not in the report"
    counts = {r: 0 for r in ("high", "medium", "low", "none")}
    for lid in ids:
        counts[refs[lid].risk] += 1
    seconds = stats.get("seconds") or {}
    facts = [
        ("learners", _num(len(ids))),
        ("code files compared", _num(stats.get("files", len(report.get("files", []))))),
        ("candidate file pairs", _num(stats.get("candidate_pairs", "–"))),
        ("file pairs reported", _num(len(pair_rows))),
        ("learner pairs reported", _num(len(learner_pair_rows))),
        ("warnings", _num(len(warning_rows))),
        ("scan time", f"{report.get('elapsed_s', '–')} s"),
        ("created", str(report.get("created", ""))),
        ("round folder", str(config.get("round_dir", "") or "–")),
        ("handout subtracted", str(config.get("base_dir") or "no")),
        ("fingerprints", ", ".join(f"{k}={v}" for k, v in sorted((config.get("fingerprint") or {}).items()))),
    ]
    if seconds:
        facts.append(("stage times", ", ".join(f"{k} {v} s" for k, v in seconds.items())))
    sections = [
        SectionState("code matching", "ran", f"{len(pair_rows)} file pairs, "
                     f"{len(learner_pair_rows)} learner pairs"),
        SectionState("rule checks", findings_state,
                     f"{len(findings)} findings" if findings else "no findings in report.json"),
        SectionState("notes", notes_state,
                     f"{len(notes_learners)} learners' notes, {len(notes_pair_rows)} shared-notes pairs"
                     if notes_state == "ran" else "no notes section in report.json"),
        SectionState("retrain", retrain_state,
                     f"{len(retrain)} learners re-run" if retrain else "no retrain section in report.json"),
    ]
    overview = Overview(
        headline=(f"{len(ids)} learners · {counts['high']} high risk · {counts['medium']} medium · "
                  f"{counts['low']} low · {len(pair_rows)} file pairs"),
        facts=facts, sections=sections,
        verdicts=[verdict_rows[lid] for lid in ordered],
        risk_counts=list(counts.items()),
        file_histogram=similarity_histogram([p["similarity"] for p in report["pairs"]],
                                            "file pairs by similarity", below),
        learner_histogram=similarity_histogram(
            [lp["similarity"] for lp in report.get("learner_pairs", [])],
            "learner pairs by similarity", below),
        graph=cluster_graph(report.get("learner_pairs", []), notes_pairs_raw, refs, threshold),
        learner_pairs=_most_similar(learner_pair_rows, report.get("learner_pairs", []), max_rows),
        learner_pairs_left_out=max(0, len(learner_pair_rows) - max_rows),
        pairs=_most_similar(pair_rows, report["pairs"], max_rows),
        pairs_left_out=max(0, len(pair_rows) - max_rows),
        notes_pairs=notes_pair_rows,
        findings_state=findings_state, findings=finding_rows, warnings=warning_rows,
        downloads=_downloads(report, csv_embed_max_bytes),
    )
    tool = report.get("tool", {}) or {}
    return ReportContext(overview, learner_views, pair_views, anonymised, single_file,
                         str(tool.get("version", "")), str(report.get("created", "")))


def _most_similar(rows: list, raw: list[dict], limit: int) -> list:
    """The `limit` rows whose raw pairs are most similar, most similar first (stable)."""
    order = sorted(range(len(rows)), key=lambda i: (-float(raw[i].get("similarity", 0)), i))
    return [rows[i] for i in order[:limit]]


def _pair_view(row: PairRow, p: dict, files: dict, lines_of) -> PairView:
    frags = sorted(p.get("fragments", []), key=lambda f: (f["left_start_line"], f["right_start_line"]))
    left_spans = [(i, f["left_start_line"], f["left_end_line"]) for i, f in enumerate(frags, 1)]
    right_spans = [(i, f["right_start_line"], f["right_end_line"]) for i, f in enumerate(frags, 1)]
    tokens = {i: int(f.get("tokens", 0)) for i, f in enumerate(frags, 1)}
    key = row.key
    fragment_rows = [FragmentRow(
        i, f"c{(i - 1) % FRAGMENT_COLOURS}", f"{key}-{i}",
        _range(f["left_start_line"], f["left_end_line"]),
        _range(f["right_start_line"], f["right_end_line"]), tokens[i],
        f"#{key}-L{i}", f"#{key}-R{i}") for i, f in enumerate(frags, 1)]
    corpus = _corpus_source(p) if row.source == "corpus" else None

    def side(which: str) -> CodeSide:
        mine, theirs = (left_spans, right_spans) if which == "L" else (right_spans, left_spans)
        partner_of = {i: (a, b) for i, a, b in theirs}
        other_side, partner = ("R", row.right.name) if which == "L" else ("L", row.left.name)
        owner, path = (p["left"], p["left_file"]) if which == "L" else (p["right"], p.get("right_file", ""))
        ref = row.left if which == "L" else row.right
        side_name = "left" if which == "L" else "right"
        entry = files.get((owner, path))
        lines = lines_of(owner, path)
        if lines is not None:
            segments = code_segments(lines, mine, key, which, partner, partner_of, tokens,
                                     list((entry or {}).get("cell_lines") or []))
            return CodeSide(side_name, ref, path, _file_details(entry), True, "", segments, [])
        if corpus is not None and which == "R":
            reason = (f"The text of this corpus document is in the corpus index, not in "
                      f"report.json: see {corpus.source} {corpus.path}"
                      + (f" ({corpus.url})" if corpus.url else "") + ". The matched lines:")
        else:
            reason = "The text of this file is not in report.json. The matched lines:"
        # the fragments' line ranges stand in for the text, and are the targets of the links
        anchors = [FragmentAnchor(
            f"{key}-{which}{i}", i, f"c{(i - 1) % FRAGMENT_COLOURS}", f"{key}-{i}",
            f"#{key}-{other_side}{i}",
            f"fragment {i}: lines {_range(a, b)} · {tokens[i]} tokens · {partner} lines "
            f"{_range(*partner_of[i])}") for i, a, b in mine]
        return CodeSide(side_name, ref, path, _file_details(entry), False, reason, [], anchors)

    return PairView(row, fragment_rows, side("L"), side("R"), corpus)


def _file_row(f: dict) -> FileRow:
    return FileRow(str(f.get("path", "")), str(f.get("kind", "code")), str(f.get("parser", "")),
                   str(f.get("encoding", "")), int(f.get("lines", 0) or 0),
                   int(f.get("tokens", 0) or 0), len(f.get("cell_lines") or []))


def _finding_row(f: dict, ref) -> FindingRow:
    line, col, cell = int(f.get("line", 0) or 0), int(f.get("col", 0) or 0), int(f.get("cell", 0) or 0)
    where = str(f.get("path", ""))
    if cell:
        where += f" cell {cell}"
    if line:
        where += f":{line}:{col}" if not cell else f" line {line}:{col}"
    return FindingRow(ref(f.get("learner", "")), str(f.get("code", "")),
                      str(f.get("severity", "info")), str(f.get("title", "") or ""),
                      str(f.get("message", "")), where)


def _notes_view(entry, state: str, ref, shared: list[NotesPairRow]) -> NotesView:
    """`entry`: one learner of `normalise_notes(...)["learners"]`."""
    if state != "ran":
        return NotesView(NOT_RUN, NOT_RUN, "", "none", False, [], [], [])
    if not isinstance(entry, dict):
        return NotesView("no entry", "–", "", "none", False, [], [], shared)
    passages = []
    for ps in entry.get("passages", []):
        start, end = ps.get("start_line"), ps.get("end_line")
        source = str(ps.get("source", "") or "")
        passages.append(PassageRow(
            file=str(ps.get("file", "")),
            lines=_range(int(start), int(end or start)) if start else "",
            kind=str(ps.get("kind", "")), status=str(ps.get("status", "copied")),
            text=str(ps.get("text", "")),
            source=ref(source) if ps.get("source_is_learner") else LearnerRef(source, "", "none"),
            source_path=str(ps.get("source_path", "") or ""),
            source_span=str(ps.get("source_span", "") or ""),
            source_url=_link_url(ps.get("source_url")),
            source_excerpt=str(ps.get("source_excerpt", "") or ""),
            similarity_pct=_pct(ps["similarity"]) if ps.get("similarity") is not None else "–",
            cited=bool(ps.get("cited")), citation=str(ps.get("citation", "") or ""),
            suggestion=str(ps.get("suggestion", "") or "")))
    share = entry.get("own_words_share")
    words = entry.get("words")
    return NotesView("ran", _pct(share) if share is not None else "–",
                     _num(words) if words is not None else "",
                     _risk(entry.get("risk")), bool(entry.get("needs_attention")),
                     [str(r) for r in entry.get("reasons", []) or []], passages, shared)


def _where(passage: dict, side: str) -> str:
    """"notes.md:3–5" for one side of a shared passage."""
    path = passage.get(f"{side}_file", "")
    a, b = passage.get(f"{side}_start_line"), passage.get(f"{side}_end_line")
    return f"{path}:{_range(int(a), int(b or a))}" if a else str(path)


def _notes_pair_row(np_: dict, ref) -> NotesPairRow:
    passages = []
    for ps in np_.get("passages", []) or []:
        if not isinstance(ps, dict):
            continue

        passages.append(NotesPassagePair(
            str(ps.get("kind", "")),
            _pct(ps["similarity"]) if ps.get("similarity") is not None else "–",
            _where(ps, "left"), str(ps.get("left_text", "")),
            _where(ps, "right"), str(ps.get("right_text", ""))))
    summary = str(np_.get("summary") or np_.get("reason") or
                  f"{len(passages)} shared passage(s)")
    return NotesPairRow(ref(np_.get("left", "")), ref(np_.get("right", "")),
                        _pct(np_.get("similarity", 0) or 0), summary, passages)


def _retrain_view(entry, state: str) -> RetrainView:
    """One result of the retrain section: `claimed`/`reached` are either {metric: value} or one
    value with its `metric` name (checker.retrain.runs.RetrainResult.to_dict())."""
    if state != "ran" or not isinstance(entry, dict):
        label = NOT_RUN if state != "ran" else "no entry"
        return RetrainView(label, "", label, "", [], "", "", "", "", "", False, [], "")
    claimed, reached = entry.get("claimed"), entry.get("reached")
    if isinstance(claimed, dict) or isinstance(reached, dict):
        claimed, reached = claimed or {}, reached or {}
        metrics = [MetricRow(str(m), _num(claimed.get(m)), _num(reached.get(m)))
                   for m in sorted(set(claimed) | set(reached))]
    elif claimed is not None or reached is not None or entry.get("metric"):
        metrics = [MetricRow(str(entry.get("metric") or "metric"), _num(claimed), _num(reached))]
    else:
        metrics = []
    params, max_params = entry.get("params"), entry.get("max_params")
    budget, over = "", False
    if isinstance(params, (int, float)) and isinstance(max_params, (int, float)) and max_params > 0:
        over = params > max_params
        budget = (f"{_num(params)} of {_num(max_params)} allowed ({_pct(params / max_params)} of "
                  f"the budget)" + (" — over budget" if over else ""))
    gap = entry.get("gap")
    if isinstance(gap, dict):
        gap = ", ".join(f"{k} {_num(v)}" for k, v in gap.items())
    facts = []
    for key, label in (("target", "target"), ("tolerance", "tolerance"),
                       ("claim_source", "claim read from"), ("command", "command"),
                       ("duration_s", "run time (s)"), ("peak_memory_mb", "peak memory (MB)"),
                       ("short", "shortened run"), ("log_path", "full log")):
        if entry.get(key) not in (None, "", False):
            facts.append((label, _num(entry[key])))
    for warning in entry.get("warnings") or []:
        facts.append(("warning", str(warning)))
    status = str(entry.get("status", ""))
    return RetrainView("ran", status, RETRAIN_STATUS_WORDS.get(status, status or "–"),
                       str(entry.get("reason", "") or ""), metrics,
                       _num(gap) if gap is not None else "–", _num(params),
                       _num(entry.get("claimed_params")), _num(max_params), budget,
                       over or status == "over_budget", facts, str(entry.get("log_tail", "") or ""))


# ---------------------------------------------------------------------------------------------
# CSV export
# ---------------------------------------------------------------------------------------------

def findings_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FINDINGS_CSV_COLUMNS)
    for f in report.get("findings") or []:
        writer.writerow(csv_row(f.get(c, "") for c in FINDINGS_CSV_COLUMNS))
    return buf.getvalue()


def learners_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(LEARNERS_CSV_COLUMNS)
    learners = {lr["id"]: lr for lr in report.get("learners", [])}
    notes = normalise_notes(report.get("notes"))["learners"]
    retrain = normalise_retrain(report.get("retrain"))
    for v in report.get("verdicts") or []:
        lid = v["learner"]
        lr = learners.get(lid, {})
        nl = notes.get(lid) if isinstance(notes.get(lid), dict) else {}
        rt = retrain.get(lid) if isinstance(retrain.get(lid), dict) else {}
        errors = sum(1 for f in report.get("findings") or []
                     if f.get("learner") == lid and f.get("severity") == "error")
        writer.writerow(csv_row([lid, v.get("risk", ""), v.get("score", ""),
                                 len(lr.get("code_files", [])), len(lr.get("notes_files", [])),
                                 errors, nl.get("own_words_share", ""), rt.get("status", ""),
                                 " | ".join(v.get("reasons", []))]))
    return buf.getvalue()


def csv_exports(report: dict) -> dict[str, str]:
    """File name -> CSV text: pairs (the scan's pairs.csv columns), findings, learners. Every
    writer goes through `checker.report.safetext.csv_row`: a text cell starting with = + - @ tab or CR
    gets a leading `'` so that a spreadsheet shows it instead of running it."""
    return {"pairs.csv": pairs_csv(report), "findings.csv": findings_csv(report),
            "learners.csv": learners_csv(report)}


def _downloads(report: dict, max_bytes: int) -> list[DownloadLink]:
    """The CSV exports as data: links, so even a lone index.html offers them."""
    out = []
    for name, text in csv_exports(report).items():
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            out.append(DownloadLink(name, "", f"{size:,} bytes: too large to embed; "
                                    f"run `checker report REPORT_JSON --csv`"))
        else:
            out.append(DownloadLink(name, "data:text/csv;charset=utf-8," + urllib.parse.quote(text),
                                    f"{text.count(chr(10)) - 1} rows"))
    return out


def render_csv(report: dict, out_dir: Path, *, anonymise: bool = False) -> list[Path]:
    """Write pairs.csv, findings.csv and learners.csv to `out_dir`; returns the paths."""
    if anonymise:
        report = anonymise_report(report)
    out_dir = Path(out_dir)
    written = []
    for name, text in csv_exports(report).items():
        _atomic_write(out_dir / name, text)
        written.append(out_dir / name)
    return written


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

def templates_dir() -> Path:
    """reports/templates in a source checkout, checker/templates in an installed wheel."""
    package = Path(__file__).resolve().parent.parent  # checker/
    for candidate in (package.parent / "reports" / "templates", package / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError(f"HTML templates not found beside {package} (reports/templates)")


def _controls_markup(value, multiline: bool):
    """`value` HTML-escaped, each bidi or C0/C1 control shown as its escape in a `ctl` span."""
    from markupsafe import Markup, escape

    text = str(value)
    pattern = unsafe_pattern(multiline)
    if not pattern.search(text):
        return escape(text)
    parts, last = [], 0
    for match in pattern.finditer(text):
        char = match.group()
        parts.append(escape(text[last:match.start()]))
        parts.append(Markup('<span class="ctl" title="{}">{}</span>').format(
            control_name(char), control_escape(char)))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def name_filter(value):
    """`{{ x|name }}`: a learner id, file path or corpus name, isolated in `<bdi>` (it cannot
    reorder the text around it) with its bidi and C0/C1 controls shown as escapes (`\\u202e`)."""
    from markupsafe import Markup

    return Markup('<bdi class="name">') + _controls_markup(value, False) + Markup("</bdi>")


def text_filter(value):
    """`{{ x|text }}`: learner-written text of several lines (code, a log, a message): controls
    shown as escapes, tab and newline kept."""
    return _controls_markup(value, True)


def plain_filter(value) -> str:
    """`{{ x|plain }}`: where no markup may go (attributes, <title>, SVG text): controls written
    as escapes in the text itself."""
    return visible_controls(value)


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    env.filters.update(name=name_filter, text=text_filter, plain=plain_filter)
    return env


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[object, object]:
    """report.css and report.js, checked to be safe to inline (no closing tag inside)."""
    from markupsafe import Markup

    folder = templates_dir()
    css = (folder / "report.css").read_text(encoding="utf-8")
    js = (folder / "report.js").read_text(encoding="utf-8")
    if re.search(r"</style", css, re.IGNORECASE) or re.search(r"</script", js, re.IGNORECASE):
        raise ValueError("report.css/report.js must not contain a closing </style> or </script>")
    return Markup(css), Markup(js)


def _page(kind: str, title: str, root: str, ctx: ReportContext) -> Page:
    css, js = _assets()
    return Page(title, kind, root, "#overview" if ctx.single_file else "index.html", css, js, CSP,
                ctx.tool_version, ctx.created, ctx.anonymised, ctx.single_file)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is read by others (a share, a stick)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_pages(ctx: ReportContext) -> dict[str, str]:
    """Output-relative file name -> HTML of every page of the report."""
    env = _environment()
    if ctx.single_file:
        page = _page("single", "noshortcut report", "", ctx)
        return {"index.html": env.get_template("single.html").render(page=page, ctx=ctx)}
    pages = {"index.html": env.get_template("overview.html").render(
        page=_page("overview", "noshortcut report: overview", "", ctx), ov=ctx.overview)}
    learner_tpl = env.get_template("learner.html")
    for view in ctx.learners:
        page = _page("learner", f"{view.learner.name}: noshortcut report", "../", ctx)
        pages[view.learner.href] = learner_tpl.render(page=page, view=view)
    pair_tpl = env.get_template("pair.html")
    for view in ctx.pairs:
        row = view.row
        page = _page("pair", f"pair {row.number}: {row.left.name} ↔ {row.right.name}", "../", ctx)
        pages[row.href] = pair_tpl.render(page=page, view=view)
    return pages


def render_html(report: dict, out_dir: Path, *, single_file: bool = False,
                anonymise: bool = False) -> list[Path]:
    """Render the HTML report of `report` into `out_dir`; returns the files written.

    Multi-page (default): index.html, learners/L01.html..., pairs/pair-0001.html...; pages of an
    earlier render that this report no longer has are removed. `single_file`: one index.html
    holding every view. `anonymise`: learners shown as codes (see `anonymise_report`).
    Raises ReportError when the report lacks a field the pages need.
    """
    if anonymise:
        report = anonymise_report(report)
    ctx = build_context(report, single_file=single_file, anonymised=anonymise)
    pages = render_pages(ctx)
    out_dir = Path(out_dir)
    written = []
    for rel, html in pages.items():
        path = out_dir / rel
        _atomic_write(path, html)
        written.append(path)
    keep = {p.resolve() for p in written}
    for folder, pattern in (("learners", "L*.html"), ("pairs", "pair-*.html")):
        for stale in (out_dir / folder).glob(pattern):
            if stale.resolve() not in keep:
                stale.unlink()
    return written


__all__ = [
    "CSP",
    "ReportContext",
    "anonymise_report",
    "build_context",
    "circle_order",
    "cluster_graph",
    "code_segments",
    "csv_exports",
    "learner_codes",
    "render_csv",
    "render_html",
    "render_pages",
    "similarity_histogram",
    "templates_dir",
]
