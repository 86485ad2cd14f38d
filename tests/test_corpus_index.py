"""The persistent corpus index: provenance, incremental adds, removal, frequencies, atomicity."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from checker import defaults
from checker.corpus.build import add_sources, build_corpus, remove_sources
from checker.corpus.index import CorpusIndex
from checker.corpus.lsh import BandedLSH, DatasketchLSH
from checker.corpus.records import SourceAdded, SourceFailed, SourceRemoved, SourceUnchanged
from checker.corpus.storage import CorpusIndexError
from checker.corpus.writer import SourceRequest
from checker.corpus.sources import parse_source
from checker.code.fingerprints import FingerprintParams, ParamsMismatch

# Each generated module calls its own API names (`torch.op_7_1_3`): library names survive
# normalisation, so every generated file has k-grams of its own.
TRAINING_LOOP = """
def fit(model, loader, optimizer, loss_fn, epochs):
    for epoch in range(epochs):
        model.train()
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
    return model
"""


def _module(seed: int, functions: int = 3) -> str:
    """A small Python module whose k-grams no other seed shares."""
    out = ["import torch", ""]
    for f in range(functions):
        body = [f"    h{j} = torch.op_{seed}_{f}_{j}(x{'' if j == 0 else ' + h' + str(j - 1)}) * {j + 1}"
                for j in range(8)]
        out += [f"def block_{seed}_{f}(x):", *body, "    return h7", ""]
    return "\n".join(out)


def _library(folder: Path, first: int, count: int, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(first, first + count):
        (folder / f"mod_{i:03d}.py").write_text(_module(i) + extra, encoding="utf-8")
    return folder


def _count(index_path: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{next(index_path.glob('corpus-*.sqlite'))}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_adding_a_folder_records_documents_with_provenance(tmp_path: Path):
    lib = _library(tmp_path / "lib", 0, 3)
    (lib / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, to any person")
    (lib / "notes.md").write_text("# how it works\n")
    result = add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    [added] = result.outcomes
    assert isinstance(added, SourceAdded) and (added.code_files, added.new_contents) == (3, 3)
    with CorpusIndex.open(tmp_path / "idx", FingerprintParams()) as index:
        [source] = index.sources()
        assert (source.spec, source.kind, source.licence, source.code_files, source.notes_files) == (
            f"dir:{lib}", "dir", "MIT", 3, 1)
        docs = [d for cid in range(1, 4) for d in index.documents_for_content(cid)]
        assert sorted(d.path for d in docs) == ["mod_000.py", "mod_001.py", "mod_002.py"]
        content = index.content(docs[0].content_id)
        text = index.text(docs[0].content_id)
        assert text == (lib / docs[0].path).read_text() and text.splitlines()[2].startswith("def block_")
        assert content.n_tokens == len(content.start_lines) and content.kgrams.dtype == np.uint64
        assert content.start_lines[0] == 3  # `def block_...` is line 3: imports are not tokens
        keys, matrix = index.signatures()
        assert matrix.shape == (len(keys), 128) and set(keys[:, 0]) == {1, 2, 3}


def test_re_adding_unchanged_content_does_nothing(tmp_path: Path):
    lib = _library(tmp_path / "lib", 0, 3)
    add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    with CorpusIndex.open(tmp_path / "idx") as index:
        before = (index.generation, index.digest())
    [again] = add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False).outcomes
    assert isinstance(again, SourceUnchanged) and again.reason == "same files as indexed"
    with CorpusIndex.open(tmp_path / "idx") as index:
        assert (index.generation, index.digest()) == before


def test_a_changed_file_is_fingerprinted_and_unchanged_files_are_reused(tmp_path: Path):
    lib = _library(tmp_path / "lib", 0, 4)
    add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    (lib / "mod_001.py").write_text(_module(99), encoding="utf-8")
    [changed] = add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False).outcomes
    assert isinstance(changed, SourceAdded) and changed.replaced
    assert (changed.new_contents, changed.reused_contents) == (1, 3)
    assert _count(tmp_path / "idx", "SELECT COUNT(*) FROM contents") == 4  # the old content is gone


def test_removing_a_source_restores_the_index_it_was_added_to(tmp_path: Path):
    a = _library(tmp_path / "a", 0, 3, TRAINING_LOOP)
    b = _library(tmp_path / "b", 10, 3, TRAINING_LOOP)
    add_sources(tmp_path / "only-a", [f"dir:{a}"], jobs=1, notes=False)
    add_sources(tmp_path / "both", [f"dir:{a}", f"dir:{b}"], jobs=1, notes=False)
    [removed] = remove_sources(tmp_path / "both", [f"dir:{b}"], notes=False).outcomes
    assert isinstance(removed, SourceRemoved) and removed.documents == 3
    with CorpusIndex.open(tmp_path / "only-a") as one, CorpusIndex.open(tmp_path / "both") as other:
        assert one.digest() == other.digest()
    [missing] = remove_sources(tmp_path / "both", ["dir:/nowhere"], notes=False).outcomes
    assert isinstance(missing, SourceFailed) and "not in the index" in missing.reason


def test_common_kgrams_count_projects_not_versions(tmp_path: Path):
    folders = [_library(tmp_path / f"p{i}", 10 * i, 2, TRAINING_LOOP) for i in range(3)]
    v2 = _library(tmp_path / "p0-v2", 0, 2, TRAINING_LOOP + "\ndef extra(x):\n    return torch.cos(x) * 3\n")
    index_path = tmp_path / "idx"
    first = [SourceRequest(parse_source(f"dir:{folders[0]}"), project="p0"),
             SourceRequest(parse_source(f"dir:{v2}"), project="p0"),
             SourceRequest(parse_source(f"dir:{folders[1]}"))]
    add_sources(index_path, first, jobs=1, notes=False)
    from checker.code.fingerprints import fingerprint_text

    loop = fingerprint_text(TRAINING_LOOP, FingerprintParams()).kgrams
    specific = np.setdiff1d(fingerprint_text(_module(0), FingerprintParams()).kgrams,
                            fingerprint_text(_module(1), FingerprintParams()).kgrams)  # its own calls
    assert specific.size > 20
    with CorpusIndex.open(index_path) as index:
        assert set(index.kgram_projects(loop)) == {2}  # p0 (two versions) and p1
        assert not np.isin(loop, index.common_kgrams(3)).any()
    add_sources(index_path, [f"dir:{folders[2]}"], jobs=1, notes=False)
    with CorpusIndex.open(index_path) as index:
        common = index.common_kgrams(3)
        assert np.isin(loop, common).all() and not np.isin(specific, common).any()
        assert np.array_equal(index.common_kgrams(3, among=specific), np.empty(0, np.uint64))


def test_opening_an_index_built_with_other_parameters_says_to_rebuild(tmp_path: Path):
    lib = _library(tmp_path / "lib", 0, 2)
    add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    other = FingerprintParams(k=FingerprintParams().k - 2)
    with pytest.raises(ParamsMismatch, match=r"checker corpus build --rebuild"):
        CorpusIndex.open(tmp_path / "idx", other)
    with pytest.raises(ParamsMismatch, match=f"'k': \\({other.k}, {other.k + 2}\\)"):
        add_sources(tmp_path / "idx", [f"dir:{lib}"], params=other, jobs=1, notes=False)


def test_rebuild_replaces_the_index_with_the_new_parameters_and_keeps_added_sources(tmp_path: Path):
    listed, added = _library(tmp_path / "listed", 0, 2), _library(tmp_path / "added", 5, 2)
    manifest = tmp_path / "sources.toml"
    manifest.write_text(f'[[source]]\nspec = "dir:{listed}"\nlicence = "MIT"\n')
    build_corpus(tmp_path / "idx", manifest, jobs=1, notes=False)
    add_sources(tmp_path / "idx", [f"dir:{added}"], jobs=1, notes=False)
    other = FingerprintParams(k=8)
    result = build_corpus(tmp_path / "idx", manifest, rebuild=True, params=other, jobs=1, notes=False)
    assert [o.status for o in result.outcomes] == ["added", "added"]
    with CorpusIndex.open(tmp_path / "idx", other) as index:
        assert [(s.spec, s.origin) for s in index.sources()] == [(f"dir:{listed}", "manifest"),
                                                                  (f"dir:{added}", "add")]
    assert len(list((tmp_path / "idx").glob("corpus-*.sqlite"))) == 1  # the old database is gone


def test_a_failing_source_is_reported_and_the_others_are_built(tmp_path: Path):
    lib = _library(tmp_path / "lib", 0, 2)
    manifest = tmp_path / "sources.toml"
    manifest.write_text(f'[[source]]\nspec = "git:file://{tmp_path}/no-repo"\nlicence = "MIT"\n'
                        f'url = "https://example.org"\n\n[[source]]\nspec = "dir:{lib}"\n')
    result = build_corpus(tmp_path / "idx", manifest, jobs=1, notes=False)
    failed, added = result.outcomes
    assert isinstance(failed, SourceFailed) and failed.spec.endswith("no-repo")
    assert isinstance(added, SourceAdded) and result.failed == [failed]


def test_build_drops_sources_no_longer_listed_but_keeps_sources_added_by_hand(tmp_path: Path):
    a, b, c = (_library(tmp_path / n, i * 10, 2) for i, n in enumerate("abc"))
    manifest = tmp_path / "sources.toml"
    manifest.write_text(f'[[source]]\nspec = "dir:{a}"\n[[source]]\nspec = "dir:{b}"\n')
    build_corpus(tmp_path / "idx", manifest, jobs=1, notes=False)
    add_sources(tmp_path / "idx", [f"dir:{c}"], jobs=1, notes=False)
    manifest.write_text(f'[[source]]\nspec = "dir:{a}"\n')
    result = build_corpus(tmp_path / "idx", manifest, jobs=1, notes=False)
    assert [(o.status, o.spec) for o in result.outcomes] == [("removed", f"dir:{b}"),
                                                              ("unchanged", f"dir:{a}")]
    with CorpusIndex.open(tmp_path / "idx") as index:
        assert [s.spec for s in index.sources()] == [f"dir:{a}", f"dir:{c}"]


def test_opening_a_folder_without_an_index_says_how_to_build_one(tmp_path: Path):
    with pytest.raises(CorpusIndexError, match="checker corpus build --index"):
        CorpusIndex.open(tmp_path)


def test_banded_lsh_finds_the_same_candidates_as_datasketch_lsh():
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**63, size=(40, 128), dtype=np.uint64)
    matrix = np.repeat(base, 5, axis=0)
    noise = rng.random(matrix.shape) < rng.uniform(0.2, 0.99, size=(len(matrix), 1))
    matrix[noise] = rng.integers(0, 2**63, size=int(noise.sum()), dtype=np.uint64)
    banded = BandedLSH(matrix, 0.1, 128)
    reference = DatasketchLSH(matrix, 0.1, FingerprintParams())
    queries = matrix[rng.choice(len(matrix), 60, replace=False)].copy()
    queries[rng.random(queries.shape) < 0.7] = 1
    for q in queries:
        assert np.array_equal(banded.query(q), reference.query(q))
    assert banded.query(matrix[3]).size >= 1
    assert [r.tolist() for r in banded.query_many(list(queries))] == \
        [r.tolist() for r in reference.query_many(list(queries))]


def _noisy_copies(matrix: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Rows of `matrix` with most of their values replaced: queries that share a few bands."""
    queries = matrix[rng.choice(len(matrix), count, replace=len(matrix) < count)].copy()
    queries[rng.random(queries.shape) < 0.7] = 1
    return queries


def test_the_default_engine_is_banded_and_finds_what_datasketch_finds_on_real_code(tmp_path: Path):
    """The default corpus's shape: real library code (units repeated across files, so equal rows
    and shared bands), the default threshold and permutations; every stored signature and noisy
    copies of them as queries."""
    torch = pytest.importorskip("torch")
    add_sources(tmp_path / "idx", [f"dir:{Path(torch.__file__).parent / 'utils' / 'data'}"],
                jobs=1, notes=False)
    with CorpusIndex.open(tmp_path / "idx") as index:
        default, keys, matrix = index.lsh()
        assert isinstance(default, BandedLSH)
        assert index.params.num_perm == defaults.NUM_PERM and len(matrix) > 300
        assert len({row.tobytes() for row in matrix}) < len(matrix)  # equal units in several files
        reference = index.lsh(defaults.CORPUS_LSH_THRESHOLD, "datasketch")[0]
        queries = np.concatenate([matrix, _noisy_copies(matrix, np.random.default_rng(3), 300)])
        found = [rows.tolist() for rows in default.query_many(list(queries))]
        assert found == [rows.tolist() for rows in reference.query_many(list(queries))]
        assert sum(map(len, found[len(matrix):])) > 0  # the noisy copies still meet some rows


@pytest.mark.slow
def test_banded_lsh_matches_datasketch_with_more_rows_than_the_default_corpus():
    """70,000 signatures (the default corpus has 54,949): row numbers need 17 bits in the banded
    engine's sort keys, as they do for the default corpus."""
    rng = np.random.default_rng(11)
    matrix = np.repeat(rng.integers(0, 2**63, size=(14_000, 128), dtype=np.uint64), 5, axis=0)
    noise = rng.random(matrix.shape) < rng.uniform(0.2, 0.99, size=(len(matrix), 1))
    matrix[noise] = rng.integers(0, 2**63, size=int(noise.sum()), dtype=np.uint64)
    banded = BandedLSH(matrix, defaults.CORPUS_LSH_THRESHOLD, defaults.NUM_PERM)
    reference = DatasketchLSH(matrix, defaults.CORPUS_LSH_THRESHOLD, FingerprintParams())
    queries = np.concatenate([matrix[-500:], _noisy_copies(matrix, rng, 500)])
    assert [r.tolist() for r in banded.query_many(list(queries))] == \
        [r.tolist() for r in reference.query_many(list(queries))]


def test_the_lsh_engine_is_chosen_by_name_or_handed_in(tmp_path: Path):
    lib = _library(tmp_path / "lib", 0, 3)
    add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    made = []

    def engine(index, keys, matrix, threshold):  # what `scan --lsh URL` hands in (Redis)
        made.append((len(keys), threshold))
        return BandedLSH(matrix, threshold, index.params.num_perm)

    with CorpusIndex.open(tmp_path / "idx") as index:
        banded, keys, matrix = index.lsh(0.1, "banded")
        assert isinstance(banded, BandedLSH)
        assert isinstance(index.lsh(0.1, "datasketch")[0], DatasketchLSH)
        handed, _, _ = index.lsh(0.1, engine)
        assert index.lsh(0.1, engine)[0] is handed and made == [(len(keys), 0.1)]  # built once
        assert [handed.query(row).tolist() for row in matrix] == [banded.query(row).tolist() for row in matrix]
        with pytest.raises(ValueError, match="unknown LSH engine 'redis://x'.*--lsh"):
            index.lsh(0.1, "redis://x")


def test_notes_files_and_docstrings_are_handed_to_the_notes_sink_handed_in(tmp_path: Path):
    calls: list = []

    class FakeNotesCorpus:
        @classmethod
        def open(cls, directory):
            calls.append(("open", Path(directory).name))
            return cls()

        def set_source(self, source, **meta):
            calls.append(("source", source, meta["licence"]))

        def add_document(self, source, path, text, meta):
            calls.append(("doc", path, meta["kind"], text.splitlines()[0]))

        def remove_source(self, source):
            calls.append(("remove", source))

        def save(self):
            calls.append(("save",))

        def close(self):
            calls.append(("close",))

    lib = tmp_path / "lib"
    lib.mkdir()
    long_doc = "A LeNet as in the book: two convolutions with sigmoid activations and average pooling, " \
               "then three dense layers; it is the first network the chapter trains on Fashion-MNIST."
    (lib / "model.py").write_text(f'"""{long_doc}"""\ndef f(x):\n    """Scale x (a parameter note)."""\n    return x\n')
    (lib / "README.md").write_text("Read me first.\n")
    (lib / "synsets.txt").write_text("".join(f"n0{i:07d}\n" for i in range(500)))  # data, not prose
    [added] = add_sources(tmp_path / "idx", [SourceRequest(parse_source(f"dir:{lib}"), licence="MIT")],
                          jobs=1, notes_sink=FakeNotesCorpus.open).outcomes
    assert isinstance(added, SourceAdded)
    assert calls == [("open", "notes"), ("source", f"dir:{lib}", ""), ("doc", "README.md", "notes", "Read me first."),
                     ("doc", "model.py", "docstrings", long_doc), ("save",), ("close",)]
    assert _count(tmp_path / "idx", "SELECT COUNT(*) FROM sources WHERE notes_state = 'done'") == 1


def test_without_a_notes_sink_the_reason_is_recorded_and_the_code_is_indexed(tmp_path: Path):
    lib = _library(tmp_path / "lib", 0, 1)
    result = add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1)
    assert isinstance(result.outcomes[0], SourceAdded)
    assert result.notes and "no notes corpus was handed in" in result.notes[0]

    def broken(directory):
        raise OSError("read-only")

    lib = _library(tmp_path / "lib2", 1, 1)
    result = add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes_sink=broken)
    assert isinstance(result.outcomes[0], SourceAdded)
    assert result.notes == [f"could not open the notes corpus in {tmp_path / 'idx' / 'notes'}: read-only"]


_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from checker.corpus.build import build_corpus

    def progress(stage, done, total):
        print(stage, done, total, flush=True)

    build_corpus(Path(sys.argv[1]), Path(sys.argv[2]), jobs=1, notes=False, progress=progress)
    print("finished", flush=True)
""")


def _consistent(index_path: Path) -> list[str]:
    """Specs of a usable index: it opens, SQLite is intact, every source has all its rows."""
    with CorpusIndex.open(index_path) as index:
        conn = index._conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for s in index.sources():
            docs = conn.execute("SELECT COUNT(*) FROM documents WHERE source_id = ?", (s.id,)).fetchone()[0]
            kg = conn.execute("SELECT COUNT(*) FROM source_kgrams WHERE source_id = ?", (s.id,)).fetchone()[0]
            assert (docs, kg) == (s.code_files, 1)
        assert conn.execute("SELECT COUNT(*) FROM documents WHERE content_id NOT IN "
                            "(SELECT id FROM contents)").fetchone()[0] == 0
        index.lsh()
        return [s.spec for s in index.sources()]


@pytest.mark.timeout(240)
@pytest.mark.slow
def test_killed_build_leaves_the_previous_index_usable_and_a_rerun_is_identical(tmp_path: Path):
    """SIGKILL in the middle of a source's transaction, then at random moments: every state is a
    complete index; the re-run ends with exactly what an uninterrupted build gives."""
    folders = [_library(tmp_path / f"src{i}", 200 * i, 100, TRAINING_LOOP) for i in range(3)]
    manifest = tmp_path / "sources.toml"
    manifest.write_text("".join(f'[[source]]\nspec = "dir:{f}"\nlicence = "MIT"\n' for f in folders))
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                                    os.environ.get("PYTHONPATH")])))
    index_path = tmp_path / "killed"

    # 1. kill while the second source is half fingerprinted (its transaction is open)
    child = subprocess.Popen([sys.executable, str(script), str(index_path), str(manifest)],
                             stdout=subprocess.PIPE, text=True, env=env)
    for line in child.stdout:
        if line.startswith(f"fingerprint dir:{folders[1]} 64 "):
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _consistent(index_path) == [f"dir:{folders[0]}"]  # the previous state, usable

    # 2. kill at random moments of the rest: after a random progress line, plus a random delay
    rng = random.Random(3)
    seen = []
    for _ in range(3):
        child = subprocess.Popen([sys.executable, str(script), str(index_path), str(manifest)],
                                 stdout=subprocess.PIPE, text=True, env=env)
        wanted = rng.randrange(1, 8)
        for n, line in enumerate(child.stdout, 1):
            if n == wanted or line.startswith("finished"):
                break
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        specs = _consistent(index_path)
        assert specs == [f"dir:{f}" for f in folders[:len(specs)]]
        seen.append(len(specs))
    assert seen == sorted(seen) and seen[-1] > 1  # the build went on across kills

    # 3. the re-run completes it; an uninterrupted build of the same manifest is identical
    build_corpus(index_path, manifest, jobs=1, notes=False)
    build_corpus(tmp_path / "clean", manifest, jobs=1, notes=False)
    with CorpusIndex.open(index_path) as killed, CorpusIndex.open(tmp_path / "clean") as clean:
        assert len(killed.sources()) == 3
        assert killed.digest() == clean.digest()
