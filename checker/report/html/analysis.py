"""The overview's account of how the round was analysed: which public corpora the code and the
notes were compared with (and whether anything matched), and the reasons many learners share.

"No corpus index: public code was not checked" and "checked against d2l, nothing matched" are
different reports, and the analysis table says which one this is. A reason that many learners
share word for word ("notes: none handed in ...") is shown once above the learner table with its
count; each row folds it, so the table's unique evidence stays readable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from checker import defaults
from checker.report.html.context import LearnerRef, ReasonLine, SectionState, SharedReason
from checker.report.html.format import num
from checker.report.model import CorpusSourceInfo, NotesCorpusSourceInfo, Report

# a list of sources longer than this is shortened to its first ones and a count
SOURCES_SHOWN = 8


def _source_names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SOURCES_SHOWN])
    return shown + (f" and {len(names) - SOURCES_SHOWN} more" if len(names) > SOURCES_SHOWN else "")


def _code_source(s: CorpusSourceInfo) -> str:
    """`pypi:d2l==1.0.3`, or `git:URL @ 3f2a1c0` when the spec does not name its version."""
    return s.source if not s.version or s.version in s.source else f"{s.source} @ {s.version}"


def _notes_source(s: NotesCorpusSourceInfo) -> str:
    return f"{s.source} ({num(s.documents)} documents)"


def corpus_sections(report: Report) -> list[SectionState]:
    """The analysis table's rows for the public-code corpus and the notes corpus."""
    rows = []
    corpus = report.corpus
    if corpus is None:
        rows.append(
            SectionState(
                "public code (corpus index)", "not run", "no corpus index: public code was not checked"
            )
        )
    else:
        matched = sum(1 for p in report.pairs if p.source == "corpus")
        names = [_code_source(s) for s in corpus.sources]
        compared = (
            f"compared with {len(names)} source(s) of {corpus.path}: {_source_names(names)}"
            if names
            else f"compared with the corpus index {corpus.path}, which holds no sources"
        )
        found = f"{num(matched)} file pair(s) matched" if matched else "nothing matched"
        rows.append(SectionState("public code (corpus index)", "ran", f"{compared}; {found}"))
    notes_corpus = report.notes_corpus
    if notes_corpus is not None:
        names = [_notes_source(s) for s in notes_corpus.sources]
        copied = sum(
            1
            for entry in (report.notes.learners if report.notes else [])
            for par in entry.paragraphs
            if par.corpus_match is not None
        )
        found = f"{num(copied)} paragraph(s) matched" if copied else "nothing matched"
        rows.append(
            SectionState(
                "public notes (notes corpus)",
                "ran",
                f"compared with {len(names)} source(s) of {notes_corpus.path}: {_source_names(names)}; {found}",
            )
        )
    elif report.notes is not None:
        rows.append(
            SectionState(
                "public notes (notes corpus)",
                "not run",
                "no notes corpus: notes were compared between learners only, not with public texts",
            )
        )
    else:
        rows.append(SectionState("public notes (notes corpus)", "not run", "the notes were not checked"))
    return rows


def shared_reasons(
    ordered: Sequence[str],
    reasons_of: Callable[[str], Sequence[str]],
    ref: Callable[[str], LearnerRef],
    minimum: int = defaults.REPORT_REPEATED_REASON_MIN_LEARNERS,
) -> list[SharedReason]:
    """The reasons at least `minimum` of the learners (`ordered`: by rank) share word for word,
    most shared first (then in the order they first appear)."""
    holders: dict[str, list[str]] = {}
    for lid in ordered:
        for reason in dict.fromkeys(reasons_of(lid)):
            holders.setdefault(reason, []).append(lid)
    common = [(text, lids) for text, lids in holders.items() if len(lids) >= max(2, minimum)]
    common.sort(key=lambda item: -len(item[1]))  # stable: first appearance breaks ties
    return [
        SharedReason(f"reason-{n}", n, text, len(lids), [ref(lid) for lid in lids])
        for n, (text, lids) in enumerate(common, 1)
    ]


def reason_lines(reasons: Sequence[str], shared: dict[str, SharedReason]) -> list[ReasonLine]:
    """A learner's reasons as the overview's row shows them (order kept: strongest first)."""
    out = []
    for text in reasons:
        s = shared.get(text)
        out.append(ReasonLine(text, s.id, s.number, s.count) if s else ReasonLine(text, "", 0, 0))
    return out
