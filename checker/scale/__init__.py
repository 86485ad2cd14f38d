"""Beyond one machine: the LSH tables on Redis (shared by several mentors, `checker.scale.redis`)
and fingerprinting / embedding on Ray (a corpus build or a large scan spread over a cluster,
`checker.scale.ray`).

Both are existing engines used as they are: datasketch's own Redis storage holds the LSH
(`MinHashLSH(storage_config={"type": "redis", ...})`), and Ray runs the same functions the
in-process path runs (`checker.code.fingerprints.fingerprint_text`, `checker.notes.embeddings.Embedder`).
Nothing here is a home-made pool or a home-made hash table.

Handed in, never imported by the library: `checker.scale` sits beside `checker.cli` and may import
the library; the library below the CLI never imports it (import-linter). The CLI builds what the
library takes: a `FingerprintMap` (`checker.scale.ray.RayFingerprintMap`) for `fingerprint_many`,
the scan and the corpus builder, and an LSH factory (`checker.scale.redis.RedisLSHEngine`) for
`CorpusIndex.lsh`.

Library code: never prints; `redis` and `ray` are imported inside functions (optional extras).
"""

from __future__ import annotations


class ScaleConfigError(ValueError):
    """A `redis://` or `--ray` address that cannot be used; the message says what is expected."""


__all__ = ["ScaleConfigError"]
