"""Fingerprinting on a Ray local cluster (2 CPUs) gives what the in-process path gives, byte for
byte, and a corpus index built through it is identical to the in-process build.

The cluster starts once for the module (Ray's start-up is seconds) and is shut down by the
fixture's finaliser; its session files stay under /tmp/ray.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from checker.corpus.build import add_sources
from checker.corpus.index import CorpusIndex
from checker.code.fingerprints import FingerprintParams, fingerprint_many

pytestmark = pytest.mark.slow  # the fast lane is `pytest -m "not slow"`

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'noshortcut[scale]')")

PARAMS = FingerprintParams()


def _file(i: int) -> str:
    """Small distinct files, some with a function unit, one that libCST cannot parse."""
    if i % 7 == 6:
        return f"print 'python {i}'\nx = [\n"  # Python 2 and unbalanced: the lexical fallback
    body = "\n".join(f"    y{j} = x * {i + j} + bias_{j}" for j in range(i % 5 + 3))
    return (f"import torch\n\n\ndef layer_{i}(x, bias_0=0, bias_1=1, bias_2=2, bias_3=3, bias_4=4, "
            f"bias_5=5, bias_6=6):\n{body}\n    return torch.relu(y0 + y1 + y2)\n\n\n"
            f"class Block{i}(torch.nn.Module):\n    def forward(self, x):\n"
            f"        return layer_{i}(x) * {i}\n")


def _bytes(fps) -> list[tuple[bytes, str]]:
    """A canonical byte form of fingerprints: k-gram array bytes, and the token stream as JSON."""
    return [(fp.kgrams.tobytes(), json.dumps(dataclasses.asdict(fp.stream), sort_keys=True))
            for fp in fps]


@pytest.fixture(scope="module")
def ray_local():
    from checker.scale.ray import ray_cluster

    with ray_cluster("local", num_cpus=2):
        yield
    assert not ray.is_initialized()


def test_ray_fingerprints_equal_the_in_process_ones_in_input_order(ray_local):
    from checker.scale.ray import ray_fingerprint_many

    texts = [_file(i) for i in range(50)]
    texts += [texts[3], texts[0]]  # duplicates keep their places
    expected = fingerprint_many(texts, PARAMS, jobs=1)
    assert any(fp.stream.parser == "lexical" for fp in expected)
    got = ray_fingerprint_many(texts, PARAMS, "local", batch=8)  # 7 tasks on 2 workers
    assert _bytes(got) == _bytes(expected)
    assert ray_fingerprint_many([], PARAMS) == []


def test_fingerprint_many_with_the_ray_map_handed_in_delegates_to_the_cluster(ray_local):
    from checker.scale.ray import RayFingerprintMap

    seen = []
    texts = [_file(i) for i in range(10)]
    got = fingerprint_many(texts, PARAMS, map=RayFingerprintMap("local"),
                           progress=lambda done, total: seen.append((done, total)))
    assert _bytes(got) == _bytes(fingerprint_many(texts, PARAMS, jobs=1))
    assert seen[-1] == (10, 10)


def test_a_corpus_built_on_ray_is_identical_to_the_in_process_build(ray_local, tmp_path):
    from checker.scale.ray import RayFingerprintMap

    lib = tmp_path / "lib"
    for i in range(45):
        path = lib / f"pkg{i % 3}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_file(i), encoding="utf-8")
    (lib / "pkg0" / "copy.py").write_text(_file(5), encoding="utf-8")  # content shared by 2 paths

    add_sources(tmp_path / "local", [f"dir:{lib}"], jobs=1, notes=False)
    # the Ray map handed in, as `checker corpus add --ray local` does
    calls = []
    on_ray = RayFingerprintMap("local")

    def counted(texts, params, progress=None):
        calls.append(len(texts))
        return on_ray(texts, params, progress=progress)

    add_sources(tmp_path / "on-ray", [f"dir:{lib}"], jobs=1, notes=False, fingerprint_map=counted)
    assert sum(calls) == 45  # every distinct content went through Ray
    with CorpusIndex.open(tmp_path / "local") as a, CorpusIndex.open(tmp_path / "on-ray") as b:
        assert a.stats()["contents"] == 45
        assert a.digest() == b.digest()
        keys_a, matrix_a = a.signatures()
        keys_b, matrix_b = b.signatures()
        assert keys_a.tolist() == keys_b.tolist() and matrix_a.tobytes() == matrix_b.tobytes()
