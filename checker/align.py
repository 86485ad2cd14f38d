"""Exact alignment of two fingerprinted token streams into fragments.

Pure algorithm (numpy only). Input: the k-gram hash arrays of two documents; element i of an
array covers tokens [i, i + k). Shared k-grams give match points (i, j); runs of match points on
one diagonal (i + 1, j + 1, ...) are maximal common token runs. The runs are then tiled greedily,
longest first, so no token is counted twice on either side — the idea of Greedy String Tiling
(Wise 1993, used by JPlag), computed from hash matches instead of token comparison.

Invariant: every returned fragment is a run of at least `min_tokens` tokens that is identical in
the two normalised streams, fragments do not overlap on either side, and k-grams listed in
`ignore` (handout code, fingerprints common to many learners) never contribute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A k-gram that occurs more often than this on the right side contributes only its first
# occurrences: repeated boilerplate (`self.ID = ID`) would otherwise explode the match count.
MAX_OCCURRENCES = 8


@dataclass(frozen=True)
class Fragment:
    """Tokens [left_start, left_end) of the left stream equal [right_start, right_end) of the right."""

    left_start: int
    left_end: int
    right_start: int
    right_end: int

    @property
    def tokens(self) -> int:
        return self.left_end - self.left_start


def _match_points(left: np.ndarray, right: np.ndarray, ignore: np.ndarray | None,
                  max_occurrences: int) -> tuple[np.ndarray, np.ndarray]:
    common = np.intersect1d(left, right)
    if ignore is not None and ignore.size and common.size:
        common = common[~np.isin(common, ignore, assume_unique=False)]
    if not common.size:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    li = np.nonzero(np.isin(left, common))[0]
    ri = np.nonzero(np.isin(right, common))[0]
    order = np.argsort(right[ri], kind="stable")
    rs = ri[order]
    rh = right[rs]
    lo = np.searchsorted(rh, left[li], "left")
    hi = np.searchsorted(rh, left[li], "right")
    counts = np.minimum(hi - lo, max_occurrences)
    total = int(counts.sum())
    ii = np.repeat(li, counts)
    group_start = np.repeat(np.cumsum(counts) - counts, counts)
    jj = rs[np.repeat(lo, counts) + (np.arange(total) - group_start)]
    return ii.astype(np.int64), jj.astype(np.int64)


def _runs(ii: np.ndarray, jj: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal diagonal runs as (left k-gram start, right k-gram start, number of k-grams)."""
    if not ii.size:
        return []
    d = ii - jj
    order = np.lexsort((ii, d))
    ii, jj, d = ii[order], jj[order], d[order]
    brk = np.ones(len(ii), dtype=bool)
    brk[1:] = (d[1:] != d[:-1]) | (ii[1:] != ii[:-1] + 1)
    starts = np.nonzero(brk)[0]
    lengths = np.diff(np.append(starts, len(ii)))
    return list(zip(ii[starts].tolist(), jj[starts].tolist(), lengths.tolist()))


def _longest_free_run(free: np.ndarray) -> tuple[int, int]:
    """(offset, length) of the longest run of True in a boolean array."""
    if free.all():
        return 0, len(free)
    padded = np.concatenate(([False], free, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    if not edges.size:
        return 0, 0
    starts, ends = edges[::2], edges[1::2]
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best] - starts[best])


def align(left: np.ndarray, right: np.ndarray, k: int, min_tokens: int,
          ignore: np.ndarray | None = None,
          max_occurrences: int = MAX_OCCURRENCES) -> list[Fragment]:
    """Non-overlapping common fragments of two k-gram arrays, longest first."""
    if min_tokens < k:
        raise ValueError(f"min_tokens ({min_tokens}) must be >= k ({k}): a match is at least k tokens")
    ii, jj = _match_points(left, right, ignore, max_occurrences)
    runs = _runs(ii, jj)
    if not runs:
        return []
    runs.sort(key=lambda r: -r[2])
    n_left = len(left) + k - 1
    n_right = len(right) + k - 1
    cov_l = np.zeros(n_left, dtype=bool)
    cov_r = np.zeros(n_right, dtype=bool)
    fragments: list[Fragment] = []
    for i0, j0, length in runs:
        ntok = length + k - 1
        if ntok < min_tokens:
            break  # sorted by length: nothing shorter can qualify
        free = ~cov_l[i0:i0 + ntok] & ~cov_r[j0:j0 + ntok]
        off, run = _longest_free_run(free)
        if run < min_tokens:
            continue
        a, b = i0 + off, j0 + off
        cov_l[a:a + run] = True
        cov_r[b:b + run] = True
        fragments.append(Fragment(a, a + run, b, b + run))
    return fragments


def covered_tokens(fragments: list[Fragment], side: str) -> int:
    """Tokens of one side inside fragments (fragments never overlap on a side)."""
    if side == "left":
        return sum(f.left_end - f.left_start for f in fragments)
    return sum(f.right_end - f.right_start for f in fragments)
