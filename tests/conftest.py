"""Shared fixtures: writing tiny rounds, and locating the shared datasets (skip when absent)."""

from __future__ import annotations

import base64
import hashlib
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def write_round(root: Path, files: dict[str, str | bytes]) -> Path:
    """files: {"learner/path.py": text or bytes} -> a round folder."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def dataset(name: str) -> Path:
    path = DATASETS / name
    if not path.exists():
        pytest.skip(f"shared dataset {path} is absent (it lives in ../shared/datasets beside the repo)")
    return path


def materialise_jsonl(name: str, dest: Path, prefix: str = "", strip: str = "") -> list[str]:
    """Write the records of a JSONL.gz dataset whose path starts with `prefix` under `dest`,
    removing `strip` from the front of each path. Returns the written relative paths."""
    written = []
    with gzip.open(dataset(name), "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            path = rec["path"]
            if not path.startswith(prefix):
                continue
            rel = path[len(strip):] if strip and path.startswith(strip) else path
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rec.get("text") is not None:
                target.write_text(rec["text"], encoding="utf-8")
            else:
                target.write_bytes(base64.b64decode(rec["text_b64"]))
            written.append(rel)
    return written


@pytest.fixture(autouse=True)
def _own_fingerprint_cache(tmp_path_factory, monkeypatch):
    """Every test's `checker scan` keeps its fingerprint cache in a folder of its own (never the
    user's ~/.cache, never another test's hits)."""
    monkeypatch.setenv("NOSHORTCUT_CACHE", str(tmp_path_factory.mktemp("fingerprint-cache")))


@pytest.fixture
def round_dir(tmp_path: Path):
    def make(files: dict[str, str | bytes]) -> Path:
        return write_round(tmp_path / "round", files)
    return make


class BigramEmbedder:
    """Deterministic stand-in for a sentence model (hashed character bigrams, unit length):
    identical sentences get cosine 1, unrelated ones about 0."""

    model_id = "test-bigrams"
    multilingual = False

    def encode(self, texts):
        out = np.zeros((len(texts), 256), np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:]):
                out[row, int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=2).digest(),
                                        "little") % 256] += 1
        out += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)
