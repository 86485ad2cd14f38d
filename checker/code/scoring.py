"""Scores of file pairs and learner pairs, from aligned fragments.

Definitions (the contract of pairs.csv):
- coverage of a side = tokens of that file inside matched fragments / tokens of that file;
- similarity = (covered left + covered right) / (left tokens + right tokens): symmetric, 1.0 for
  identical files, and a small file copied whole into a big one scores by its share of both
  (as Dolos does); the coverages say which side was copied into which;
- longest_lines = the longest fragment, in source lines (the larger of its two sides).
A learner pair aggregates its file pairs by the union of covered tokens per file.

Own tokens: a side's tokens may be given as a boolean mask of the tokens its author wrote (not
handout, not common code). Coverage then counts covered tokens that are own tokens, over own
tokens, so it is a share in [0, 1] by construction: a matched run of usable k-grams can still
reach into handout tokens at its edges, and those must count on neither side of the fraction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from checker.code.tokens import TokenStream
from checker.core.align import Fragment


class FragmentSpan(NamedTuple):
    """A fragment in source lines (a named tuple: a big round makes hundreds of thousands).

    `tokens`: its length in normalised tokens; `own_tokens`: those no ignored (handout, common)
    k-gram covers, on the side that has fewer (what the evidence weighs); `learners`: how many
    learners of the round have this code (the median over its k-grams; 0 when not counted)."""

    left_start_line: int
    left_end_line: int
    right_start_line: int
    right_end_line: int
    tokens: int
    own_tokens: int = 0
    learners: int = 0

    @property
    def lines(self) -> int:
        return max(self.left_end_line - self.left_start_line, self.right_end_line - self.right_start_line) + 1


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
    expected: bool = False  # corpus: a source the task tells learners to use ([sources].expected)

    def to_dict(self) -> dict:
        # by hand, not dataclasses.asdict: asdict deep-copies recursively and was 6 of 27 s of a
        # 1,000-file scan with 34,000 pairs
        out = {
            "left": self.left,
            "right": self.right,
            "left_file": self.left_file,
            "right_file": self.right_file,
            "similarity": round(self.similarity, 4),
            "left_coverage": round(self.left_coverage, 4),
            "right_coverage": round(self.right_coverage, 4),
            "longest_lines": self.longest_lines,
            "fragments": [
                {
                    "left_start_line": f.left_start_line,
                    "left_end_line": f.left_end_line,
                    "right_start_line": f.right_start_line,
                    "right_end_line": f.right_end_line,
                    "tokens": f.tokens,
                    "own_tokens": f.own_tokens,
                    "learners": f.learners,
                }
                for f in self.fragments
            ],
            "source": self.source,
            "attributed": self.attributed,
            "attribution": self.attribution,
            "right_meta": dict(self.right_meta),
            "expected": self.expected,
        }
        return out


def fragment_spans(
    fragments: list[Fragment],
    left: TokenStream,
    right: TokenStream,
    own_tokens: list[int] | None = None,
    learners: list[int] | None = None,
) -> list[FragmentSpan]:
    spans = [
        FragmentSpan(
            left.start_lines[f.left_start],
            left.end_lines[f.left_end - 1],
            right.start_lines[f.right_start],
            right.end_lines[f.right_end - 1],
            f.tokens,
            own_tokens[i] if own_tokens else f.tokens,
            learners[i] if learners else 0,
        )
        for i, f in enumerate(fragments)
    ]
    spans.sort(key=lambda s: s.left_start_line)
    return spans


def _own_in(ranges: list[tuple[int, int]], own: np.ndarray | int | None) -> list[int]:
    """Own tokens inside each range: exact with a mask, every token otherwise."""
    if isinstance(own, np.ndarray):
        return [int(own[a:b].sum()) for a, b in ranges]
    return [b - a for a, b in ranges]


def _covered_own(per_range: list[int], own: np.ndarray | int | None, n_tokens: int) -> tuple[int, int]:
    """(covered own tokens, own tokens) of one side from the own tokens of each (non-overlapping)
    matched range. `own`: a boolean mask per token (exact), a count of own tokens (the covered
    count is capped by it), or None (every token is own)."""
    if isinstance(own, np.ndarray):
        return sum(per_range), int(own.sum())
    total = n_tokens if own is None else own
    return min(total, sum(per_range)), total


def score_file_pair(
    left_id: str,
    right_id: str,
    left_file: str,
    right_file: str,
    fragments: list[Fragment],
    left: TokenStream,
    right: TokenStream,
    left_own: np.ndarray | int | None = None,
    right_own: np.ndarray | int | None = None,
    learners: list[int] | None = None,
    fragment_own: list[int] | None = None,
) -> FilePair:
    """`left_own`/`right_own`: the tokens not covered by ignored (handout, common) code, as a
    mask or a count; the coverages are shares of those, so a copied file that contains handout
    parts still scores 1.0 and handout code never counts for or against anyone.

    `learners`: per fragment, how many learners of the round have it; `fragment_own`: per
    fragment, its own tokens when the caller knows better than the masks (the corpus matcher
    also discounts code found in several public projects)."""
    own_l = _own_in([(f.left_start, f.left_end) for f in fragments], left_own)
    own_r = _own_in([(f.right_start, f.right_end) for f in fragments], right_own)
    cov_l, n_l = _covered_own(own_l, left_own, len(left.start_lines))
    cov_r, n_r = _covered_own(own_r, right_own, len(right.start_lines))
    # a side given as a count has no per-token truth: the other side's figure stands
    weigh_l = isinstance(left_own, np.ndarray) or not isinstance(right_own, np.ndarray)
    weigh_r = isinstance(right_own, np.ndarray) or not isinstance(left_own, np.ndarray)
    own = fragment_own or [min(a if weigh_l else b, b if weigh_r else a) for a, b in zip(own_l, own_r)]
    spans = fragment_spans(fragments, left, right, own, learners)
    return FilePair(
        left_id,
        right_id,
        left_file,
        right_file,
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
        return {
            "left": self.left,
            "right": self.right,
            "similarity": round(self.similarity, 4),
            "left_coverage": round(self.left_coverage, 4),
            "right_coverage": round(self.right_coverage, 4),
            "longest_lines": self.longest_lines,
            "files": self.files,
        }


class CoverageUnion:
    """Union of covered tokens per (file, partner) for learner-pair aggregation.

    Keeps the token ranges and merges them when asked, instead of a token mask per (file,
    partner): a 3,000-file round has ~100k of those, and allocating a mask each was 0.7 s."""

    def __init__(self) -> None:
        self._ranges: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def add(self, file_key: str, partner: str, n_tokens: int, ranges: list[tuple[int, int]]) -> None:
        self._ranges.setdefault((file_key, partner), []).extend(
            (max(0, a), min(b, n_tokens)) for a, b in ranges
        )

    def covered(self, file_key: str, partner: str, own: np.ndarray | None = None) -> int:
        """Tokens of `file_key` covered by matches with `partner`; with `own` (a mask of the
        file's own tokens) only own tokens count."""
        total, reach = 0, 0
        for a, b in sorted(self._ranges.get((file_key, partner), ())):
            if b > reach:
                start = max(a, reach)
                total += int(own[start:b].sum()) if own is not None else b - start
                reach = b
        return total


def aggregate_learner_pairs(
    file_pairs: list[FilePair],
    union: CoverageUnion,
    tokens_of_learner: dict[str, int],
    files_of_learner: dict[str, list[str]],
    own_of_file: dict[str, np.ndarray] | None = None,
) -> list[LearnerPair]:
    """Learner pairs from their file pairs. `tokens_of_learner`: own tokens of each learner;
    `own_of_file`: each file's own-token mask, so covered tokens are counted as own tokens too
    and the coverages stay shares in [0, 1]."""
    own_of_file = own_of_file or {}
    grouped: dict[tuple[str, str], list[FilePair]] = {}
    for fp in file_pairs:
        if fp.source != "learner":
            continue
        key = (fp.left, fp.right) if fp.left < fp.right else (fp.right, fp.left)
        grouped.setdefault(key, []).append(fp)
    out = []
    for (a, b), pairs in grouped.items():
        cov_a = sum(union.covered(f, b, own_of_file.get(f)) for f in files_of_learner.get(a, []))
        cov_b = sum(union.covered(f, a, own_of_file.get(f)) for f in files_of_learner.get(b, []))
        n_a, n_b = tokens_of_learner.get(a, 0), tokens_of_learner.get(b, 0)
        out.append(
            LearnerPair(
                a,
                b,
                (cov_a + cov_b) / max(1, n_a + n_b),
                cov_a / max(1, n_a),
                cov_b / max(1, n_b),
                max(p.longest_lines for p in pairs),
                len(pairs),
            )
        )
    out.sort(key=lambda p: -p.similarity)
    return out
