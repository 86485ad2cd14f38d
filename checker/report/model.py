"""The typed report: `Report` and one section type per analysis, as report.json holds them.

report.json is the contract between the pipeline and every renderer (terminal, CSV, HTML) and
the tools that read it; its fields are documented in docs/report-schema.md and, generated from
these classes, docs/report-schema.json (`checker.report.schema`). Each class declares its fields
in the order report.json writes its keys; `to_dict()` writes exactly that JSON and `from_dict()`
reads it back, checking it (`checker.report.codec`), so that `from_dict(r.to_dict()) == r` and a
report read and written again is the same bytes.

Stdlib dataclasses, not msgspec or pydantic: no new dependency for a file written once per scan
and read once per render; orjson already serialises the plain dicts of `to_dict()` fast (0.12 s
for the 46 MB of a 3,000-file round), and the only validation needed (types, missing and unknown
keys, with the place named) is the small walk over the type hints in `checker.report.codec`,
which also generates the JSON Schema.

Sections filled by other stages are typed here in the shapes their modules write, without
importing those modules (`checker.report` sits beside them in the layers): `notes` is
`checker.notes.findings.NotesReport.to_dict()`, `retrain` maps learners to
`checker.retrain.runs.RetrainResult.to_dict()` (or the short `skipped` entry of a manifest
round), `findings` are `checker.rules.check.Finding.to_dict()`. A key added there must be added
here (from_dict refuses keys it does not know, so a scan test fails loudly instead of the key
silently vanishing from report.json).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from checker import defaults
from checker.report import codec
from checker.report.codec import doc, none_as, optional_key

if TYPE_CHECKING:
    from typing_extensions import Self

_S = TypeVar("_S", bound="Section")


class Section:
    """Base of every report dataclass: `to_dict()` and `from_dict()` through the codec."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        return codec.to_dict(self)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Self:
        """Read `data` (a report.json dict); ReportError names a missing, unknown or mistyped
        field by its place (`pairs[3].left`)."""
        return codec.from_dict(cls, data, path)


# --- meta, config, stats -----------------------------------------------------------------------


@dataclass(slots=True)
class ToolInfo(Section):
    """The checker that wrote the report."""

    name: str
    version: str


@dataclass(slots=True)
class ScanSettings(Section):
    """The scan's settings (`checker.pipeline.scan.ScanConfig.to_dict()`)."""

    round_dir: str
    base_dir: str | None = field(metadata=doc("the handout folder whose code was subtracted"))
    fingerprint: dict[str, int] = field(
        metadata=doc("checker.code.fingerprints.FingerprintParams: k, window, num_perm, seed, ...")
    )
    lsh_threshold: float
    frequent_share: float
    frequent_min_learners: int
    frequent_max_learners: int
    min_fragment_tokens: int
    min_similarity: float = field(metadata=doc("pairs below this similarity are not in the report"))
    task: str | None = field(metadata=doc("the task file (rules, retrain)"))
    retrain: bool
    retrain_short: bool
    notes: bool
    index: str | None = field(metadata=doc("the corpus index folder"))
    common: bool = field(
        default=True, metadata=doc("the shipped common-code list was used (--common/--no-common)")
    )


@dataclass(slots=True)
class Stats(Section):
    """Counts of the code matching and its stage times."""

    files: int
    learners: int
    candidate_pairs: int
    matched_pairs: int
    ignored_kgrams: int
    common_kgrams_shipped: int = field(
        metadata=doc(
            "k-grams of this round found in the shipped common-code list: runs of them weigh nothing"
        )
    )
    common_kgrams_list: int = field(
        metadata=doc("the shipped list's size; 0 when --no-common, missing or built for other parameters")
    )
    seconds: dict[str, float] = field(metadata=doc("wall time of each stage, in seconds"))
    expected_source_pairs: int | None = field(
        default=None, metadata=optional_key("with a task's [sources].expected: corpus pairs marked expected")
    )


# --- learners, files, pairs ----------------------------------------------------------------------


@dataclass(slots=True)
class LearnerEntry(Section):
    """A submission: `id` is its folder (or zip) name."""

    id: str
    code_files: list[str] = field(default_factory=list)
    notes_files: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    code_tokens: int = 0


@dataclass(slots=True)
class FileEntry(Section):
    """A code file as compared."""

    owner: str
    path: str
    kind: str = "code"
    encoding: str = ""
    parser: str = ""
    tokens: int = 0
    own_tokens: int = field(
        default=-1,
        metadata=doc("tokens no handout or common k-gram covers; -1: written before it was counted"),
    )
    lines: int = 0
    cell_lines: list[int] = field(
        default_factory=list, metadata=doc("1-based first line of each notebook code cell in `text`")
    )
    text: str | None = field(default=None, metadata=optional_key("present for files that appear in `pairs`"))


class PairFragment(NamedTuple):
    """A matched fragment, 1-based inclusive lines (a named tuple: a big round has 100,000s).

    `own_tokens`: its tokens no handout or common k-gram covers (what the evidence weighs; -1 in
    reports written before it was counted); `learners`: how many learners of the round have it
    (0: not counted, e.g. a corpus match)."""

    left_start_line: int
    left_end_line: int
    right_start_line: int
    right_end_line: int
    tokens: int
    own_tokens: int = -1
    learners: int = 0


@dataclass(slots=True)
class OutputFragment(Section):
    """A run of output lines two notebooks share (`checker.code.outputs.OutputFragment`): where
    it starts and ends on each side (notebook cell, 1-based line of that cell's outputs), the
    figures and images it holds, and its text."""

    left_cell: int
    left_line: int
    left_end_cell: int
    left_end_line: int
    right_cell: int
    right_line: int
    right_end_cell: int
    right_end_line: int
    lines: int = field(metadata=doc("output lines in the run (lines without figures not counted)"))
    numbers: int = field(metadata=doc("figures in the run: decimals with enough significant digits"))
    images: int
    min_digits: int = field(metadata=doc("fewest significant digits of its figures; 0: no figures"))
    max_digits: int
    text: str = field(metadata=doc("the left side's lines"))
    right_text: str = field(default="", metadata=doc("the right side's lines when worded otherwise"))


@dataclass(slots=True)
class CorpusBlock(Section):
    """Consecutive lines of a public file."""

    start_line: int = field(metadata=doc("1-based number of the first line"))
    lines: list[str]


@dataclass(slots=True)
class CorpusText(Section):
    """The public side of a corpus match as report.json keeps it (`checker.corpus.excerpts`):
    the matched lines and `context` lines around each fragment, in line order. One budget per
    report (`defaults.REPORT_CORPUS_TEXT_MAX_LINES` / `_MAX_BYTES`) is spent on the pairs
    strongest first; lines past it are left out and counted in `cut_lines`. A line longer than
    `defaults.REPORT_CORPUS_TEXT_LINE_MAX_CHARS` is shortened and ends with "…"."""

    lines: int = field(metadata=doc("lines of the public file"))
    context: int = field(metadata=doc("lines of context kept around each fragment"))
    blocks: list[CorpusBlock] = field(metadata=doc("the lines kept, in order, no overlap"))
    cut_lines: int = field(
        default=0, metadata=doc("matched or context lines left out by the report's cap; 0: none")
    )


@dataclass(slots=True)
class HistoryMatch(Section):
    """The other side of a `source: history` pair: a learner of a remembered round."""

    round: str = field(metadata=doc("the name the round was stored under (`scan --round-name`)"))
    learner: str
    own_work: bool = field(
        default=False,
        metadata=doc("the same person (same id, or joined by --aliases): own earlier work, never risk"),
    )


@dataclass(slots=True)
class FilePairEntry(Section):
    """A file pair (`checker.code.scoring.FilePair.to_dict()`), most similar first in `pairs`."""

    left: str
    right: str = field(
        metadata=doc(
            "learner id; for a corpus match the corpus source id (pypi:d2l==1.0.3); for a "
            "history match ROUND:LEARNER of a remembered round"
        )
    )
    left_file: str
    right_file: str
    similarity: float = field(metadata=doc("(covered left + covered right) / (left tokens + right tokens)"))
    left_coverage: float = field(metadata=doc("share of the left side's own tokens in matched fragments"))
    right_coverage: float
    longest_lines: int = field(metadata=doc("the longest fragment in source lines"))
    fragments: list[PairFragment] = field(default_factory=list)
    source: str = field(default="learner", metadata=doc("learner | corpus | history | outputs"))
    attributed: bool = field(default=False, metadata=doc("the learner names the source"))
    attribution: str = field(default="", metadata=doc("the learner's words that name the source"))
    right_meta: dict[str, Any] = field(
        default_factory=dict, metadata=doc("corpus matches: version, licence, url, path, functions?")
    )
    expected: bool = field(
        default=False, metadata=doc("a corpus match to a source the task file names in [sources] expected")
    )
    outputs: list[OutputFragment] | None = field(
        default=None,
        metadata=optional_key("source outputs: the output runs two notebooks share (fragments is empty)"),
    )
    right_text: CorpusText | None = field(
        default=None,
        metadata=optional_key(
            "corpus matches: the public side's matched lines with a few lines of context, within "
            "the report's cap (checker.corpus.excerpts)"
        ),
    )
    history: HistoryMatch | None = field(
        default=None, metadata=optional_key("source history: the remembered round and learner")
    )

    @classmethod
    def of(cls, pair: Any) -> FilePairEntry:
        """The entry of a `checker.code.scoring.FilePair`, rounded as its `to_dict()` rounds
        (tests/test_report_model.py keeps the two equal); built directly, without the dict: a
        big round has 100,000+ pairs."""
        return cls(
            pair.left,
            pair.right,
            pair.left_file,
            pair.right_file,
            round(pair.similarity, 4),
            round(pair.left_coverage, 4),
            round(pair.right_coverage, 4),
            pair.longest_lines,
            [PairFragment._make(f) for f in pair.fragments],
            pair.source,
            pair.attributed,
            pair.attribution,
            dict(pair.right_meta),
            pair.expected,
        )


@dataclass(slots=True)
class LearnerPairEntry(Section):
    """Two learners' file pairs together (`checker.code.scoring.LearnerPair.to_dict()`)."""

    left: str
    right: str
    similarity: float
    left_coverage: float
    right_coverage: float
    longest_lines: int
    files: int = field(metadata=doc("file pairs involved"))

    @classmethod
    def of(cls, pair: Any) -> LearnerPairEntry:
        """The entry of a `checker.code.scoring.LearnerPair`, rounded as its `to_dict()`."""
        return cls(
            pair.left,
            pair.right,
            round(pair.similarity, 4),
            round(pair.left_coverage, 4),
            round(pair.right_coverage, 4),
            pair.longest_lines,
            pair.files,
        )


# --- rules, warnings, verdicts -----------------------------------------------------------------


@dataclass(slots=True)
class Finding(Section):
    """A rule finding (`checker.rules.check.Finding.to_dict()`); line/col 0: the whole file."""

    code: str
    severity: str = field(metadata=doc("error | warning | info"))
    message: str
    path: str = field(metadata=doc("relative to the learner folder, '.' for the whole submission"))
    line: int = 0
    col: int = 0
    learner: str = ""
    cell: int = field(default=0, metadata=doc("notebook code cell, 0 when not a notebook"))
    title: str = ""


@dataclass(slots=True)
class WarningEntry(Section):
    """A file skipped or degraded, and why (`checker.model.IngestWarning.to_dict()`)."""

    path: str
    reason: str
    learner: str = ""
    kind: str = field(default="skipped", metadata=doc("skipped | fallback | decoded | error"))


@dataclass(slots=True)
class Evidence(Section):
    """One item behind a verdict (`checker.report.verdicts`): a matched region, a notes
    passage, a rule finding or a retrain result; `text` is the sentence a mentor reads out."""

    kind: str = field(metadata=doc("code | corpus | history | outputs | notes | rules | retrain | info"))
    level: str = field(metadata=doc("high | medium | low | none (shown, raises nothing)"))
    weight: float = field(
        metadata=doc("ranks a learner's items: own tokens in long runs for code, words for notes")
    )
    text: str
    partner: str = field(default="", metadata=doc("the other learner, or the public source"))
    file: str = field(default="", metadata=doc("the learner's file"))
    partner_file: str = ""
    share: float = field(default=0.0, metadata=doc("share of the learner's file it covers"))


@dataclass(slots=True)
class Question(Section):
    """A question for the review meeting, asked from one evidence item (`checker.report.questions`)."""

    kind: str = field(
        metadata=doc("function | constant | shape | removal | own_part | rule | retrain | notes")
    )
    text: str = field(metadata=doc("the question in the report's `lang`"))
    texts: dict[str, str] = field(
        metadata=doc(
            "the same question in every language ({en, zh}): `--lang` re-renders without recomputing"
        )
    )
    file: str = field(default="", metadata=doc("the learner's file; '' for the submission as a whole"))
    lines: list[int] = field(
        default_factory=list, metadata=doc("[first, last] 1-based lines of `file` asked about; [] for none")
    )
    quote: str = field(default="", metadata=doc("those lines of the learner's, shortened"))
    evidence: int = field(default=-1, metadata=doc("index of the item in the verdict's `evidence`"))
    source: str = field(default="", metadata=doc("the other learner, or the public source"))
    source_file: str = ""
    source_lines: list[int] = field(default_factory=list, metadata=doc("[first, last] in `source_file`"))


@dataclass(slots=True)
class Verdict(Section):
    """A learner's risk and the reasons, in words (`checker.report.verdicts`)."""

    learner: str
    risk: str = field(metadata=doc("high | medium | low | none"))
    score: float = field(
        default=0.0,
        metadata=doc("share of the learner's file behind their strongest raising item; 0 when none"),
    )
    reasons: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(
        default_factory=list, metadata=doc("the items behind the reasons, strongest first")
    )
    questions: list[Question] = field(
        default_factory=list,
        metadata=doc("questions to ask the learner, strongest evidence first (checker.report.questions)"),
    )


# --- notes (checker.notes.findings.NotesReport.to_dict()) ------------------------------------------


@dataclass(slots=True)
class NotesSpan(Section):
    """A region of a text: 1-based lines, 0-based columns, end exclusive (`checker.model.Span`)."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int


@dataclass(slots=True)
class NotesSource(Section):
    """Where a passage comes from: a corpus document or another learner's file."""

    source: str = field(metadata=doc("corpus source id, or the other learner's id"))
    path: str
    title: str
    span: NotesSpan = field(metadata=doc("lines of the best-matching paragraph in the source"))
    url: str = ""
    excerpt: str = field(default="", metadata=doc("the start of that paragraph"))


@dataclass(slots=True)
class NotesSentence(Section):
    """A sentence of the learner's paragraph and its closest sentence in the source."""

    sentence: str
    source_sentence: str
    lexical: float
    cosine: float


@dataclass(slots=True)
class NotesMatch(Section):
    """A paragraph's best match in one source, how it was reused and whether it is cited."""

    kind: str = field(metadata=doc("verbatim | edited | reworded | translated"))
    score: float = field(metadata=doc("share of the paragraph matched, 0..1"))
    lexical: float
    semantic: float
    source: NotesSource
    sentences: list[NotesSentence] = field(default_factory=list)
    cited: bool = False
    citation: str = field(default="", metadata=doc("how it is cited: 'link in paragraph', ..."))


@dataclass(slots=True)
class NotesParagraph(Section):
    """A paragraph of a learner's notes: own words, copied (from where, how) or not judged."""

    owner: str
    path: str
    index: int
    span: NotesSpan
    cell: int | None
    page: int | None
    words: int
    language: str
    text: str
    status: str = field(metadata=doc("own | copied | cited | shared | not_judged"))
    corpus_match: NotesMatch | None = None
    learner_match: NotesMatch | None = None
    suggestion: str = field(default="", metadata=doc("what the learner could do"))
    handout_match: NotesMatch | None = field(
        default=None, metadata=doc("status handout: the handout paragraph it matches")
    )
    not_prose: str = field(default="", metadata=doc("status not_prose: table | code | formula"))
    needs_attention: bool = False


@dataclass(slots=True)
class NotesFinding(Section):
    """A finding about a learner's notes as a whole (empty, too short, mostly not own words)."""

    learner: str
    kind: str
    message: str
    value: float = 0.0
    limit: float = 0.0
    severity: str = field(
        default="warning",
        metadata=doc("warning: a norm the task file set; info: the checker's default, information only"),
    )
    norm_from_task: bool = True


@dataclass(slots=True)
class NotesLearner(Section):
    """One learner's notes."""

    learner: str
    files: list[str]
    words: int = field(metadata=doc("words of prose, handout paragraphs and non-prose left out"))
    own_words: int
    handout_files: list[str] = field(
        default_factory=list,
        metadata=doc("files that are mostly the handout's prose: not counted in own words"),
    )
    handout_words: int = 0
    not_prose_words: int = field(default=0, metadata=doc("code, formulas and tables left out"))
    own_share: float = 0.0
    copied_score: float = 0.0
    needs_attention: bool = False
    findings: list[NotesFinding] = field(default_factory=list)
    paragraphs: list[NotesParagraph] = field(default_factory=list)


@dataclass(slots=True)
class NotesShared(Section):
    """A paragraph two learners share (reported once: learner_a < learner_b)."""

    learner_a: str
    path_a: str
    index_a: int
    span_a: NotesSpan
    learner_b: str
    path_b: str
    index_b: int
    span_b: NotesSpan
    kind: str
    score: float
    common_source: str = field(
        default="", metadata=doc("shared_sources: the public source both paragraphs were copied from")
    )
    source: NotesSource | None = field(
        default=None,
        metadata=doc("shared_sources: that document and the paragraph the first learner's matches"),
    )


@dataclass(slots=True)
class NotesSection(Section):
    """The notes analysis (`checker.notes.findings.NotesReport.to_dict()`)."""

    schema: int
    model: str
    cross_lingual: bool
    config: dict[str, Any] = field(metadata=doc("checker.notes.config.NotesConfig"))
    needs_attention: bool
    learners: list[NotesLearner] = field(default_factory=list)
    shared: list[NotesShared] = field(
        default_factory=list, metadata=doc("paragraphs two learners share: learner-to-learner evidence")
    )
    shared_sources: list[NotesShared] = field(
        default_factory=list,
        metadata=doc(
            "paragraphs two learners share because both copied one public source: not evidence between them"
        ),
    )
    norms: dict[str, Any] = field(
        default_factory=dict,
        metadata=doc("{min_words, min_words_from_task, min_own_share, min_own_share_from_task}"),
    )
    handout_documents: list[str] = field(
        default_factory=list, metadata=doc("the --base notes files read as the handout")
    )
    warnings: list[WarningEntry] = field(default_factory=list)


# --- retrain (checker.retrain.runs.RetrainResult.to_dict()) ----------------------------------


@dataclass(slots=True)
class RetrainRun(Section):
    """One submission's re-run, compared with its claim (`RetrainResult.to_dict()`)."""

    status: str = field(
        metadata=doc("reproduced | not_reproduced | over_budget | failed | timed_out | skipped")
    )
    reason: str = field(metadata=doc("the sentence for the review meeting"))
    submission: str
    metric: str
    claimed: float | None = None
    claim_source: str | None = None
    reached: float | None = None
    target: float | None = None
    tolerance: float | None = None
    gap: float | None = field(
        default=None, metadata=doc("reached - claimed (or - target when nothing is claimed)")
    )
    params: int | None = None
    claimed_params: int | None = None
    max_params: int | None = None
    short: bool = False
    command: str | None = None
    duration_s: float | None = None
    peak_memory_mb: float | None = None
    log_tail: str = ""
    log_path: str | None = None
    isolation: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RetrainSkipped(Section):
    """A learner not re-run because the round has no folder for them (a manifest round)."""

    status: str
    reason: str


RetrainEntry = RetrainRun | RetrainSkipped


# --- notebook outputs (checker.pipeline.outputs) ----------------------------------------------


@dataclass(slots=True)
class CountAnomalyEntry(Section):
    """Something about a notebook's execution counts (`checker.code.outputs.CountAnomaly`):
    information for the learner page, never risk."""

    kind: str = field(metadata=doc("out_of_order | duplicated | gap | no_count"))
    cells: list[int]
    text: str


@dataclass(slots=True)
class PrintedMetric(Section):
    """The task's metric as the notebook's outputs print it last, beside the re-run's figure."""

    metric: str
    cell: int
    line: int = field(metadata=doc("1-based line of that cell's outputs"))
    text: str
    value: float = field(metadata=doc("in the task's unit ([retrain] unit)"))
    reached: float | None = field(default=None, metadata=doc("what the re-run reached; None: no figure"))
    tolerance: float | None = None
    contradicted: bool = field(
        default=False, metadata=doc("the re-run falls short of the printed figure by more than the tolerance")
    )
    reason: str = ""


@dataclass(slots=True)
class NotebookOutputsEntry(Section):
    """One notebook's outputs as read: counts, execution-count anomalies, the printed metric."""

    learner: str
    path: str
    code_cells: int
    executed_cells: int = field(metadata=doc("code cells with an execution count"))
    outputs: int
    unread: int = field(metadata=doc("outputs over the notebook's caps: counted, not read"))
    images: int
    figure_lines: int = field(metadata=doc("output lines that print figures (evidence candidates)"))
    anomalies: list[CountAnomalyEntry] = field(default_factory=list)
    printed_metric: PrintedMetric | None = field(default=None, metadata=optional_key())


@dataclass(slots=True)
class OutputsSection(Section):
    """Notebook outputs: every learner notebook read, and the comparison's counts (the pairs
    are in `pairs` with source `outputs`)."""

    notebooks: list[NotebookOutputsEntry] = field(default_factory=list)
    stats: dict[str, int] = field(
        default_factory=dict,
        metadata=doc("notebooks, items, common_items, handout_items, candidate_pairs, pairs"),
    )


# --- corpus, task ------------------------------------------------------------------------------


@dataclass(slots=True)
class CorpusSourceInfo(Section):
    """A source of the corpus index."""

    source: str
    version: str
    licence: str
    url: str


@dataclass(slots=True)
class CorpusInfo(Section):
    """The corpus index the scan compared with."""

    path: str
    sources: list[CorpusSourceInfo] = field(default_factory=list)


@dataclass(slots=True)
class NotesCorpusSourceInfo(Section):
    """A source of the notes corpus (public articles, books, docstrings)."""

    source: str
    documents: int
    url: str = ""
    licence: str = ""


@dataclass(slots=True)
class NotesCorpusInfo(Section):
    """The notes corpus the learners' notes were compared with (the index's notes/ folder)."""

    path: str
    sources: list[NotesCorpusSourceInfo] = field(default_factory=list)


@dataclass(slots=True)
class TaskInfo(Section):
    """The task file the rules (and retrain) ran with."""

    name: str
    description: str
    url: str
    max_params: int | None


# --- remembered rounds (checker.pipeline.history) ------------------------------------------------


@dataclass(slots=True)
class HistoryRound(Section):
    """A remembered round."""

    name: str
    learners: int
    files: int = field(metadata=doc("code files"))
    stored_at: str = field(metadata=doc("UTC time it was stored, ISO 8601"))


@dataclass(slots=True)
class HistorySection(Section):
    """Remembered rounds: what the scan compared the round with, and where it stored it."""

    index: str = field(metadata=doc("the index folder that holds the rounds"))
    compared: list[HistoryRound] = field(
        default_factory=list, metadata=doc("the rounds compared with ([] with --no-history)")
    )
    stored: HistoryRound | None = field(
        default=None, metadata=optional_key("this round, as stored under --round-name")
    )
    aliases: str = field(default="", metadata=doc("the --aliases file joining one person's ids"))
    candidate_pairs: int = 0
    matched_pairs: int = 0
    files: list[FileEntry] = field(
        default_factory=list,
        metadata=doc("remembered files in `pairs` (owner ROUND:LEARNER), with their text"),
    )


# --- the report --------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Report(Section):
    """report.json. Optional sections: `tool`, `elapsed_s`, `config` and `stats` (always written
    by a scan; a hand-made report may lack them), `notes` (`{}`: not run), `retrain` (`{}`: not
    run), `corpus` and `task` (only with an index, only with a task file), `notes_corpus` (only
    when the notes were compared with a notes corpus), `history` (only with an index: remembered
    rounds)."""

    schema_version: int = defaults.REPORT_SCHEMA_VERSION
    tool: ToolInfo | None = field(default=None, metadata=optional_key())
    created: str = field(default="", metadata=doc("UTC time of the scan, ISO 8601"))
    elapsed_s: float | None = field(default=None, metadata=optional_key("scan wall time"))
    config: ScanSettings | None = field(default=None, metadata=optional_key())
    stats: Stats | None = field(default=None, metadata=optional_key())
    learners: list[LearnerEntry]
    files: list[FileEntry] = field(default_factory=list, metadata=doc("code files"))
    pairs: list[FilePairEntry] = field(metadata=doc("file pairs, most similar first"))
    learner_pairs: list[LearnerPairEntry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: NotesSection | None = field(
        default=None, metadata=none_as({}, "the notes analysis; {} when it did not run")
    )
    retrain: dict[str, RetrainEntry] = field(
        default_factory=dict, metadata=doc("learner -> re-run result; {} when not run")
    )
    outputs: OutputsSection | None = field(
        default=None, metadata=optional_key("notebook outputs: what was read, anomalies, printed metrics")
    )
    warnings: list[WarningEntry] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list, metadata=doc("ranked by risk then score"))
    corpus: CorpusInfo | None = field(
        default=None, metadata=optional_key("the corpus index the code was compared with; absent: none")
    )
    task: TaskInfo | None = field(default=None, metadata=optional_key())
    notes_corpus: NotesCorpusInfo | None = field(
        default=None,
        metadata=optional_key(
            "the notes corpus the notes were compared with; absent: none (or not recorded)"
        ),
    )
    history: HistorySection | None = field(
        default=None, metadata=optional_key("with --index: remembered rounds compared and stored")
    )
    lang: str = field(
        default="en", metadata=doc("language of the questions' `text`: en | zh (--lang, else the notes')")
    )

    def learner_ids(self) -> list[str]:
        return [lr.id for lr in self.learners]

    def copy(self) -> Report:
        """A deep copy (through the dict form: every section is plain data)."""
        return Report.from_dict(self.to_dict())


def as_report(report: Report | dict[str, Any]) -> Report:
    """`report`, or a report.json dict read through `Report.from_dict`: what the renderers'
    entry points take (a scan hands them a Report; tests and tools may hand them a dict)."""
    return report if isinstance(report, Report) else Report.from_dict(report)


def replace(obj: _S, **changes: Any) -> _S:
    """`dataclasses.replace`, typed for the report's sections."""
    return dataclasses.replace(obj, **changes)  # type: ignore[type-var]


__all__ = [
    "CorpusBlock",
    "CorpusInfo",
    "CorpusSourceInfo",
    "CorpusText",
    "FileEntry",
    "FilePairEntry",
    "Finding",
    "HistoryMatch",
    "HistoryRound",
    "HistorySection",
    "LearnerEntry",
    "LearnerPairEntry",
    "NotesCorpusInfo",
    "NotesCorpusSourceInfo",
    "NotesFinding",
    "NotesLearner",
    "NotesMatch",
    "NotesParagraph",
    "NotesSection",
    "NotesSentence",
    "NotesShared",
    "NotesSource",
    "NotesSpan",
    "CountAnomalyEntry",
    "NotebookOutputsEntry",
    "OutputFragment",
    "OutputsSection",
    "PrintedMetric",
    "PairFragment",
    "Question",
    "Report",
    "RetrainEntry",
    "RetrainRun",
    "RetrainSkipped",
    "ScanSettings",
    "Section",
    "Stats",
    "TaskInfo",
    "ToolInfo",
    "Verdict",
    "WarningEntry",
    "as_report",
]
