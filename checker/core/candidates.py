"""Candidate pairs through datasketch MinHashLSH: near-linear, no all-pairs loop.

Every file and every function/class unit of at least `min_unit_tokens` tokens is a key in the
LSH; a copied function inside a big file is found through its unit even when whole-file Jaccard
is low. Only candidate pairs get the exact alignment (checker.core.align).

The LSH's bands are independent: band i looks at MinHash values [i*r, (i+1)*r) only. So the b
bands datasketch chooses for the threshold can be read in groups, each group a MinHashLSH of its
own over its slice of the values (`params=(bands, r)`); the union of the groups' pairs is exactly
the one LSH's pairs (tests/test_fingerprints.py). checker.pipeline.scan runs the groups in parallel:
inserting into datasketch's tables is Python work per signature and band.
"""

from __future__ import annotations

import functools

import numpy as np
from datasketch import MinHash, MinHashLSH


def build_lsh(threshold: float, num_perm: int, storage_config: dict | None = None) -> MinHashLSH:
    return MinHashLSH(threshold=threshold, num_perm=num_perm, storage_config=storage_config)


@functools.lru_cache(maxsize=16)
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(b, r): the bands and rows per band datasketch chooses for `threshold` (it integrates the
    false positive and negative rates: a few hundredths of a second, so made once per process)."""
    reference = build_lsh(threshold, num_perm)
    return reference.b, reference.r


def candidate_pairs(
    docs: np.ndarray,
    values: np.ndarray,
    owners: np.ndarray,
    threshold: float,
    seed: int,
    permutations: tuple[np.ndarray, np.ndarray],
) -> set[tuple[int, int]]:
    """Pairs (doc_a, doc_b), doc_a < doc_b, of documents of different owners sharing a bucket.

    Signature i belongs to document `docs[i]` and has the MinHash values `values[i]` (affine64,
    `seed`, `permutations`: see checker.code.fingerprints); `owners[d]` is document d's owner id.
    """
    b, r = lsh_bands(threshold, len(permutations[0]))
    return band_group_pairs(docs, values, owners, seed, permutations, r, (0, b))


def band_group_pairs(
    docs: np.ndarray,
    values: np.ndarray,
    owners: np.ndarray,
    seed: int,
    permutations: tuple[np.ndarray, np.ndarray],
    r: int,
    bands: tuple[int, int],
) -> set[tuple[int, int]]:
    """The pairs that bands [lo, hi) of the LSH give: a MinHashLSH over that slice of values,
    read bucket by bucket (no band hashed twice, a group of documents met in several bands
    expanded into pairs once)."""
    lo, hi = bands
    cols = slice(lo * r, hi * r)
    lsh = MinHashLSH(num_perm=(hi - lo) * r, params=(hi - lo, r))
    sliced = (permutations[0][cols], permutations[1][cols])
    with lsh.insertion_session() as session:
        for i, row in enumerate(values[:, cols]):
            mh = MinHash(seed=seed, hashfunc=int, scheme="affine64", hashvalues=row, permutations=sliced)
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
                for other in group[n + 1 :]:
                    if owners[other] != owner:
                        pairs.add((a, other))
    return pairs
