"""Candidate pairs through datasketch MinHashLSH: near-linear, no all-pairs loop.

Every file and every function/class unit of at least `min_unit_tokens` tokens is a key in the
LSH; a copied function inside a big file is found through its unit even when whole-file Jaccard
is low. Only candidate pairs get the exact alignment (checker.align).

The LSH's bands are independent: band i looks at MinHash values [i*r, (i+1)*r) only. So the b
bands datasketch chooses for the threshold can be split into groups, each group a MinHashLSH of
its own over its slice of the values (`params=(bands, r)`), in its own forked process; the union
of their pairs is exactly the one LSH's pairs (tests/test_fingerprints.py). Inserting into
datasketch's tables is Python work per signature and band (0.66 s of a 1,000-file round), so
two cores halve it.
"""

from __future__ import annotations

import multiprocessing
import os

import numpy as np
from datasketch import MinHash, MinHashLSH

# Below this many signatures one process is quicker than forking.
_PARALLEL_MIN_SIGNATURES = 2000
# What the forked band-group workers read: (doc of each signature, owner id of each doc, values,
# seed, permutations, r). Set just before the pool forks, cleared after.
_FORK_STATE: tuple | None = None


def build_lsh(threshold: float, num_perm: int, storage_config: dict | None = None) -> MinHashLSH:
    return MinHashLSH(threshold=threshold, num_perm=num_perm, storage_config=storage_config)


def candidate_pairs(docs: np.ndarray, values: np.ndarray, owners: np.ndarray, threshold: float,
                    seed: int, permutations: tuple[np.ndarray, np.ndarray],
                    jobs: int = 0) -> set[tuple[int, int]]:
    """Pairs (doc_a, doc_b), doc_a < doc_b, of documents of different owners sharing a bucket.

    Signature i belongs to document `docs[i]` and has the MinHash values `values[i]` (affine64,
    `seed`, `permutations`: see checker.fingerprints); `owners[d]` is document d's owner id.
    """
    num_perm = len(permutations[0])
    reference = build_lsh(threshold, num_perm)  # datasketch's choice of bands for the threshold
    b, r = reference.b, reference.r
    jobs = jobs or os.cpu_count() or 1
    groups = min(jobs, b)
    if groups == 1 or len(docs) < _PARALLEL_MIN_SIGNATURES \
            or "fork" not in multiprocessing.get_all_start_methods():
        state = (docs, owners, values, seed, permutations, r)
        return _band_group_pairs((0, b), state)
    edges = np.linspace(0, b, groups + 1).round().astype(int)
    global _FORK_STATE
    _FORK_STATE = (docs, owners, values, seed, permutations, r)
    try:
        with multiprocessing.get_context("fork").Pool(groups) as pool:
            parts = pool.map(_band_group_worker, list(zip(edges[:-1].tolist(), edges[1:].tolist())))
    finally:
        _FORK_STATE = None
    pairs: set[tuple[int, int]] = set()
    for part in parts:
        pairs.update(map(tuple, part.tolist()))
    return pairs


def _band_group_worker(bands: tuple[int, int]) -> np.ndarray:
    pairs = _band_group_pairs(bands, _FORK_STATE)
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def _band_group_pairs(bands: tuple[int, int], state: tuple) -> set[tuple[int, int]]:
    """The pairs that bands [lo, hi) of the LSH give: a MinHashLSH over that slice of values."""
    docs, owners, values, seed, (perm_a, perm_b), r = state
    lo, hi = bands
    cols = slice(lo * r, hi * r)
    lsh = MinHashLSH(num_perm=(hi - lo) * r, params=(hi - lo, r))
    sliced = (perm_a[cols], perm_b[cols])
    with lsh.insertion_session() as session:
        for i, row in enumerate(values[:, cols]):
            mh = MinHash(seed=seed, hashfunc=int, scheme="affine64", hashvalues=row,
                         permutations=sliced)
            session.insert(i, mh, check_duplication=False)
    pairs: set[tuple[int, int]] = set()
    expanded: set[tuple[int, ...]] = set()
    for table in lsh.hashtables:
        for band in table.keys():
            members = table.get(band)
            if len(members) < 2:
                continue
            group = tuple(sorted({int(docs[i]) for i in members}))
            if len(group) < 2 or group in expanded:
                continue
            expanded.add(group)
            for n, a in enumerate(group):
                owner = owners[a]
                for other in group[n + 1:]:
                    if owners[other] != owner:
                        pairs.add((a, other))
    return pairs
