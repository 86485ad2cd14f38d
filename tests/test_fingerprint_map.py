"""A `FingerprintMap` handed in (what `--ray` hands: checker.scale.ray.RayFingerprintMap) replaces
the process pool in `fingerprint_many`, in the scan and in the corpus builder; no Ray needed here."""

from __future__ import annotations

from pathlib import Path

from checker.code.fingerprints import FingerprintParams, fingerprint_many, fingerprint_text
from checker.corpus.build import add_sources
from checker.corpus.index import CorpusIndex

PARAMS = FingerprintParams()


class RecordingMap:
    """The in-process fingerprints, with a record of what was asked."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, texts, params, progress=None):
        self.calls.append(len(texts))
        out = [fingerprint_text(t, params).compact() for t in texts]
        if progress:
            progress(len(texts), len(texts))
        return out


def _file(i: int) -> str:
    return f"def f_{i}(x):\n    y = x * {i} + torch.op_{i}(x)\n    return y\n"


def test_fingerprint_many_hands_the_texts_to_the_map_and_starts_the_caller_after():
    fmap, events = RecordingMap(), []
    texts = [_file(i) for i in range(5)]
    got = fingerprint_many(texts, PARAMS, jobs=1, progress=lambda d, t: events.append((d, t)),
                           map=fmap, on_workers_started=lambda: events.append("started"))
    expected = fingerprint_many(texts, PARAMS, jobs=1)
    assert [fp.kgrams.tobytes() for fp in got] == [fp.kgrams.tobytes() for fp in expected]
    assert fmap.calls == [5] and events == ["started", (5, 5)]


def test_a_corpus_built_through_a_handed_in_map_is_identical(tmp_path: Path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for i in range(6):
        (lib / f"mod_{i}.py").write_text(_file(i), encoding="utf-8")
    add_sources(tmp_path / "pool", [f"dir:{lib}"], jobs=1, notes=False)
    fmap = RecordingMap()
    add_sources(tmp_path / "mapped", [f"dir:{lib}"], jobs=1, notes=False, fingerprint_map=fmap)
    assert sum(fmap.calls) == 6
    with CorpusIndex.open(tmp_path / "pool") as a, CorpusIndex.open(tmp_path / "mapped") as b:
        assert a.digest() == b.digest()
