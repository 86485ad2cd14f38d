"""The LSH tables on Redis, shared by several mentors: datasketch's own Redis storage
(`MinHashLSH(storage_config={"type": "redis", ...})`) used as it is.

Redis layout under a prefix P (`redis://host:port/db?prefix=P`, default `noshortcut`):

    P:current        JSON manifest of the live tables: basename, threshold, (b, r), fingerprint
                     parameters, number of keys, and what they were built from (`source`)
    P:<12 hex>_...   datasketch's keys of one build (its `basename` is `P:<12 hex>`): b bucket
                     tables (`_bucket_<band>`) and the key table (`_keys`)
    P:lock           held (redis-py `Lock`) by the one process that writes

Invariants:
- Atomic switch. A build writes a fresh basename, then replaces `P:current` with one `SET`; a
  reader opens whatever `P:current` names, so it sees either the old tables or the new ones,
  never a half-written set. The tables before the previous ones are deleted after the switch
  (the previous ones stay, for readers that opened them a moment before).
- Loud parameters. `P:current` records the fingerprint parameters and the threshold; opening it
  with others raises `SharedIndexMismatch` saying how to rebuild (as `ParamsMismatch` does).

Library code: never prints; `redis` is imported inside functions (an optional extra).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np

from checker import defaults
from checker.code.fingerprints import FingerprintParams, ParamsMismatch
from checker.scale import ScaleConfigError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from checker.corpus.index import CorpusIndex

# The permutation scheme of `checker.code.fingerprints.minhash_of` (datasketch refuses to mix schemes).
_MINHASH_SCHEME = "affine64"


class SharedIndexMissing(LookupError):
    """No LSH tables under this Redis prefix yet."""


class SharedIndexMismatch(ParamsMismatch):
    """The shared LSH was built with other parameters, or from another state of the corpus."""


class SharedIndexBusy(RuntimeError):
    """Another process held the writer lock for longer than we wait."""


# --- Redis location --------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisLocation:
    """Where the shared LSH lives: one Redis database and a key prefix inside it."""

    host: str = "localhost"
    port: int = defaults.SCALE_REDIS_PORT
    db: int = 0
    prefix: str = defaults.SCALE_REDIS_PREFIX
    password: str | None = None
    username: str | None = None
    ssl: bool = False

    def redis_params(self) -> dict:
        """Keyword arguments for `redis.Redis` (and datasketch's `storage_config["redis"]`)."""
        params: dict = {"host": self.host, "port": self.port, "db": self.db}
        if self.password is not None:
            params["password"] = self.password
        if self.username is not None:
            params["username"] = self.username
        if self.ssl:
            params["ssl"] = True
        return params

    def storage_config(self, basename: bytes | None = None) -> dict:
        """datasketch's `storage_config` for MinHashLSH: `basename` defaults to the prefix."""
        return {"type": "redis", "basename": basename or self.prefix.encode("utf-8"),
                "redis": self.redis_params()}

    def client(self):
        import redis

        return redis.Redis(**self.redis_params())

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def __str__(self) -> str:  # never shows the password
        scheme = "rediss" if self.ssl else "redis"
        return f"{scheme}://{self.host}:{self.port}/{self.db}?prefix={self.prefix}"


def is_redis_url(text: str | None) -> bool:
    return bool(text) and str(text).startswith(("redis://", "rediss://"))


def parse_redis_url(url: str) -> RedisLocation:
    """`redis://[[user]:password@]host[:port][/db][?prefix=NAME]` -> `RedisLocation`.

    Defaults: localhost, port 6379, db 0, prefix `noshortcut`. `rediss://` is Redis over TLS."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("redis", "rediss"):
        raise ScaleConfigError(f"{url!r}: expected redis://host:port/db?prefix=NAME")
    try:
        port = parts.port or defaults.SCALE_REDIS_PORT
    except ValueError:
        raise ScaleConfigError(f"{url!r}: the port is not a number 0-65535") from None
    path = parts.path.strip("/")
    if path and not path.isdigit():
        raise ScaleConfigError(f"{url!r}: the database after the '/' must be a number, got {path!r}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = set(query) - {"prefix"}
    if unknown:
        raise ScaleConfigError(f"{url!r}: unknown option(s) {sorted(unknown)}; only ?prefix=NAME is read")
    prefix = query.get("prefix", defaults.SCALE_REDIS_PREFIX)
    if not prefix or any(ch in prefix for ch in "*?[]\\ "):
        raise ScaleConfigError(f"{url!r}: the prefix must be non-empty, without spaces or *?[]\\")
    return RedisLocation(
        host=parts.hostname or "localhost", port=port, db=int(path or 0), prefix=prefix,
        password=unquote(parts.password) if parts.password is not None else None,
        username=unquote(parts.username) if parts.username else None,
        ssl=parts.scheme == "rediss")


def redis_storage_config(url: str) -> dict:
    """`redis://host:port/db?prefix=NAME` -> datasketch's `storage_config` (basename = prefix)."""
    return parse_redis_url(url).storage_config()


def _location(where: RedisLocation | str) -> RedisLocation:
    return where if isinstance(where, RedisLocation) else parse_redis_url(where)


# --- the shared LSH ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedLshManifest:
    """What `P:current` says about the live tables."""

    basename: str
    threshold: float
    bands: int
    rows: int
    params: dict  # FingerprintParams.to_dict()
    keys: int
    source: str = ""  # what the tables were built from (a corpus index: "<epoch>:<generation>")
    built_at: str = ""

    def check(self, params: FingerprintParams | None, threshold: float | None, where: str) -> None:
        if params is not None and FingerprintParams(**self.params) != params:
            try:
                params.check_compatible(FingerprintParams(**self.params), where)
            except ParamsMismatch as exc:
                raise SharedIndexMismatch(f"{exc} (shared LSH: `checker lsh-sync URL --index DIR` "
                                          "pushes the index again)") from None
        if threshold is not None and abs(threshold - self.threshold) > 1e-12:
            raise SharedIndexMismatch(
                f"{where} was built for LSH threshold {self.threshold}, this run asks for "
                f"{threshold}; push it again with that threshold (`checker lsh-sync URL --index DIR "
                f"--threshold {threshold}`) or run with --lsh-threshold {self.threshold}")


class SharedLSH:
    """A datasketch MinHashLSH on Redis, opened from `P:current`. Queries are read-only."""

    def __init__(self, location: RedisLocation, manifest: SharedLshManifest) -> None:
        from datasketch import MinHashLSH

        self.location = location
        self.manifest = manifest
        self.lsh = MinHashLSH(
            threshold=manifest.threshold, num_perm=manifest.params["num_perm"],
            params=(manifest.bands, manifest.rows),
            storage_config=location.storage_config(manifest.basename.encode("utf-8")))
        self._seed = manifest.params["seed"]

    def __len__(self) -> int:
        return self.manifest.keys

    def _minhash(self, signature):
        from datasketch import LeanMinHash

        if hasattr(signature, "hashvalues"):
            return signature
        return LeanMinHash(seed=self._seed, hashvalues=np.asarray(signature, dtype=np.uint64),
                           scheme=_MINHASH_SCHEME)

    def query(self, signature) -> list:
        """Keys sharing at least one band with this MinHash (or its hash values), sorted."""
        return sorted(self.lsh.query(self._minhash(signature)))

    def query_many(self, signatures: Sequence) -> list[list]:
        """`query` for many signatures in b Redis round trips in all (one pipeline per band)
        instead of b per signature: what a scan of thousands of files needs over a network."""
        import pickle

        if not signatures:
            return []
        lsh = self.lsh
        values = [np.asarray(getattr(s, "hashvalues", s), dtype=np.uint64) for s in signatures]
        for v in values:
            if len(v) != lsh.h:
                raise ValueError(f"expected signatures of {lsh.h} hash values, got {len(v)}")
        found: list[set] = [set() for _ in values]
        for (start, end), table in zip(lsh.hashranges, lsh.hashtables):
            # datasketch's own band key (`_H`), so that keys match those its insert wrote
            buckets = table.getmany(*[lsh._H(v[start:end]) for v in values])
            for out, bucket in zip(found, buckets):
                out.update(bucket)
        if lsh.prepickle:
            return [sorted(pickle.loads(k) for k in keys) for keys in found]
        return [sorted(keys) for keys in found]


@contextlib.contextmanager
def _writer_lock(location: RedisLocation, client) -> Iterator[None]:
    lock = client.lock(location.key("lock"), timeout=defaults.SCALE_REDIS_LOCK_TTL_S,
                       blocking_timeout=defaults.SCALE_REDIS_LOCK_WAIT_S)
    if not lock.acquire():
        raise SharedIndexBusy(
            f"{location}: another process is writing these LSH tables (waited "
            f"{defaults.SCALE_REDIS_LOCK_WAIT_S:.0f} s); try again when it is done")
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # expired: the writer was slower than the TTL
            lock.release()


def read_manifest(where: RedisLocation | str) -> SharedLshManifest | None:
    location = _location(where)
    raw = location.client().get(location.key("current"))
    return SharedLshManifest(**json.loads(raw)) if raw else None


def open_shared_lsh(where: RedisLocation | str, params: FingerprintParams | None = None,
                    threshold: float | None = None) -> SharedLSH:
    """Open the live tables; `params`/`threshold` of this run must match those they were built
    with (`SharedIndexMismatch` otherwise). `SharedIndexMissing` when nothing was built yet."""
    location = _location(where)
    manifest = read_manifest(location)
    if manifest is None:
        raise SharedIndexMissing(f"{location}: no shared LSH under this prefix; push one with "
                                 "`checker lsh-sync URL --index DIR`")
    manifest.check(params, threshold, f"shared LSH {location}")
    return SharedLSH(location, manifest)


def build_shared_lsh(where: RedisLocation | str, items: Iterable[tuple[Hashable, object]],
                     params: FingerprintParams, threshold: float = defaults.CORPUS_LSH_THRESHOLD,
                     source: str = "") -> SharedLSH:
    """Write a new set of LSH tables from (key, MinHash or hash-value array) items and switch
    `P:current` to it atomically. Keys are any picklable values (datasketch pickles them)."""
    from datasketch import LeanMinHash, MinHashLSH

    location = _location(where)
    client = location.client()
    basename = location.key(uuid.uuid4().hex[:12])
    lsh = MinHashLSH(threshold=threshold, num_perm=params.num_perm,
                     storage_config=location.storage_config(basename.encode("utf-8")))
    n = 0
    with _writer_lock(location, client):
        try:
            with lsh.insertion_session(buffer_size=defaults.SCALE_REDIS_BUFFER) as session:
                for key, sig in items:
                    if not hasattr(sig, "hashvalues"):
                        sig = LeanMinHash(seed=params.seed, hashvalues=np.asarray(sig, dtype=np.uint64),
                                          scheme=_MINHASH_SCHEME)
                    elif sig.seed != params.seed or len(sig.hashvalues) != params.num_perm:
                        raise SharedIndexMismatch(
                            f"signature of {key!r} has seed {sig.seed} and {len(sig.hashvalues)} "
                            f"permutations; these tables take seed {params.seed}, {params.num_perm}")
                    session.insert(key, sig, check_duplication=False)
                    n += 1
        except BaseException:
            _delete_tables(client, basename)
            raise
        manifest = SharedLshManifest(
            basename=basename, threshold=threshold, bands=lsh.b, rows=lsh.r,
            params=params.to_dict(), keys=n, source=source,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        previous = read_manifest(location)
        client.set(location.key("current"), json.dumps(asdict(manifest)))
        # older tables than the previous ones go; the previous ones stay for readers that opened
        # them just before the switch (they go at the next build)
        tables_key = location.key("tables")
        keep = {basename, previous.basename} if previous else {basename}
        for name in sorted(b.decode() for b in client.smembers(tables_key)):
            if name not in keep:
                _delete_tables(client, name)
                client.srem(tables_key, name)
        client.sadd(tables_key, *keep)
    return SharedLSH(location, manifest)


def _delete_tables(client, basename: str) -> int:
    """Delete every key of one datasketch basename (its buckets and key table)."""
    deleted = 0
    batch = []
    for key in client.scan_iter(match=f"{basename}_*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += client.unlink(*batch)
            batch = []
    if batch:
        deleted += client.unlink(*batch)
    return deleted


def drop_shared_lsh(where: RedisLocation | str) -> int:
    """Delete every table under the prefix (and `P:current`); returns the number of keys."""
    location = _location(where)
    client = location.client()
    deleted = 0
    with _writer_lock(location, client):
        for name in client.smembers(location.key("tables")):
            deleted += _delete_tables(client, name.decode())
        deleted += client.delete(location.key("tables"), location.key("current"))
    return deleted


# --- the corpus index on Redis -----------------------------------------------------------------


def corpus_source_tag(index: CorpusIndex) -> str:
    """What identifies a state of a corpus index: its database epoch and generation."""
    return f"{index.epoch}:{index.generation}"


@dataclass(frozen=True)
class SyncDone:
    location: str
    keys: int
    seconds: float
    status: str = "pushed"


@dataclass(frozen=True)
class SyncUnchanged:
    location: str
    keys: int
    reason: str
    status: str = "unchanged"


SyncOutcome = SyncDone | SyncUnchanged


def sync_corpus_index(index: CorpusIndex, where: RedisLocation | str,
                      threshold: float = defaults.CORPUS_LSH_THRESHOLD, force: bool = False) -> SyncOutcome:
    """Push the corpus index's stored signature matrix (read through `CorpusIndex.signatures()`)
    into shared LSH tables. Keys are (content id, range index), as the index's own LSH rows are.
    A no-op when the tables already hold this state of the index with these parameters."""
    location = _location(where)
    tag = corpus_source_tag(index)
    current = read_manifest(location)
    if (not force and current is not None and current.source == tag
            and current.params == index.params.to_dict() and current.threshold == threshold):
        return SyncUnchanged(str(location), current.keys, f"already holds index state {tag}")
    started = time.perf_counter()
    keys, matrix = index.signatures()
    items = ((tuple(k), row) for k, row in zip(keys.tolist(), matrix))
    shared = build_shared_lsh(location, items, index.params, threshold, source=tag)
    return SyncDone(str(location), len(shared), round(time.perf_counter() - started, 3))


class RedisCorpusLSH:
    """The corpus index's LSH contract (`checker.corpus.lsh.LSHIndex`: `query(hashvalues)` -> row
    numbers of `keys`/`matrix`, as `BandedLSH` and `DatasketchLSH` give) served by shared tables on
    Redis."""

    def __init__(self, index: CorpusIndex, where: RedisLocation | str, keys: np.ndarray,
                 threshold: float = defaults.CORPUS_LSH_THRESHOLD) -> None:
        self.shared = open_shared_lsh(where, index.params, threshold)
        tag = corpus_source_tag(index)
        if self.shared.manifest.source != tag:
            raise SharedIndexMismatch(
                f"shared LSH {self.shared.location} holds corpus state "
                f"{self.shared.manifest.source or '(not a corpus index)'}, the index {index.path} is at "
                f"{tag}; push it again with `checker lsh-sync {self.shared.location} --index {index.path}`")
        self._row_of = {(int(c), int(r)): i for i, (c, r) in enumerate(keys.tolist())}

    def query(self, hashvalues: np.ndarray) -> np.ndarray:
        rows = [self._row_of[tuple(k)] for k in self.shared.query(hashvalues)]
        return np.array(sorted(rows), dtype=np.int64)

    def query_many(self, signatures: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.array(sorted(self._row_of[tuple(k)] for k in keys), dtype=np.int64)
                for keys in self.shared.query_many(signatures)]


@dataclass(frozen=True)
class RedisLSHEngine:
    """The `LSHFactory` (checker.corpus.lsh) of the shared tables at `location`, handed to
    `CorpusIndex.lsh` by the CLI (`checker scan --lsh URL`): `RedisCorpusLSH` of the opened index."""

    location: RedisLocation

    def __call__(self, index: CorpusIndex, keys: np.ndarray, matrix: np.ndarray,
                 threshold: float) -> RedisCorpusLSH:
        return RedisCorpusLSH(index, self.location, keys, threshold)

    def __repr__(self) -> str:  # never shows the password
        return f"RedisLSHEngine({self.location})"


__all__ = [
    "RedisCorpusLSH", "RedisLSHEngine", "RedisLocation", "ScaleConfigError", "SharedIndexBusy", "SharedIndexMismatch",
    "SharedIndexMissing", "SharedLSH", "SharedLshManifest", "SyncDone", "SyncOutcome", "SyncUnchanged",
    "build_shared_lsh", "corpus_source_tag", "drop_shared_lsh", "is_redis_url", "open_shared_lsh",
    "parse_redis_url", "read_manifest", "redis_storage_config", "sync_corpus_index",
]
