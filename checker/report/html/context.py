"""The view-model of the HTML report: every field a template reads is declared here.

Frozen dataclasses, built by `checker.report.html.view.build_context` and read by the jinja2
templates in reports/templates, which compute nothing. docs/report-schema.md documents every field
(tests/test_render.py checks that); hrefs are relative to the output folder and are written
`{{ page.root }}{{ x.href }}`.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    # source history: "own earlier work, ROUND" or "earlier round ROUND"; own_work: the former
    history_note: str = ""
    own_work: bool = False


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
class ReasonLine:
    """A reason as the overview's learner table shows it: in full, or folded when many learners
    share it word for word (it is then shown once, above the table)."""

    text: str
    shared_id: str  # "reason-2": the element id of the shared reason; "" when not shared
    shared_number: int  # its number above the table; 0 when not shared
    shared_count: int  # how many learners have it; 0 when not shared


@dataclass(frozen=True)
class SharedReason:
    """A reason at least REPORT_REPEATED_REASON_MIN_LEARNERS learners share word for word."""

    id: str  # "reason-2"
    number: int
    text: str
    count: int
    learners: list[LearnerRef]  # in rank order


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
    reason_lines: list[ReasonLine]  # `reasons` as the overview shows them, strongest first


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
    kind: str  # code | notes | outputs
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
    """Consecutive lines inside the same fragment (or outside every fragment), or a gap: lines
    report.json does not hold (of a public file), said in words."""

    fragment: int  # 0: not matched
    css: str  # "plain", "frag c3", "gap" or "gap cut"
    data_key: str  # "p12-3": the same on both sides, for hover highlighting; "" when plain
    anchors: list[FragmentAnchor]
    lines: list[Line]
    gap: str = ""  # a gap: "lines 1–116 are not in report.json ..."; "" for lines shown


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
    notice: str = ""  # above the code: e.g. lines of a public file cut by the report's cap


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
class OutputRunRow:
    """A run of output lines two notebooks share (a pair of source `outputs`)."""

    number: int
    left_where: str  # "cell 7, output lines 3–14"
    right_where: str
    lines: int
    numbers: int
    digits: str  # "5" or "4–6"; "" when the run holds no figures
    images: int
    left_text: str
    right_text: str  # "" when worded as on the left


@dataclass(frozen=True)
class PairView:
    row: PairRow
    fragments: list[FragmentRow]
    left: CodeSide
    right: CodeSide
    corpus: CorpusSource | None
    outputs: list[OutputRunRow]  # a pair of source `outputs`: the shared runs (no code sides)


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
    status: str  # copied | cited | shared (checker.notes.findings)
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
class NotebookRow:
    """One notebook's outputs as read: counts, execution-count anomalies, the printed metric."""

    path: str
    summary: str  # "9 code cells, 9 run · 14 outputs (2 not read: over the caps) · 3 images"
    anomalies: list[str]  # information, never risk
    printed_metric: str  # "cell 9 prints “test acc 0.987”; the re-run reached ..." or ""
    contradicted: bool


@dataclass(frozen=True)
class WarningRow:
    learner: LearnerRef
    path: str
    kind: str
    reason: str


@dataclass(frozen=True)
class QuestionItem:
    """A review question on the printable sheet, with the evidence it points at."""

    number: int
    kind: str  # what it asks about, in the sheet's language ("function", "函数", ...)
    text: str
    # `text` as (kind, piece): "code" (what its backticks enclose, set apart), "name" (a file,
    # learner or source, isolated like every name) or "text"
    parts: list[tuple[str, str]]
    # where the evidence is, as (is a name, piece): names (learners, files, sources) go through
    # the `name` filter, the words between them through `text`
    where: list[tuple[bool, str]]  # "train.py" " lines 12–30"; [] for the whole submission
    source: list[tuple[bool, str]]  # "also in " "bob" "'s " "main.py" " lines 6–135"; [] for none
    quote: list[Line]  # the learner's line(s) asked about, numbered


@dataclass(frozen=True)
class QuestionSheet:
    """One learner's printable page of review questions (reports/templates/questions.html)."""

    key: str  # "questions-L03": the sheet's element id
    href: str  # questions/L03.html, or #questions-L03 in a single-file report
    learner: LearnerRef
    lang: str  # the HTML lang of the sheet: "en" or "zh-CN"
    title: str  # "Review questions" / "复核问题"
    risk: str  # the risk in the sheet's language
    labels: dict[str, str]  # the sheet's fixed words: evidence, quote, notes, all, learner page
    empty: str  # shown when there is nothing to ask about
    items: list[QuestionItem]


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
    notebooks: list[NotebookRow]  # the learner's notebooks with outputs (report.outputs)
    warnings: list[WarningRow]
    questions_href: str  # the learner's printable question sheet


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
    shared_reasons: list[SharedReason]  # reasons many learners share, most shared first
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
    sheets: list[QuestionSheet]  # every learner's question sheet, in the overview's order
    sheets_href: str  # the page with every sheet that has questions, to print for a meeting
