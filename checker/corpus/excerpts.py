"""The public side of corpus matches, for the report: the matched lines of each corpus document
plus a few lines of context, within one budget per report.

A pair page shows the public code beside the learner's, so that a mentor can show what was
copied. The text comes from the index (`CorpusIndex.text`: the file as it was indexed, for a
notebook its joined code cells, which is what the fragments' right-side line numbers count).

The budget (`ExcerptBudget`: lines and bytes per report) is spent in the order the matches are
given, the report's pairs, strongest first. Once a line does not fit, it and every later line are
cut: the strongest matches keep their text whole, and each excerpt counts the lines it lost
(`PublicExcerpt.cut_lines`), which the pair page marks. A line longer than `line_chars` is
shortened and ends with "…", so that one generated line cannot spend the whole budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from checker import defaults
from checker.corpus.index import CorpusIndex
from checker.model import split_lines

SHORTENED = " …"


@dataclass
class ExcerptBudget:
    """What one report may hold of public text, and what it has spent."""

    # read when a budget is made (a scan's), so that a changed default applies to the next scan
    max_lines: int = field(default_factory=lambda: defaults.REPORT_CORPUS_TEXT_MAX_LINES)
    max_bytes: int = field(default_factory=lambda: defaults.REPORT_CORPUS_TEXT_MAX_BYTES)
    line_chars: int = field(default_factory=lambda: defaults.REPORT_CORPUS_TEXT_LINE_MAX_CHARS)
    context: int = field(default_factory=lambda: defaults.REPORT_CORPUS_CONTEXT_LINES)
    used_lines: int = 0
    used_bytes: int = 0
    spent: bool = False  # a line did not fit: everything after it is cut

    def take(self, line: str) -> bool:
        """Spend the budget on `line`; False (and from then on always False) when it does not fit."""
        size = len(line.encode("utf-8")) + 1
        if self.spent or self.used_lines + 1 > self.max_lines or self.used_bytes + size > self.max_bytes:
            self.spent = True
            return False
        self.used_lines += 1
        self.used_bytes += size
        return True


@dataclass
class PublicExcerpt:
    """The lines of a public file kept for one match."""

    lines: int  # lines of the public file
    context: int
    blocks: list[tuple[int, list[str]]] = field(default_factory=list)  # (first line, lines)
    cut_lines: int = 0  # wanted lines (matched or context) the budget left out


def wanted_ranges(spans: Iterable[tuple[int, int]], context: int, total: int) -> list[tuple[int, int]]:
    """The fragments' line ranges (1-based, inclusive) widened by `context` lines on each side,
    clipped to the file, merged where they overlap or touch; in order."""
    widened = sorted((max(1, a - context), min(total, b + context)) for a, b in spans if a <= b)
    merged: list[tuple[int, int]] = []
    for a, b in widened:
        if a > b:
            continue
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def excerpt(lines: list[str], spans: Iterable[tuple[int, int]], budget: ExcerptBudget) -> PublicExcerpt:
    """The lines of one match that `budget` admits (see the module docstring)."""
    out = PublicExcerpt(len(lines), budget.context)
    for a, b in wanted_ranges(spans, budget.context, len(lines)):
        kept: list[str] = []
        for number in range(a, b + 1):
            line = lines[number - 1]
            if len(line) > budget.line_chars:
                line = line[: budget.line_chars] + SHORTENED
            if not budget.take(line):
                out.cut_lines += b - number + 1
                break
            kept.append(line)
        if kept:
            out.blocks.append((a, kept))
    return out


def public_excerpts(
    index: CorpusIndex,
    matches: Iterable[tuple[str, str, list[tuple[int, int]]]],
    budget: ExcerptBudget | None = None,
) -> list[PublicExcerpt | None]:
    """For each match (source spec, path in the source, the fragments' right-side line ranges),
    in the order given (strongest first), its public lines; None for a document the index no
    longer holds (the report then shows line numbers and the source, as before)."""
    budget = budget or ExcerptBudget()
    texts: dict[int, list[str]] = {}  # content id -> lines: several pairs often share a file
    out: list[PublicExcerpt | None] = []
    for source, path, spans in matches:
        document = index.document(source, path)
        if document is None:
            out.append(None)
            continue
        if document.content_id not in texts:
            try:
                texts[document.content_id] = split_lines(index.text(document.content_id))
            except KeyError:
                out.append(None)
                continue
        out.append(excerpt(texts[document.content_id], spans, budget))
    return out


__all__ = ["ExcerptBudget", "PublicExcerpt", "excerpt", "public_excerpts", "wanted_ranges"]
