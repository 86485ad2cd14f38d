"""Fingerprint plumbing a scan relies on: MinHash values equal datasketch's, membership tests,
compact fingerprints from worker processes, coverage unions."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash

from checker.code.fingerprints import (FingerprintParams, fingerprint_many, fingerprint_text,
                                  minhash_of, minhash_permutations, minhash_values_many)
from checker.core.hashing import member_of
from checker.code.scoring import CoverageUnion

PARAMS = FingerprintParams()


def test_vectorised_minhash_values_equal_datasketch_update_batch_bit_for_bit():
    rng = np.random.default_rng(7)
    sets = [rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64) for n in (5, 0, 1, 300, 17, 0)]
    values = minhash_values_many(sets, PARAMS)
    assert values.shape == (len(sets), PARAMS.num_perm)
    for row, hashes in zip(values, sets):
        reference = MinHash(num_perm=PARAMS.num_perm, seed=PARAMS.seed, hashfunc=int,
                            scheme="affine64")
        if hashes.size:
            reference.update_batch(hashes)
        assert np.array_equal(row, reference.hashvalues)
        assert np.array_equal(row, minhash_of(hashes, PARAMS).hashvalues)
    rebuilt = MinHash(seed=PARAMS.seed, hashfunc=int, scheme="affine64", hashvalues=values[0],
                      permutations=minhash_permutations(PARAMS))
    assert rebuilt.jaccard(minhash_of(sets[0], PARAMS)) == 1.0


def test_member_of_agrees_with_isin_for_a_sorted_set():
    rng = np.random.default_rng(3)
    pool = rng.integers(0, 2**64 - 1, size=200, dtype=np.uint64)
    ignore = np.unique(pool[:80])
    values = np.concatenate([pool[40:160], np.array([0, 2**64 - 1], dtype=np.uint64)])
    assert np.array_equal(member_of(values, ignore), np.isin(values, ignore))
    assert not member_of(values, np.empty(0, dtype=np.uint64)).any()
    assert member_of(np.empty(0, dtype=np.uint64), ignore).size == 0


def test_fingerprints_from_workers_keep_order_lines_and_token_counts():
    texts = [f"def f{i}(x):\n" + "".join(f"    x = x * {j} + {i}\n" for j in range(i % 9 + 1)) +
             "    return x\n" for i in range(60)]
    parallel = fingerprint_many(texts, PARAMS, jobs=2)  # largest first inside, same order out
    for text, fp in zip(texts, parallel):
        full = fingerprint_text(text, PARAMS)
        assert np.array_equal(fp.kgrams, full.kgrams)
        assert fp.n_tokens == len(full.stream.tokens)
        assert fp.stream.start_lines == full.stream.start_lines
        assert fp.stream.units == full.stream.units
        assert fp.stream.tokens == []  # compact: the token texts stay in the worker


def test_coverage_union_counts_overlapping_fragments_once():
    union = CoverageUnion()
    union.add("a.py", "bob", 100, [(0, 10), (5, 20)])
    union.add("a.py", "bob", 100, [(30, 40), (18, 25), (95, 120)])
    union.add("a.py", "carol", 100, [(0, 3)])
    assert union.covered("a.py", "bob") == 25 + 10 + 5
    assert union.covered("a.py", "carol") == 3
    assert union.covered("b.py", "bob") == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_candidate_pairs_are_the_pairs_querying_every_signature_would_give(jobs, monkeypatch):
    import checker.core.candidates as candidates
    import checker.pipeline.scan as scan

    rng = np.random.default_rng(11)
    base = [rng.integers(0, 2**64 - 1, size=60, dtype=np.uint64) for _ in range(6)]
    keys, sets = [], []
    for doc in range(40):  # documents built from overlapping pieces of six shared blocks
        parts = [base[(doc + j) % 6][: 20 + (doc * 7 + j) % 40] for j in range(2)]
        parts.append(rng.integers(0, 2**64 - 1, size=doc % 30, dtype=np.uint64))
        keys += [doc, doc]
        sets += [np.unique(np.concatenate(parts)), np.unique(parts[0])]
    owners = np.array([doc // 3 for doc in range(40)])  # three documents per learner
    values = minhash_values_many(sets, PARAMS)
    monkeypatch.setattr(scan, "_PARALLEL_LSH_MIN_SIGNATURES", 0)  # band groups in 2 processes
    got = scan.lsh_pairs(np.array(keys), values, owners, 0.1, PARAMS, jobs=jobs)
    assert got == candidates.candidate_pairs(np.array(keys), values, owners, 0.1, PARAMS.seed,
                                             minhash_permutations(PARAMS))

    lsh = candidates.build_lsh(0.1, PARAMS.num_perm)  # the one LSH, queried signature by signature
    signatures = [(d, minhash_of(h, PARAMS)) for d, h in zip(keys, sets)]
    for n, (d, mh) in enumerate(signatures):
        lsh.insert(n, mh)
    expected = {(min(d, keys[o]), max(d, keys[o])) for d, mh in signatures for o in lsh.query(mh)
                if owners[keys[o]] != owners[d]}
    assert got == expected and len(got) > 50
