"""NotesCorpus: persisted documents, fingerprints and embeddings; no-op re-adds; removal."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from checker.notes.config import CorpusMismatchError, NotesConfig
from checker.notes.corpus import NotesCorpus


class BigramEmbedder:
    """A deterministic stand-in for a sentence model: hashed character bigrams, unit length.

    Identical sentences get cosine 1, unrelated ones about 0: enough to test storage and
    plumbing without loading a model.
    """

    model_id = "test-bigrams"
    multilingual = False

    def __init__(self):
        self.computed = 0

    def encode(self, texts):
        out = np.zeros((len(texts), 128), np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:]):
                out[row, hashlib.blake2b((a + b).encode(), digest_size=2).digest()[0] % 128] += 1
        out += 1e-3
        self.computed += len(texts)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


ARTICLE = "# Softmax\n\nSoftmax turns logits into probabilities. They are non-negative and sum to one.\n"


def test_saved_corpus_reopens_with_documents_and_vectors(tmp_path):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder())
    corpus.set_source("blog", url="https://blog.example", title="A blog")
    assert corpus.add_document("blog", "softmax.md", ARTICLE, {"licence": "CC-BY"})
    corpus.save()
    corpus.close()
    reopened = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder(), create=False)
    stats = reopened.stats()
    assert (stats["documents"], stats["paragraphs"], stats["sentences"]) == (1, 1, 2)
    assert stats["fingerprints"] > 0
    arrays, index = reopened._load_arrays()
    assert arrays["vectors"].shape == (2, 128) and len(index) == 2
    assert reopened.sources() == [("blog", 1)]


def test_re_adding_unchanged_content_is_a_no_op(tmp_path):
    embedder = BigramEmbedder()
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=embedder)
    corpus.add_document("blog", "softmax.md", ARTICLE)
    corpus.save()
    computed = embedder.computed
    assert not corpus.add_document("blog", "softmax.md", ARTICLE)
    assert corpus.add_document("blog", "softmax.md", ARTICLE + "\nA new paragraph here.\n")
    corpus.save()
    assert corpus.stats()["documents"] == 1 and corpus.stats()["paragraphs"] == 2
    assert embedder.computed > computed


def test_removing_a_source_removes_its_documents_and_vectors(tmp_path):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder())
    corpus.add_document("blog", "a.md", ARTICLE)
    corpus.add_document("book", "b.md", "# B\n\nA different text about convolutions and kernels.\n")
    corpus.save()
    assert corpus.remove_source("blog") == 1
    corpus.save()
    arrays, _ = corpus._load_arrays()
    assert corpus.sources() == [("book", 1)] and len(arrays["unit_ids"]) == 1
    assert sorted(p.name for p in (tmp_path / "notes").glob("vectors-*")) == [
        "vectors-2.faiss", "vectors-2.npz"]  # the previous generation is gone


def test_unsaved_additions_are_rolled_back_and_the_previous_index_stays_usable(tmp_path):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder())
    corpus.add_document("blog", "a.md", ARTICLE)
    corpus.save()
    corpus.add_document("blog", "b.md", "# B\n\nInterrupted before save.\n")
    corpus.close()  # no save: as if the build was interrupted
    reopened = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder(), create=False)
    assert reopened.stats()["documents"] == 1


def test_opening_with_other_parameters_or_model_fails_loudly(tmp_path):
    corpus = NotesCorpus.open(tmp_path / "notes", embedder=BigramEmbedder())
    corpus.save()
    corpus.close()
    with pytest.raises(CorpusMismatchError, match="k=5"):
        NotesCorpus.open(tmp_path / "notes", config=NotesConfig(k=7, model="test-bigrams"))
    with pytest.raises(CorpusMismatchError, match="test-bigrams"):
        NotesCorpus.open(tmp_path / "notes", config=NotesConfig(model="usem3"))


def test_opening_a_missing_corpus_without_create_fails(tmp_path):
    with pytest.raises(FileNotFoundError):
        NotesCorpus.open(tmp_path / "nothing", create=False)
