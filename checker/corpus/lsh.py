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
    sorted column of band hashes per band instead of Python dicts.

    Invariant: `query(h)` returns exactly the rows that share all r values of at least one band
    with `h` (up to 64-bit hash collisions of a band's values), i.e. MinHashLSH.query's keys.
    Opening costs a sort of b columns; memory is 16 bytes per key and band."""

    def __init__(self, matrix: np.ndarray, threshold: float, num_perm: int) -> None:
        from datasketch import MinHashLSH

        self.hashranges = list(MinHashLSH(threshold=threshold, num_perm=num_perm).hashranges)
        # one contiguous row per band: (b, n) sorted band hashes and the key rows in that order
        bands = np.ascontiguousarray(
            self._band_hashes(np.asarray(matrix, dtype=np.uint64).reshape(-1, num_perm)).T)
        self.order = np.argsort(bands, axis=1, kind="stable")
        self.sorted = np.take_along_axis(bands, self.order, axis=1)

    def _band_hashes(self, matrix: np.ndarray) -> np.ndarray:
        """(n, b) keys: each band's r values mixed into one 64-bit hash."""
        starts = [start for start, _ in self.hashranges]
        width = self.hashranges[0][1] - self.hashranges[0][0]
        acc = np.zeros((len(matrix), len(starts)), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for offset in range(width):  # bands are consecutive runs of r = width values
                acc = acc * _BAND_BASE + matrix[:, [s + offset for s in starts]]
            acc ^= acc >> np.uint64(31)
            acc *= _BAND_MIX
            return acc ^ (acc >> np.uint64(29))

    def query(self, hashvalues: np.ndarray) -> np.ndarray:
        """Rows sharing a band with this signature (sorted, unique)."""
        q = self._band_hashes(np.asarray(hashvalues, dtype=np.uint64).reshape(1, -1))[0]
        found = []
        for j in range(len(self.hashranges)):
            column = self.sorted[j]
            lo = int(np.searchsorted(column, q[j], "left"))
            if lo < len(column) and column[lo] == q[j]:
                hi = int(np.searchsorted(column, q[j], "right"))
                found.append(self.order[j, lo:hi])
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)

    def query_many(self, signatures: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [self.query(s) for s in signatures]

    def query_pairs(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(query row, stored row) of every query signature (a row of `queries`) and stored row
        sharing a band, each pair once, sorted: `query` of all rows at once, band by band."""
        queries = np.asarray(queries, dtype=np.uint64)
        if not len(queries) or not self.sorted.shape[1]:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        hashes = self._band_hashes(queries.reshape(len(queries), -1))
        n_stored = self.sorted.shape[1]
        found = []
        for j in range(len(self.hashranges)):
            column = self.sorted[j]
            lo = np.searchsorted(column, hashes[:, j], "left")
            counts = np.searchsorted(column, hashes[:, j], "right") - lo
            total = int(counts.sum())
            if not total:
                continue
            # positions lo[i] .. lo[i] + counts[i] - 1 of every query row i, flattened
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            rows = np.repeat(np.arange(len(queries), dtype=np.int64), counts)
            found.append(rows * n_stored + self.order[j, np.repeat(lo, counts) + offsets])
        if not found:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        keys = np.unique(np.concatenate(found))
        return keys // n_stored, keys % n_stored


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
