"""FAISS wrapper: exact and IVF search over unit vectors, atomic save and load."""

from __future__ import annotations

import numpy as np
import pytest

from checker.notes.vector_index import VectorIndex


def _unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_exact_index_finds_each_vector_as_its_own_nearest_neighbour():
    vectors = _unit_vectors(500, 32)
    index = VectorIndex.build(vectors)
    scores, ids = index.search(vectors[:20], k=3)
    assert index.kind == "flat"
    assert ids[:, 0].tolist() == list(range(20))
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)


def test_ivf_index_above_the_size_threshold_finds_near_duplicates():
    vectors = _unit_vectors(4000, 32, seed=1)
    noisy = vectors[:200] + 0.05 * _unit_vectors(200, 32, seed=2)
    queries = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    ivf = VectorIndex.build(vectors, ivf_min_size=1000, nprobe=16)
    assert ivf.kind == "ivf"
    top1 = ivf.search(queries, k=1)[1][:, 0]
    # copies are what the checker looks for: a slightly edited vector must find its original
    assert np.mean(top1 == np.arange(200)) >= 0.95


def test_save_is_atomic_and_load_gives_the_same_answers(tmp_path):
    vectors = _unit_vectors(100, 16)
    index = VectorIndex.build(vectors)
    path = tmp_path / "vectors.faiss"
    index.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.faiss"]  # no temp file left
    loaded = VectorIndex.load(path)
    assert len(loaded) == 100
    assert np.array_equal(loaded.search(vectors[:5], 2)[1], index.search(vectors[:5], 2)[1])


def test_vectors_of_another_dimension_are_refused_with_a_hint():
    index = VectorIndex.build(_unit_vectors(10, 16))
    with pytest.raises(ValueError, match="another embedding model"):
        index.search(_unit_vectors(1, 8), 1)


def test_searching_an_empty_index_returns_no_neighbours():
    index = VectorIndex.build(np.zeros((0, 8), np.float32), dim=8)
    _, ids = index.search(_unit_vectors(2, 8), k=3)
    assert ids.shape == (2, 3) and (ids == -1).all()
