"""The value types of a notes report: where a passage comes from, how a paragraph matches it, the
verdict on each paragraph, findings about a learner's notes as a whole, passages two learners
share, and the report. Everything has `to_dict()` for report.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from checker import defaults
from checker.model import IngestWarning, Span
from checker.notes.config import NotesConfig


@dataclass(frozen=True)
class SourceRef:
    """Where a passage comes from: a corpus document (or another learner's file) and lines."""

    source: str  # corpus source id, or the other learner's id
    path: str  # chapter / file path inside the source
    title: str
    span: Span  # lines of the best-matching paragraph in the source file
    url: str = ""
    excerpt: str = ""  # the start of that paragraph, for side-by-side display

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SentenceMatch:
    """One sentence of the learner's paragraph and its closest sentence in the source."""

    sentence: str
    source_sentence: str
    lexical: float  # share of the sentence's tokens in shared k-grams
    cosine: float  # embedding cosine to the source sentence

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Match:
    """A paragraph's best match in one source, with the kind of reuse and whether it is cited."""

    kind: str  # verbatim | edited | reworded | translated
    score: float  # 0..1, share of the paragraph matched (literally or in meaning)
    lexical: float  # share of the paragraph's tokens covered by shared k-grams
    semantic: float  # token-weighted mean of calibrated sentence cosines
    source: SourceRef
    sentences: tuple[SentenceMatch, ...] = ()
    cited: bool = False
    citation: str = ""  # how it is cited: "link in paragraph", "named nearby", ...

    def to_dict(self) -> dict:
        out = asdict(self)
        out["sentences"] = [s.to_dict() for s in self.sentences]
        return out


@dataclass(frozen=True)
class ParagraphVerdict:
    """One paragraph of a learner's notes: own words, copied (from where, how) or not judged."""

    owner: str
    path: str
    index: int
    span: Span
    cell: int | None
    page: int | None
    words: int
    language: str
    text: str
    status: str  # own | copied | cited | shared | handout | not_prose | not_judged
    corpus_match: Match | None = None
    learner_match: Match | None = None
    suggestion: str = ""
    handout_match: Match | None = None  # status handout: the handout paragraph it matches
    not_prose: str = ""  # status not_prose: table | code | formula (checker.notes.prose)

    @property
    def needs_attention(self) -> bool:
        return self.status in ("copied", "shared")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["corpus_match"] = self.corpus_match.to_dict() if self.corpus_match else None
        out["learner_match"] = self.learner_match.to_dict() if self.learner_match else None
        out["handout_match"] = self.handout_match.to_dict() if self.handout_match else None
        out["needs_attention"] = self.needs_attention
        return out


@dataclass(frozen=True)
class NotesFinding:
    """A finding about a learner's notes as a whole (empty, too short, mostly not own words).

    `norm_from_task`: the limit is the task's (`[notes]` in task.toml); otherwise it is the
    checker's default and the finding is information only (severity "info": it needs no
    attention and never makes `checker notes` exit 1).
    """

    learner: str
    kind: str  # empty | too_short | low_own_share
    message: str
    value: float = 0.0
    limit: float = 0.0
    severity: str = "warning"  # warning (a norm the task set) | info (the checker's default)
    norm_from_task: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SharedPassage:
    """A paragraph two learners share (one direction is reported: a < b)."""

    learner_a: str
    path_a: str
    index_a: int
    span_a: Span
    learner_b: str
    path_b: str
    index_b: int
    span_b: Span
    kind: str
    score: float
    # both paragraphs match one corpus document (named "source title"): each learner's corpus
    # match, not copying between them; such passages are in NotesReport.shared_sources
    common_source: str = ""
    source: SourceRef | None = None  # that document and the paragraph the first learner's matches

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LearnerNotes:
    learner: str
    files: list[str]
    words: int
    own_words: int
    paragraphs: list[ParagraphVerdict]
    findings: list[NotesFinding] = field(default_factory=list)
    handout_files: list[str] = field(default_factory=list)  # files that are mostly the handout
    handout_words: int = 0  # words left out as the handout's (paragraphs and handout files)
    not_prose_words: int = 0  # words left out as code, formulas or tables

    @property
    def own_share(self) -> float:
        return self.own_words / self.words if self.words else 0.0

    @property
    def copied_score(self) -> float:
        """Word-weighted mean of the paragraphs' best corpus scores: a ranking score for a learner."""
        judged = [(p.words, p.corpus_match.score if p.corpus_match else 0.0) for p in self.paragraphs
                  if p.status not in ("not_judged", "handout", "not_prose")]
        total = sum(w for w, _ in judged)
        return sum(w * s for w, s in judged) / total if total else 0.0

    @property
    def needs_attention(self) -> bool:
        return any(f.severity != "info" for f in self.findings) or \
            any(p.needs_attention for p in self.paragraphs)

    def to_dict(self) -> dict:
        return {
            "learner": self.learner,
            "files": self.files,
            "words": self.words,
            "own_words": self.own_words,
            "handout_files": self.handout_files,
            "handout_words": self.handout_words,
            "not_prose_words": self.not_prose_words,
            "own_share": round(self.own_share, 4),
            "copied_score": round(self.copied_score, 4),
            "needs_attention": self.needs_attention,
            "findings": [f.to_dict() for f in self.findings],
            "paragraphs": [p.to_dict() for p in self.paragraphs],
        }


@dataclass
class NotesReport:
    learners: list[LearnerNotes]
    shared: list[SharedPassage]
    warnings: list[IngestWarning]
    model: str
    cross_lingual: bool
    config: NotesConfig
    # passages two learners share that both come from one public source (common_source set)
    shared_sources: list[SharedPassage] = field(default_factory=list)
    # the norms findings were judged by: {"min_words", "min_own_share", "from_task"}
    norms: dict = field(default_factory=dict)
    handout_documents: list[str] = field(default_factory=list)  # the --base notes files read

    @property
    def needs_attention(self) -> bool:
        return bool(self.shared) or any(learner.needs_attention for learner in self.learners)

    def to_dict(self) -> dict:
        return {
            "schema": defaults.REPORT_SCHEMA_VERSION,
            "model": self.model,
            "cross_lingual": self.cross_lingual,
            "config": asdict(self.config),
            "needs_attention": self.needs_attention,
            "learners": [learner.to_dict() for learner in self.learners],
            "shared": [s.to_dict() for s in self.shared],
            "shared_sources": [s.to_dict() for s in self.shared_sources],
            "norms": self.norms,
            "handout_documents": self.handout_documents,
            "warnings": [w.to_dict() for w in self.warnings],
        }

