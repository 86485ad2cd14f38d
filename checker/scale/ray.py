"""Fingerprinting and embedding on Ray: a corpus build or a large scan spread over a cluster.

Ray runs the same functions the in-process path runs (`checker.code.fingerprints.fingerprint_text`,
`checker.notes.embeddings.Embedder`); nothing here is a home-made pool.

Invariant:
- Deterministic merge. Ray results come back in input order (`ray.get` on the task list), so a
  corpus built with `--ray` holds exactly what the in-process build holds (tests/test_scale_ray.py).

Library code: never prints; `ray` is imported inside functions (an optional extra).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from checker import defaults
from checker.code.fingerprints import CodeFingerprint, FingerprintParams
from checker.scale import ScaleConfigError


def _ray_init_kwargs(address: str, num_cpus: int | None, num_gpus: int | None) -> dict:
    import logging

    common = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address == "local":
        kwargs = {**common, "num_cpus": num_cpus, "_temp_dir": defaults.SCALE_RAY_TEMP_DIR}
        if num_gpus is not None:
            kwargs["num_gpus"] = num_gpus
        return kwargs
    if num_cpus is not None or num_gpus is not None:
        raise ScaleConfigError(f"--ray {address}: CPUs and GPUs are the cluster's own; "
                               "num_cpus/num_gpus only size a 'local' cluster")
    return {**common, "address": address}


@contextlib.contextmanager
def ray_cluster(address: str = "local", num_cpus: int | None = None,
                num_gpus: int | None = None) -> Iterator[None]:
    """Connect to a Ray cluster (`ray://host:10001`, `host:6379`, `auto`) or start a local one
    (`local`: this machine's cores, or `num_cpus`). Shut down on exit only if started here, so a
    corpus build wraps its many batches in one cluster instead of starting one per batch."""
    import ray

    if ray.is_initialized():
        yield
        return
    if not address:
        raise ScaleConfigError("--ray needs an address: 'local', 'auto', host:port or ray://host:port")
    ray.init(**_ray_init_kwargs(address, num_cpus, num_gpus))
    try:
        yield
    finally:
        ray.shutdown()


def _batches(texts: Sequence[str], max_files: int, max_chars: int) -> list[tuple[int, int]]:
    """[start, end) ranges of consecutive texts, at most `max_files` files / `max_chars` chars."""
    out, start, size = [], 0, 0
    for i, text in enumerate(texts):
        if i > start and (i - start >= max_files or size + len(text) > max_chars):
            out.append((start, i))
            start, size = i, 0
        size += len(text)
    if start < len(texts):
        out.append((start, len(texts)))
    return out


def _fingerprint_batch(texts: list[str], params: FingerprintParams) -> list[CodeFingerprint]:
    """Runs in a Ray worker: the same function as the in-process path, nothing else."""
    from checker.code.fingerprints import fingerprint_text

    return [fingerprint_text(t, params).compact() for t in texts]


def ray_fingerprint_many(texts: Sequence[str], params: FingerprintParams, address: str = "local",
                         batch: int = defaults.SCALE_RAY_BATCH_FILES, num_cpus: int | None = None,
                         progress: Callable[[int, int], None] | None = None) -> list[CodeFingerprint]:
    """`fingerprint_many` on Ray: batches of at most `batch` files as `@ray.remote` tasks, one CPU
    each, at least two per CPU of the cluster; results in input order (the merge is
    deterministic). Identical texts are fingerprinted once.

    Joins a running Ray (`ray.is_initialized()`) or starts/connects per `address` for this call
    only (`ray_cluster`). Workers parse text; learner code is never imported or executed."""
    import ray

    unique: dict[str, int] = {}
    slots = [unique.setdefault(t, len(unique)) for t in texts]
    distinct = list(unique)
    if not distinct:
        return []
    with ray_cluster(address, num_cpus):
        task = ray.remote(num_cpus=1, max_retries=defaults.SCALE_RAY_RETRIES)(_fingerprint_batch)
        params_ref = ray.put(params)
        # at least two tasks per CPU of the cluster, so that a small call (the corpus index
        # fingerprints 64 files per call) still spreads over every worker
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        per_task = max(1, min(batch, math.ceil(len(distinct) / (2 * cpus))))
        ranges = _batches(distinct, per_task, defaults.SCALE_RAY_BATCH_CHARS)
        refs = [task.remote(distinct[a:b], params_ref) for a, b in ranges]
        position = {ref: i for i, ref in enumerate(refs)}
        parts: list[list[CodeFingerprint] | None] = [None] * len(refs)
        pending, done = list(refs), 0
        while pending:  # collect as they finish (progress), place by their input position
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                i = position[ref]
                parts[i] = ray.get(ref)
                done += ranges[i][1] - ranges[i][0]
                if progress:
                    progress(done, len(distinct))
    fps = [fp for part in parts for fp in part]  # type: ignore[union-attr]
    return [fps[i] for i in slots]


@dataclass(frozen=True)
class RayFingerprintMap:
    """`fingerprint_many` on Ray, as the `FingerprintMap` (checker.code.fingerprints) the CLI hands
    to the scan and the corpus builder (`--ray ADDRESS`): the same fingerprints, in input order.

    `jobs`: the CPUs of a `local` cluster (0: all of this machine's); a cluster's own otherwise.
    Each call joins a running Ray or starts/connects one for that call only; `cluster()` keeps one
    up around many calls (a corpus build's batches)."""

    address: str = "local"
    jobs: int = 0
    batch: int = defaults.SCALE_RAY_BATCH_FILES

    @property
    def num_cpus(self) -> int | None:
        return (self.jobs or None) if self.address == "local" else None

    def __call__(self, texts: Sequence[str], params: FingerprintParams,
                 progress: Callable[[int, int], None] | None = None) -> list[CodeFingerprint]:
        return ray_fingerprint_many(texts, params, self.address, batch=self.batch,
                                    num_cpus=self.num_cpus, progress=progress)

    def cluster(self) -> contextlib.AbstractContextManager[None]:
        """One Ray cluster for every call made inside (`ray_cluster`)."""
        return ray_cluster(self.address, num_cpus=self.num_cpus)


class _EmbedWorker:
    """A Ray actor holding one loaded embedding model (loading costs seconds: once per worker)."""

    def __init__(self, model_id: str, batch_size: int) -> None:
        from checker.notes.embeddings import Embedder

        self.embedder = Embedder(model_id, batch_size=batch_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def device(self) -> str:
        return self.embedder.device


def ray_embed_many(texts: Sequence[str], model_id: str = defaults.EMBEDDING_MODEL,
                   address: str = "local", workers: int | None = None,
                   batch: int = defaults.SCALE_RAY_EMBED_BATCH, num_cpus: int | None = None
                   ) -> np.ndarray:
    """Embeddings of `texts` in input order from `workers` Ray actors, each holding the model.
    On a cluster with GPUs each actor takes one GPU (`num_gpus=1`, `Embedder` then picks CUDA);
    without, one CPU. `workers` defaults to the GPUs, else the CPUs, of the cluster."""
    import ray

    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    with ray_cluster(address, num_cpus):
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        n = workers or gpus or max(1, int(resources.get("CPU", 1)))
        actor = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1)(_EmbedWorker)
        pool = [actor.remote(model_id, defaults.EMBEDDING_BATCH) for _ in range(n)]
        chunks = [texts[i:i + batch] for i in range(0, len(texts), batch)]
        refs = [pool[i % n].encode.remote(chunk) for i, chunk in enumerate(chunks)]
        out = np.concatenate(ray.get(refs))
        for a in pool:
            ray.kill(a)
    return out


__all__ = ["RayFingerprintMap", "ScaleConfigError", "ray_cluster", "ray_embed_many",
           "ray_fingerprint_many"]
