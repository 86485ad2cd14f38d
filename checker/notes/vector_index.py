"""FAISS over L2-normalised vectors: inner product = cosine similarity.

Exact search (`IndexFlatIP`) below `defaults.VECTOR_IVF_MIN_SIZE` vectors, an inverted-file index
(`IndexIVFFlat`, nlist ~ 4*sqrt(n), `defaults.VECTOR_IVF_NPROBE` lists probed) above it, where exact
search stops being cheap. When the installed faiss build sees GPUs, searching runs on all of them
(`faiss.index_cpu_to_all_gpus`); the CPU index is what is saved. Saving is atomic: a temporary file
in the same folder, then `os.replace`, so a reader never sees half an index.

faiss is imported inside functions only (heavy adapter, DESIGN.md boundaries).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from checker import defaults


def _faiss():
    import faiss

    return faiss


def _gpu_count() -> int:
    faiss = _faiss()
    getter = getattr(faiss, "get_num_gpus", None)
    return int(getter()) if getter else 0


def _as_matrix(vectors: np.ndarray, dim: int | None = None) -> np.ndarray:
    matrix = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array of vectors, got shape {matrix.shape}")
    if dim is not None and matrix.shape[1] != dim:
        raise ValueError(
            f"vectors have dimension {matrix.shape[1]} but the index holds {dim}: "
            "were they made with another embedding model?"
        )
    return matrix


class VectorIndex:
    """Nearest neighbours by cosine over unit vectors; ids are row numbers in insertion order."""

    def __init__(self, cpu_index, use_gpu: bool | None = None):
        self._cpu = cpu_index
        self.dim = int(cpu_index.d)
        if use_gpu is None:
            use_gpu = _gpu_count() > 0
        self._search_index = _faiss().index_cpu_to_all_gpus(cpu_index) if use_gpu else cpu_index

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        dim: int | None = None,
        ivf_min_size: int = defaults.VECTOR_IVF_MIN_SIZE,
        nprobe: int = defaults.VECTOR_IVF_NPROBE,
        use_gpu: bool | None = None,
    ) -> VectorIndex:
        """An index over `vectors` (rows L2-normalised). `dim` is needed only when it is empty."""
        faiss = _faiss()
        matrix = _as_matrix(vectors) if len(vectors) else np.zeros((0, dim or 0), np.float32)
        n, d = matrix.shape
        if d == 0:
            raise ValueError("cannot build an index of unknown dimension: pass dim=")
        if n < ivf_min_size:
            index = faiss.IndexFlatIP(d)
        else:
            # 4*sqrt(n) lists is FAISS's usual guidance; at least 39 training points per list
            # (its warning threshold) keeps k-means meaningful.
            nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(matrix)
            index.nprobe = min(nprobe, nlist)
        if n:
            index.add(matrix)
        return cls(index, use_gpu)

    @property
    def kind(self) -> str:
        return "ivf" if hasattr(self._cpu, "nprobe") else "flat"

    def __len__(self) -> int:
        return int(self._cpu.ntotal)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each of shape (len(queries), k); missing neighbours have id -1."""
        matrix = _as_matrix(queries, self.dim)
        if len(matrix) == 0 or len(self) == 0 or k < 1:
            shape = (len(matrix), max(k, 0))
            return np.zeros(shape, np.float32), np.full(shape, -1, np.int64)
        scores, ids = self._search_index.search(matrix, min(k, len(self)))
        if ids.shape[1] < k:  # pad to the k asked for
            pad = k - ids.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)))
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        return scores, ids.astype(np.int64)

    def save(self, path: str | Path) -> None:
        """Write atomically: temp file in the same folder, then os.replace."""
        path = Path(path)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            _faiss().write_index(self._cpu, str(temporary))
            os.replace(temporary, path)
        finally:
            if temporary.exists():
                temporary.unlink()

    @classmethod
    def load(cls, path: str | Path, use_gpu: bool | None = None) -> VectorIndex:
        return cls(_faiss().read_index(str(path)), use_gpu)
