"""Fingerprints of code files: normalised tokens -> k-gram hashes -> winnowed set -> MinHash.

`FingerprintParams` travel with every stored sketch (report.json, the corpus index); comparing
sketches made with other parameters fails loudly (`ParamsMismatch`), like datasketch's
`MinHash.jaccard` does for seeds.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from checker.code.params import FingerprintParams, ParamsMismatch
from checker.code.tokens import ParsedText, TokenStream, Unit, lexical_normalise, normalise
from checker.core.hashing import kgram_hashes, member_of, token_hashes, winnow

if TYPE_CHECKING:  # pragma: no cover - typing only
    from checker.code.fpcache import FingerprintCache, KnownFingerprints


@dataclass
class CodeFingerprint:
    """What the pipeline keeps of one code file."""

    stream: TokenStream
    kgrams: np.ndarray  # uint64, len(tokens) - k + 1 (may be empty)

    @property
    def n_tokens(self) -> int:
        return len(self.stream.start_lines)

    def compact(self) -> CodeFingerprint:
        """The same fingerprint without the token texts and columns, which nothing after hashing
        reads: a third of the pickled size workers send back, and the main process's unpickling
        (on the critical path of a scan) 2.4x faster (measured on 3,000 files)."""
        return CodeFingerprint(
            dataclasses.replace(self.stream, tokens=[], start_cols=[], end_cols=[]), self.kgrams
        )

    def winnowed(self, window: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """Winnowed hashes of k-grams [lo, hi) (a unit), as a unique array."""
        part = self.kgrams[lo:hi]
        _, hashes = winnow(part, window)
        return np.unique(hashes)

    def unit_hash_sets(self, params: FingerprintParams, ignore: np.ndarray | None = None) -> list[np.ndarray]:
        """Winnowed hashes of the whole file and of each unit, in `unit_ranges` order, without
        those in `ignore` (sorted, e.g. from np.unique): what a MinHash signature is made of."""
        sets = [self.winnowed(params.window, lo, hi) for _, lo, hi in self.unit_ranges(params.k)]
        if ignore is not None and ignore.size:
            sets = [h[~member_of(h, ignore)] for h in sets]
        return sets

    def unit_ranges(self, k: int) -> list[tuple[str, int, int]]:
        """(name, k-gram start, k-gram end) for the whole file and each function/class unit."""
        n = len(self.kgrams)
        out = [("<file>", 0, n)]
        for u in self.stream.units:
            hi = min(u.end - k + 1, n)
            if hi > u.start:
                out.append((u.name, u.start, hi))
        return out


class FingerprintMap(Protocol):
    """Fingerprints computed elsewhere (a cluster), handed to `fingerprint_many` by the caller
    (`checker.scale.ray.RayFingerprintMap`, built by the CLI's `--ray`): for every text,
    `fingerprint_text(text, params).compact()`, in input order; `progress(done, total)` as
    `fingerprint_many`'s. The library never imports such an engine; it is handed in."""

    def __call__(
        self, texts: list[str], params: FingerprintParams, progress: Callable[[int, int], None] | None = None
    ) -> list[CodeFingerprint]: ...


def fingerprint_text(
    text: str, params: FingerprintParams, lexical_reason: str = "", parsed: ParsedText | None = None
) -> CodeFingerprint:
    """With `lexical_reason`, the text is read by the lexical fallback only, without libCST.
    `parsed`: `checker.code.tokens.parse_text(text)` when the caller has it (the task's rules
    read the same tree)."""
    if lexical_reason:
        stream = lexical_normalise(text, lexical_reason, params.long_string_chars)
    else:
        stream = normalise(text, params.min_unit_tokens, params.long_string_chars, parsed)
    kgrams = kgram_hashes(token_hashes(stream.tokens, params.seed), params.k)
    return CodeFingerprint(stream, kgrams)


def _fingerprint_star(args: tuple[str, FingerprintParams]) -> CodeFingerprint:
    return fingerprint_text(*args).compact()


def fingerprint_many(
    texts: list[str],
    params: FingerprintParams,
    jobs: int = 0,
    progress=None,
    map: FingerprintMap | None = None,
    on_workers_started: Callable[[], None] | None = None,
    cache: FingerprintCache | KnownFingerprints | None = None,
) -> list[CodeFingerprint]:
    """Fingerprint texts, in worker processes when there are enough to pay for them.

    jobs=0 means one worker per core. Workers only parse text: no learner code is imported.
    The fingerprints come back compact (`CodeFingerprint.compact`: no token texts).
    Identical texts (handout copies, files shared between learners) are fingerprinted once.

    `map`: fingerprint elsewhere instead of on this machine's cores (a `FingerprintMap` the
    caller hands in, e.g. Ray tasks on a cluster: checker.scale.ray), same results in the same order.

    `on_workers_started` is called once the work is handed out (after the worker processes
    forked): the caller may start threads then without forking in the middle of them.

    `cache` (checker.code.fpcache): texts fingerprinted before with these parameters are read
    from it, not parsed; the others are computed and stored there.
    """
    unique = list(dict.fromkeys(texts))
    found: dict[str, CodeFingerprint] = {}
    keys: dict[str, bytes] = {}
    if cache is not None and cache.enabled:
        from checker.code.fpcache import text_key

        keys = {t: text_key(t) for t in unique}
        stored = cache.get_many(keys.values())
        found = {t: stored[k] for t, k in keys.items() if k in stored}
    todo = [t for t in unique if t not in found]
    if progress and found:
        progress(len(found), len(unique))
    step = (lambda d, total: progress(len(found) + d, len(unique))) if progress else None
    if map is not None:
        if on_workers_started:
            on_workers_started()
        computed = map(todo, params, progress=step) if todo else []
    else:
        computed = _fingerprint_unique(todo, params, jobs, step, on_workers_started)
    if keys and computed:
        cache.put_many((keys[t], fp) for t, fp in zip(todo, computed))  # type: ignore[union-attr]
    found.update(zip(todo, computed))
    return [found[t] for t in texts]


def _fingerprint_unique(
    texts: list[str], params: FingerprintParams, jobs: int, progress, on_workers_started=None
) -> list[CodeFingerprint]:
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1 or len(texts) < 40:
        if on_workers_started:
            on_workers_started()
        in_order = []
        for i, t in enumerate(texts):
            in_order.append(fingerprint_text(t, params).compact())
            if progress:
                progress(i + 1, len(texts))
        return in_order
    # Largest files first, in small chunks: a big file met last would leave one core idle
    # while the other finishes it.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out: list[CodeFingerprint | None] = [None] * len(texts)
    done = 0
    try:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            chunk = max(1, min(8, len(texts) // (jobs * 8)))
            # map() submits every chunk before it returns, and the first submit forks the workers
            results = pool.map(_fingerprint_star, ((texts[i], params) for i in order), chunksize=chunk)
            if on_workers_started:
                on_workers_started()
                on_workers_started = None
            for i, fp in zip(order, results):
                out[i] = fp
                done += 1
                if progress:
                    progress(done, len(texts))
    except BrokenProcessPool:
        # A worker died: libCST crashed on a file (checker.code.parse_guard keeps the crashes known
        # to it away). What came back is kept; the rest is fingerprinted again, one file per
        # task, which finds the file that kills its worker and reads it lexically instead.
        if on_workers_started:
            on_workers_started()
        rest = [i for i in order if out[i] is None]
        for i, fp in _fingerprint_isolating(texts, rest, params, jobs):
            out[i] = fp
            done += 1
            if progress:
                progress(done, len(texts))
    filled = [fp for fp in out if fp is not None]
    if len(filled) != len(texts):  # every slot is filled by now: anything else is our bug
        raise RuntimeError(f"fingerprints: {len(texts) - len(filled)} file(s) came back empty")
    return filled


WORKER_DIED = "libCST crashed the worker process that parsed it; read lexically"


def _fingerprint_isolating(
    texts: list[str], items: list[int], params: FingerprintParams, jobs: int
) -> Iterator[tuple[int, CodeFingerprint]]:
    """(index, fingerprint) of `items` in worker processes, one file per task and at most `jobs`
    in flight, so a worker's death costs only the files in flight. Those are run again one at a
    time; a file that kills its worker alone is fingerprinted here by the lexical fallback,
    which does not use libCST."""
    pending = deque(items)
    while pending:
        suspects: list[int] = []
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            running: dict = {}
            while (pending or running) and not suspects:
                try:
                    while pending and len(running) < jobs:
                        future = pool.submit(_fingerprint_star, (texts[pending[0]], params))
                        running[future] = pending.popleft()
                except BrokenProcessPool:  # died since the last wait: its futures fail soon
                    if not running:  # died idle: retried, but by itself so that this ends
                        suspects.append(pending.popleft())
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = running.pop(future)
                    if isinstance(future.exception(), BrokenProcessPool):
                        suspects.append(i)
                    else:
                        yield i, future.result()
            suspects += running.values()  # a dead pool fails every future in flight
        if len(suspects) == 1 and jobs == 1:
            yield suspects[0], fingerprint_text(texts[suspects[0]], params, WORKER_DIED).compact()
        elif suspects:
            yield from _fingerprint_isolating(texts, suspects, params, 1)


@functools.lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int):
    """datasketch derives its permutations from (num_perm, seed); made once, not per MinHash
    (measured: a third of the candidate stage's time was spent re-deriving them)."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme="affine64").permutations


def minhash_of(hashes: np.ndarray, params: FingerprintParams):
    """datasketch MinHash of a set of 64-bit fingerprints (fixed seed, affine64 scheme)."""
    from datasketch import MinHash

    m = MinHash(
        num_perm=params.num_perm,
        seed=params.seed,
        hashfunc=int,
        scheme="affine64",
        permutations=_permutations(params.num_perm, params.seed),
    )
    if hashes.size:
        m.update_batch(hashes)
    return m


def minhash_values_many(hash_sets: list[np.ndarray], params: FingerprintParams) -> np.ndarray:
    """The MinHash values of many sets at once: row i equals `minhash_of(hash_sets[i]).hashvalues`
    bit for bit (tests/test_fingerprints.py), shape (len(hash_sets), num_perm), uint64.

    datasketch's `update_batch` turns every value into a Python int through `hashfunc` before its
    numpy step, one set at a time. Here the same affine64 scheme (datasketch's MurmurHash3
    finaliser, then a*h + b modulo 2^64, minimum per set) runs over all sets' values together,
    one permutation at a time so memory stays at a few vectors of the round's total size:
    16k sets of 1.2M values in 0.23 s instead of 0.53 s.
    """
    from datasketch.minhash import _fmix

    a, b = _permutations(params.num_perm, params.seed)
    out = np.full((len(hash_sets), params.num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    rows = [i for i, h in enumerate(hash_sets) if h.size]
    if not rows:
        return out
    sizes = np.array([hash_sets[i].size for i in rows], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    mixed = _fmix(np.concatenate([hash_sets[i] for i in rows]).astype(np.uint64, copy=False), 64)
    phv = np.empty_like(mixed)
    with np.errstate(over="ignore"):
        for j in range(params.num_perm):
            np.multiply(mixed, a[j], out=phv)
            phv += b[j]
            out[rows, j] = np.minimum.reduceat(phv, starts)
    return out


def minhash_permutations(params: FingerprintParams) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) permutation parameters behind `minhash_of` (datasketch's, from num_perm and
    seed), for building MinHash objects from values computed elsewhere."""
    return _permutations(params.num_perm, params.seed)


__all__ = [
    "CodeFingerprint",
    "FingerprintMap",
    "FingerprintParams",
    "ParamsMismatch",
    "Unit",
    "fingerprint_many",
    "fingerprint_text",
    "minhash_of",
    "minhash_permutations",
    "minhash_values_many",
]
