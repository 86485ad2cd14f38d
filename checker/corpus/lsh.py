"""The corpus index's LSH: which stored signatures (rows of `CorpusIndex.signatures()`, one per
content and function/class unit) share a band with a query signature.

Every engine answers the same `LSHIndex` contract, `query(hashvalues)` -> sorted row numbers of
`keys`/`matrix`, and `query_many` for many signatures at once, and gives the same candidates
(tests/test_corpus_index.py, tests/test_scale_redis.py). `CorpusIndex.lsh(threshold, engine)` takes
an engine by name from `LSH_ENGINES` ("banded", "datasketch") or an `LSHFactory` handed in: the
shared tables on Redis (`checker.scale.redis.RedisLSHEngine`, built by `checker scan --lsh URL`)
come in that way; the library never imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from checker.code.fingerprints import FingerprintParams

if TYPE_CHECKING:  # pragma: no cover - typing only
    from checker.corpus.index import CorpusIndex

# The permutation scheme `checker.code.fingerprints.minhash_of` uses; stored signatures are rebuilt
# into LeanMinHash objects with it (datasketch refuses to mix schemes in one LSH).
_MINHASH_SCHEME = "affine64"


class LSHIndex(Protocol):
    """An LSH over the rows of a signature matrix."""

    def query(self, hashvalues: np.ndarray) -> np.ndarray:
        """Rows sharing at least one band with this signature (sorted, unique, int64)."""
        ...

    def query_many(self, signatures: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`query` of each signature, in order (an engine over a network batches them)."""
        ...


class LSHFactory(Protocol):
    """Makes the LSH of an opened index: `keys`/`matrix` are `index.signatures()`."""

    def __call__(self, index: CorpusIndex, keys: np.ndarray, matrix: np.ndarray,
                 threshold: float) -> LSHIndex: ...


class BandedLSH:
    """Locality-sensitive hashing of MinHash signatures by banding, as datasketch's MinHashLSH does
    it (same threshold -> same number of bands b and rows r, from datasketch itself), held as one
    sorted column of band keys per band instead of Python dicts.

    Invariant: `query(h)` returns exactly the rows that share all r values of at least one band
    with `h` (up to 64-bit hash collisions of a band's values), i.e. MinHashLSH.query's keys.

    Layout: `hashes[j, row]` is row's 64-bit hash of band j. Each band's column is sorted as one
    array of keys that carry the row number in their low bits (the hash's high bits above it), so
    opening costs one plain sort of b columns, no argsort (the default corpus, 54,949 keys x 64
    bands: 0.15 s with the read of the matrix, against 0.45 s with a stable argsort); a query
    finds the keys whose high bits match and keeps the rows whose full hash matches. Memory is 16
    bytes per key and band."""

    def __init__(self, matrix: np.ndarray, threshold: float, num_perm: int) -> None:
        from checker.core.candidates import lsh_bands

        b, r = lsh_bands(threshold, num_perm)
        self.hashranges = [(i * r, (i + 1) * r) for i in range(b)]
        self.hashes = _band_hashes(np.asarray(matrix, dtype=np.uint64).reshape(-1, num_perm), b, r)
        n = self.hashes.shape[1]
        self._row_bits = max(1, int(n).bit_length())
        self._row_mask = np.uint64((1 << self._row_bits) - 1)
        self.keys = (self.hashes & ~self._row_mask) | np.arange(n, dtype=np.uint64)
        self.keys.sort(axis=1)

    def query(self, hashvalues: np.ndarray) -> np.ndarray:
        """Rows sharing a band with this signature (sorted, unique)."""
        return self.query_many([hashvalues])[0]

    def query_many(self, signatures: Sequence[np.ndarray]) -> list[np.ndarray]:
        """`query` of each signature: one vectorised search per band for all of them."""
        if not len(signatures):
            return []
        num_perm = self.hashranges[-1][1] if self.hashranges else 0
        q = np.stack([np.asarray(s, dtype=np.uint64).reshape(-1) for s in signatures])
        b, r = len(self.hashranges), self.hashranges[0][1] - self.hashranges[0][0]
        wanted = _band_hashes(q[:, :num_perm], b, r)  # (b, queries)
        high = wanted & ~self._row_mask
        found: list[list[np.ndarray]] = [[] for _ in signatures]
        for j in range(b):
            column = self.keys[j]
            lo = np.searchsorted(column, high[j], "left")
            hi = np.searchsorted(column, high[j] | self._row_mask, "right")
            for i in np.flatnonzero(hi > lo).tolist():
                rows = (column[lo[i]:hi[i]] & self._row_mask).astype(np.int64)
                found[i].append(rows[self.hashes[j, rows] == wanted[j, i]])
        return [np.unique(np.concatenate(f)) if f else np.empty(0, dtype=np.int64) for f in found]

    def query_pairs(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, stored row) of every query signature (a row of `queries`) and stored row
        sharing a band, each pair once, sorted: `query_many` of all rows, flattened."""
        queries = np.asarray(queries, dtype=np.uint64)
        found = self.query_many(list(queries)) if len(queries) else []
        if not any(len(f) for f in found):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        rows = np.repeat(np.arange(len(found), dtype=np.int64), [len(f) for f in found])
        return rows, np.concatenate(found).astype(np.int64)


def _band_hashes(matrix: np.ndarray, b: int, r: int) -> np.ndarray:
    """(b, n): each row's r values of band j (values [j*r, (j+1)*r), as datasketch's hashranges)
    mixed into one 64-bit hash, one contiguous row per band."""
    bands = matrix[:, : b * r].reshape(len(matrix), b, r)  # a view: no column gather
    with np.errstate(over="ignore"):
        acc = bands[:, :, 0].copy()
        for offset in range(1, r):
            acc *= _BAND_BASE
            acc += bands[:, :, offset]
        acc ^= acc >> np.uint64(31)
        acc *= _BAND_MIX
        acc ^= acc >> np.uint64(29)
    return np.ascontiguousarray(acc.T)


# Odd multipliers (splitmix64 constants) combining a band's values into one 64-bit key.
_BAND_BASE = np.uint64(0x9E3779B97F4A7C15)
_BAND_MIX = np.uint64(0xBF58476D1CE4E5B9)


class DatasketchLSH:
    """datasketch's MinHashLSH filled from the stored matrix (for comparison, and for
    `storage_config` deployments such as Redis)."""

    def __init__(self, matrix: np.ndarray, threshold: float, params: FingerprintParams,
                 storage_config: dict | None = None) -> None:
        from datasketch import LeanMinHash

        from checker.core.candidates import build_lsh

        self.lsh = build_lsh(threshold, params.num_perm, storage_config)
        self._seed = params.seed
        with self.lsh.insertion_session() as session:
            for row in range(len(matrix)):
                session.insert(row, LeanMinHash(seed=params.seed, hashvalues=matrix[row],
                                                scheme=_MINHASH_SCHEME), check_duplication=False)

    def query(self, hashvalues: np.ndarray) -> np.ndarray:
        from datasketch import LeanMinHash

        mh = LeanMinHash(seed=self._seed, hashvalues=hashvalues, scheme=_MINHASH_SCHEME)
        return np.array(sorted(self.lsh.query(mh)), dtype=np.int64)

    def query_many(self, signatures: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.query(s) for s in signatures]


def _banded(index: CorpusIndex, keys: np.ndarray, matrix: np.ndarray, threshold: float) -> LSHIndex:
    return BandedLSH(matrix, threshold, index.params.num_perm)


def _datasketch(index: CorpusIndex, keys: np.ndarray, matrix: np.ndarray,
                threshold: float) -> LSHIndex:
    return DatasketchLSH(matrix, threshold, index.params)


# The engines the library holds itself, by the name `CORPUS_LSH_ENGINE` and `CorpusMatchConfig`
# give: "banded" (datasketch's banding in sorted numpy columns, opens in ~0.1 s) and "datasketch"
# (a MinHashLSH filled from the matrix: seconds and ~20 KiB per key; bench/corpus_results.md).
LSH_ENGINES: dict[str, LSHFactory] = {"banded": _banded, "datasketch": _datasketch}


def lsh_factory(engine: str | LSHFactory) -> LSHFactory:
    """The factory of an engine name (`LSH_ENGINES`), or the factory handed in as it is."""
    if not isinstance(engine, str):
        return engine
    try:
        return LSH_ENGINES[engine]
    except KeyError:
        raise ValueError(
            f"unknown LSH engine {engine!r}: use {' or '.join(map(repr, LSH_ENGINES))}, or hand in "
            "an LSH factory (shared tables on Redis: `checker scan --lsh redis://HOST:PORT/DB`)") from None


__all__ = ["LSH_ENGINES", "BandedLSH", "DatasketchLSH", "LSHFactory", "LSHIndex", "lsh_factory"]
