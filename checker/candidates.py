"""Candidate pairs through datasketch MinHashLSH: near-linear, no all-pairs loop.

Every file and every function/class unit of at least `min_unit_tokens` tokens is a key in the
LSH; a copied function inside a big file is found through its unit even when whole-file Jaccard
is low. Only candidate pairs get the exact alignment (checker.align).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from datasketch import MinHash, MinHashLSH


def build_lsh(threshold: float, num_perm: int, storage_config: dict | None = None) -> MinHashLSH:
    return MinHashLSH(threshold=threshold, num_perm=num_perm, storage_config=storage_config)


def candidate_pairs(signatures: Iterable[tuple[int, int, MinHash]], owner_of: Callable[[int], str],
                    threshold: float, num_perm: int) -> set[tuple[int, int]]:
    """Pairs (doc_a, doc_b), doc_a < doc_b, of documents of different owners sharing a bucket.

    `signatures` yields (document index, unit index, MinHash).
    """
    lsh = build_lsh(threshold, num_perm)
    keyed = []
    with lsh.insertion_session() as session:
        for doc, unit, mh in signatures:
            key = f"{doc}:{unit}"
            session.insert(key, mh, check_duplication=False)
            keyed.append((doc, mh))
    pairs: set[tuple[int, int]] = set()
    for doc, mh in keyed:
        owner = owner_of(doc)
        for key in lsh.query(mh):
            other = int(key.split(":", 1)[0])
            if other != doc and owner_of(other) != owner:
                pairs.add((doc, other) if doc < other else (other, doc))
    return pairs
