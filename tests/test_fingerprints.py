"""Fingerprint plumbing a scan relies on: MinHash values equal datasketch's, membership tests,
compact fingerprints from worker processes, coverage unions."""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from checker.fingerprints import (FingerprintParams, fingerprint_many, fingerprint_text,
                                  minhash_from_values, minhash_of, minhash_values_many)
from checker.hashing import member_of
from checker.scoring import CoverageUnion

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
    a, b = minhash_from_values(values[0], PARAMS), minhash_of(sets[0], PARAMS)
    assert a.jaccard(b) == 1.0


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


def test_candidate_pairs_are_the_pairs_querying_every_signature_would_give():
    from checker.candidates import build_lsh, candidate_pairs

    rng = np.random.default_rng(11)
    base = [rng.integers(0, 2**64 - 1, size=60, dtype=np.uint64) for _ in range(6)]
    sets = []
    for doc in range(40):  # documents built from overlapping pieces of six shared blocks
        parts = [base[(doc + j) % 6][: 20 + (doc * 7 + j) % 40] for j in range(2)]
        parts.append(rng.integers(0, 2**64 - 1, size=doc % 30, dtype=np.uint64))
        sets.append((doc, 0, np.unique(np.concatenate(parts))))
        sets.append((doc, 1, np.unique(parts[0])))
    owner = {doc: f"learner{doc // 3}" for doc in range(40)}  # three documents per learner
    sigs = [(d, u, minhash_of(h, PARAMS)) for d, u, h in sets]
    got = candidate_pairs(sigs, owner.__getitem__, 0.1, PARAMS.num_perm)

    lsh = build_lsh(0.1, PARAMS.num_perm)
    for d, u, mh in sigs:
        lsh.insert((d, u), mh)
    expected = {(min(d, o), max(d, o)) for d, _, mh in sigs for o, _ in lsh.query(mh)
                if owner[o] != owner[d]}
    assert got == expected and len(got) > 50
