"""Export the corpus's common k-grams as the list a scan ships with (`checker corpus export-common`).

The corpus index counts, per k-gram, the distinct projects it occurs in (`kgram_df`). The k-grams
of at least `min_projects` projects are code everyone writes (the training loop, dataset loading,
plotting); written to `checker/data/common_kgrams.npz`, they let every scan ignore that code
between learners without a corpus index (`checker.code.common.load_common_kgrams`).

Rebuild the shipped list (corpus/README.md, "Code everyone writes"):

    checker corpus build --index /tmp/cc-index --no-notes
    checker corpus export-common --index /tmp/cc-index -o checker/data/common_kgrams.npz
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from checker import __version__, defaults
from checker.code.common import FORMAT, PROBE, probe_digest
from checker.corpus.index import CorpusIndex


@dataclass(frozen=True)
class CommonExport:
    path: Path
    hashes: int
    min_projects: int
    projects: int  # distinct projects in the index
    bytes: int
    counts: dict[int, int]  # k-grams found in at least N projects, for N = 2 .. projects
    missing: tuple[str, ...]  # manifest sources the index does not hold (not counted)


def _manifest_facts(manifest: Path | None) -> tuple[dict, list[str]]:
    if manifest is None or not Path(manifest).is_file():
        return {}, []
    from checker.corpus.sources import load_manifest

    raw = Path(manifest).read_bytes()
    specs = [e.spec.id for e in load_manifest(Path(manifest))]
    return {"path": Path(manifest).name, "sha256": hashlib.sha256(raw).hexdigest(),
            "sources": specs}, specs


def export_common_kgrams(index_path: Path, out: Path, min_projects: int | None = None,
                         manifest: Path | None = defaults.CORPUS_MANIFEST) -> CommonExport:
    """Write the k-grams of at least `min_projects` projects of the index at `index_path` (default
    `defaults.COMMON_KGRAMS_MIN_PROJECTS`) to `out` (atomically), with a header recording the
    fingerprint parameters, the sources, the manifest's digest and a probe of the normaliser."""
    min_projects = defaults.COMMON_KGRAMS_MIN_PROJECTS if min_projects is None else int(min_projects)
    with CorpusIndex.open(index_path) as index:
        hashes = index.common_kgrams(min_projects=min_projects)  # sorted, unique, uint64
        counts = index.common_counts()
        projects = index.projects()
        sources = [{"source": s.spec, "project": s.project, "version": s.version, "origin": s.origin}
                   for s in index.sources()]
        params = index.params
        index_digest = index.digest()
    manifest_facts, manifest_specs = _manifest_facts(manifest)
    held = {s["source"] for s in sources}
    missing = tuple(s for s in manifest_specs if s not in held)
    header = {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": {"name": "noshortcut", "version": __version__},
        "params": params.to_dict(),
        "min_projects": min_projects,
        "projects": projects,
        "hashes": int(hashes.size),
        "counts_at_least": {str(n): c for n, c in counts.items()},
        "index_digest": index_digest,
        "manifest": manifest_facts,
        "missing_sources": list(missing),
        "sources": sources,
        "probe": {"text": PROBE, "digest": probe_digest(PROBE, params)},
        "command": "checker corpus build --index INDEX --no-notes && "
                   f"checker corpus export-common --index INDEX --min-projects {min_projects} "
                   "-o checker/data/common_kgrams.npz",
    }
    buf = io.BytesIO()
    np.savez_compressed(buf, hashes=np.ascontiguousarray(hashes, dtype=np.uint64),
                        header=np.frombuffer(json.dumps(header, ensure_ascii=False,
                                                        sort_keys=True).encode("utf-8"),
                                             dtype=np.uint8))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make a shipped file unreadable to others
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return CommonExport(out, int(hashes.size), min_projects, projects, out.stat().st_size, counts,
                        missing)


__all__ = ["CommonExport", "export_common_kgrams"]
