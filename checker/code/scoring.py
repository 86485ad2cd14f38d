"""Scores of file pairs and learner pairs, from aligned fragments.

Definitions (the contract of pairs.csv):
- coverage of a side = tokens of that file inside matched fragments / tokens of that file;
- similarity = (covered left + covered right) / (left tokens + right tokens): symmetric, 1.0 for
  identical files, and a small file copied whole into a big one scores by its share of both
  (as Dolos does); the coverages say which side was copied into which;
- longest_lines = the longest fragment, in source lines (the larger of its two sides).
A learner pair aggregates its file pairs by the union of covered tokens per file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from checker.core.align import Fragment
from checker.code.tokens import TokenStream


class FragmentSpan(NamedTuple):
    """A fragment in source lines (a named tuple: a big round makes hundreds of thousands)."""

    left_start_line: int
    left_end_line: int
    right_start_line: int
    right_end_line: int
    tokens: int

    @property
    def lines(self) -> int:
        return max(self.left_end_line - self.left_start_line,
                   self.right_end_line - self.right_start_line) + 1


@dataclass
class FilePair:
    left: str
    right: str
    left_file: str
    right_file: str
    similarity: float
    left_coverage: float
    right_coverage: float
    longest_lines: int
    fragments: list[FragmentSpan] = field(default_factory=list)
    source: str = "learner"  # learner | corpus
    attributed: bool = False
    attribution: str = ""  # the learner's words that name the source
    right_meta: dict = field(default_factory=dict)  # corpus: version, licence, url, path

    def to_dict(self) -> dict:
        # by hand, not dataclasses.asdict: asdict deep-copies recursively and was 6 of 27 s of a
        # 1,000-file scan with 34,000 pairs
        return {
            "left": self.left, "right": self.right, "left_file": self.left_file,
            "right_file": self.right_file, "similarity": round(self.similarity, 4),
            "left_coverage": round(self.left_coverage, 4),
            "right_coverage": round(self.right_coverage, 4),
            "longest_lines": self.longest_lines,
            "fragments": [{"left_start_line": f.left_start_line, "left_end_line": f.left_end_line,
                           "right_start_line": f.right_start_line,
                           "right_end_line": f.right_end_line, "tokens": f.tokens}
                          for f in self.fragments],
            "source": self.source, "attributed": self.attributed, "attribution": self.attribution,
            "right_meta": dict(self.right_meta),
        }


def fragment_spans(fragments: list[Fragment], left: TokenStream, right: TokenStream) -> list[FragmentSpan]:
    spans = [FragmentSpan(left.start_lines[f.left_start], left.end_lines[f.left_end - 1],
                          right.start_lines[f.right_start], right.end_lines[f.right_end - 1],
                          f.tokens)
             for f in fragments]
    spans.sort(key=lambda s: s.left_start_line)
    return spans


def score_file_pair(left_id: str, right_id: str, left_file: str, right_file: str,
                    fragments: list[Fragment], left: TokenStream, right: TokenStream,
                    left_own: int | None = None, right_own: int | None = None) -> FilePair:
    """`left_own`/`right_own`: tokens not covered by ignored (handout, common) code; the
    coverages are shares of those, so a copied file that contains handout parts still scores
    1.0 and handout code never counts for or against anyone."""
    n_l = len(left.start_lines) if left_own is None else left_own
    n_r = len(right.start_lines) if right_own is None else right_own
    cov_l = min(n_l, sum(f.left_end - f.left_start for f in fragments))
    cov_r = min(n_r, sum(f.right_end - f.right_start for f in fragments))
    spans = fragment_spans(fragments, left, right)
    return FilePair(
        left_id, right_id, left_file, right_file,
        similarity=(cov_l + cov_r) / max(1, n_l + n_r),
        left_coverage=cov_l / max(1, n_l),
        right_coverage=cov_r / max(1, n_r),
        longest_lines=max((s.lines for s in spans), default=0),
        fragments=spans,
    )


@dataclass
class LearnerPair:
    left: str
    right: str
    similarity: float
    left_coverage: float
    right_coverage: float
    longest_lines: int
    files: int  # file pairs involved

    def to_dict(self) -> dict:
        return {"left": self.left, "right": self.right, "similarity": round(self.similarity, 4),
                "left_coverage": round(self.left_coverage, 4),
                "right_coverage": round(self.right_coverage, 4),
                "longest_lines": self.longest_lines, "files": self.files}


class CoverageUnion:
    """Union of covered tokens per (file, partner) for learner-pair aggregation.

    Keeps the token ranges and merges them when asked, instead of a token mask per (file,
    partner): a 3,000-file round has ~100k of those, and allocating a mask each was 0.7 s."""

    def __init__(self) -> None:
        self._ranges: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def add(self, file_key: str, partner: str, n_tokens: int, ranges: list[tuple[int, int]]) -> None:
        self._ranges.setdefault((file_key, partner), []).extend(
            (max(0, a), min(b, n_tokens)) for a, b in ranges)

    def covered(self, file_key: str, partner: str) -> int:
        total, reach = 0, 0
        for a, b in sorted(self._ranges.get((file_key, partner), ())):
            if b > reach:
                total += b - max(a, reach)
                reach = b
        return total


def aggregate_learner_pairs(file_pairs: list[FilePair], union: CoverageUnion,
                            tokens_of_learner: dict[str, int],
                            files_of_learner: dict[str, list[str]]) -> list[LearnerPair]:
    grouped: dict[tuple[str, str], list[FilePair]] = {}
    for fp in file_pairs:
        if fp.source != "learner":
            continue
        key = (fp.left, fp.right) if fp.left < fp.right else (fp.right, fp.left)
        grouped.setdefault(key, []).append(fp)
    out = []
    for (a, b), pairs in grouped.items():
        cov_a = sum(union.covered(f, b) for f in files_of_learner.get(a, []))
        cov_b = sum(union.covered(f, a) for f in files_of_learner.get(b, []))
        n_a, n_b = tokens_of_learner.get(a, 0), tokens_of_learner.get(b, 0)
        out.append(LearnerPair(a, b, (cov_a + cov_b) / max(1, n_a + n_b), cov_a / max(1, n_a),
                               cov_b / max(1, n_b), max(p.longest_lines for p in pairs), len(pairs)))
    out.sort(key=lambda p: -p.similarity)
    return out
