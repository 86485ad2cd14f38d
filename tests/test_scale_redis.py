"""The shared LSH on a real `redis-server` (Debian package), started by this module: build, query,
restart the server, query again with identical results.

Skips with the reason when `redis-server` is not installed (`apt-get install redis-server`).
Every server this module starts is shut down by its fixture, whatever the test does.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from checker.corpus.build import add_sources
from checker.corpus.index import CorpusIndex
from checker.code.fingerprints import FingerprintParams, fingerprint_text, minhash_of
from checker.scale.redis import (
    RedisCorpusLSH,
    RedisLSHEngine,
    ScaleConfigError,
    SharedIndexMismatch,
    SharedIndexMissing,
    SyncDone,
    SyncUnchanged,
    build_shared_lsh,
    open_shared_lsh,
    parse_redis_url,
    read_manifest,
    redis_storage_config,
    sync_corpus_index,
)

# Learner-like files: two pairs of near copies (renamed variables) and unrelated ones.
_MLP = '''
import torch.nn as nn

class {name}(nn.Module):
    def __init__(self, {a}, {b}):
        super().__init__()
        self.fc1 = nn.Linear({a}, 128)
        self.fc2 = nn.Linear(128, 64)
        self.out = nn.Linear(64, {b})
        self.act = nn.ReLU()

    def forward(self, {x}):
        {x} = self.act(self.fc1({x}))
        {x} = self.act(self.fc2({x}))
        return self.out({x})
'''
_LOOP = '''
def {fn}(model, loader, opt, loss_fn, {ep}):
    for epoch in range({ep}):
        total = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        print(epoch, total / len(loader))
    return model
'''
_OTHER = '''
def {fn}(path):
    rows = []
    with open(path) as fh:
        for line in fh:
            parts = line.strip().split(",")
            if len(parts) == {n}:
                rows.append([float(p) for p in parts])
    return rows
'''
TEXTS = {
    "mlp_a": _MLP.format(name="Net", a="n_in", b="n_out", x="x"),
    "mlp_b": _MLP.format(name="Model", a="inp", b="classes", x="h"),
    "loop_a": _LOOP.format(fn="train", ep="epochs"),
    "loop_b": _LOOP.format(fn="fit", ep="n_epochs") + "\nDONE = True\n",
    "csv": _OTHER.format(fn="read_rows", n=4),
    "both": _MLP.format(name="Big", a="d", b="k", x="z") + _LOOP.format(fn="run", ep="e"),
}
PARAMS = FingerprintParams()
THRESHOLD = 0.3


def _signatures() -> dict[str, np.ndarray]:
    return {key: minhash_of(fingerprint_text(text, PARAMS).winnowed(PARAMS.window), PARAMS)
            for key, text in TEXTS.items()}


# --- URL parsing (no server needed) --------------------------------------------------------


def test_a_redis_url_becomes_datasketch_storage_config():
    config = redis_storage_config("redis://cache.lan:6380/2?prefix=west2")
    assert config == {"type": "redis", "basename": b"west2",
                      "redis": {"host": "cache.lan", "port": 6380, "db": 2}}
    bare = parse_redis_url("redis://localhost")
    assert (bare.host, bare.port, bare.db, bare.prefix) == ("localhost", 6379, 0, "noshortcut")
    secret = parse_redis_url("rediss://:s3cr%40t@h:1/0")
    assert secret.redis_params()["password"] == "s3cr@t" and secret.ssl
    assert "s3cr" not in str(secret)


@pytest.mark.parametrize("url", ["http://localhost:6379", "redis://h:99999/0", "redis://h/zero",
                                 "redis://h/0?prefx=x", "redis://h/0?prefix=a*b"])
def test_a_bad_redis_url_is_refused_with_what_is_expected(url):
    with pytest.raises(ScaleConfigError, match="redis|port|database|option|prefix"):
        parse_redis_url(url)


# --- a real redis-server --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A `redis-server` child process with an append-only file in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0?prefix=test"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 20
        while True:
            try:
                if client.ping():
                    return
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.05)

    def shutdown(self) -> None:
        """SIGTERM: Redis shuts down as on SHUTDOWN (the append-only file is flushed and closed).
        Not the SHUTDOWN command through redis-py: its client retries the closed connection with
        back-off, ~4 s per shutdown."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.shutdown()
        self.start()


@pytest.fixture
def redis_server(tmp_path: Path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    pytest.importorskip("redis", reason="the redis Python client is not installed (pip install redis)")
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    try:
        yield server
    finally:
        server.shutdown()
        if server.process is not None and server.process.poll() is None:
            server.process.kill()


@pytest.mark.redis
def test_shared_lsh_answers_as_the_in_memory_lsh_and_again_after_a_restart(redis_server):
    from datasketch import MinHashLSH

    sigs = _signatures()
    build_shared_lsh(redis_server.url, sigs.items(), PARAMS, THRESHOLD)
    memory = MinHashLSH(threshold=THRESHOLD, num_perm=PARAMS.num_perm)
    for key, mh in sigs.items():
        memory.insert(key, mh)
    expected = {key: sorted(memory.query(mh)) for key, mh in sigs.items()}
    assert expected["mlp_a"] != sorted(sigs)  # the test can tell candidates from everything

    before = {key: open_shared_lsh(redis_server.url, PARAMS, THRESHOLD).query(mh)
              for key, mh in sigs.items()}
    assert before == expected
    assert "mlp_b" in before["mlp_a"] and "csv" not in before["mlp_a"]

    redis_server.restart()
    shared = open_shared_lsh(redis_server.url, PARAMS, THRESHOLD)
    after = {key: shared.query(mh.hashvalues) for key, mh in sigs.items()}
    assert after == before
    assert shared.query_many([mh for mh in sigs.values()]) == list(before.values())


@pytest.mark.redis
def test_a_corpus_index_pushed_to_redis_gives_the_candidates_of_its_own_lsh(redis_server, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name, text in TEXTS.items():
        (lib / f"{name}.py").write_text(text, encoding="utf-8")
    add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    with CorpusIndex.open(tmp_path / "idx") as index:
        pushed = sync_corpus_index(index, redis_server.url, THRESHOLD)
        assert isinstance(pushed, SyncDone) and pushed.keys == len(index.signatures()[0])
        banded, keys, matrix = index.lsh(THRESHOLD, "banded")
        expected = [banded.query(row).tolist() for row in matrix]
        assert any(1 < len(rows) < len(matrix) for rows in expected)

        redis_server.restart()
        shared = RedisCorpusLSH(index, redis_server.url, keys, THRESHOLD)
        assert [shared.query(row).tolist() for row in matrix] == expected
        assert [rows.tolist() for rows in shared.query_many(list(matrix))] == expected
        # handed in as the index's LSH engine, as `scan --lsh URL` does
        engine = RedisLSHEngine(parse_redis_url(redis_server.url))
        handed, _, _ = index.lsh(THRESHOLD, engine)
        assert isinstance(handed, RedisCorpusLSH)
        assert [rows.tolist() for rows in handed.query_many(list(matrix))] == expected
        again = sync_corpus_index(index, redis_server.url, THRESHOLD)
        assert isinstance(again, SyncUnchanged)


@pytest.mark.redis
def test_opening_shared_tables_with_other_parameters_says_how_to_fix_it(redis_server):
    with pytest.raises(SharedIndexMissing, match="lsh-sync"):
        open_shared_lsh(redis_server.url, PARAMS, THRESHOLD)
    build_shared_lsh(redis_server.url, _signatures().items(), PARAMS, THRESHOLD)
    with pytest.raises(SharedIndexMismatch, match="threshold"):
        open_shared_lsh(redis_server.url, PARAMS, 0.5)
    with pytest.raises(SharedIndexMismatch, match="rebuild|lsh-sync"):
        open_shared_lsh(redis_server.url, FingerprintParams(k=9), THRESHOLD)


@pytest.mark.redis
def test_a_new_build_switches_tables_at_once_and_keeps_only_the_previous_ones(redis_server):
    import redis

    client = redis.Redis(port=redis_server.port)
    sigs = _signatures()
    first = build_shared_lsh(redis_server.url, list(sigs.items())[:3], PARAMS, THRESHOLD)
    old_reader = open_shared_lsh(redis_server.url)
    second = build_shared_lsh(redis_server.url, sigs.items(), PARAMS, THRESHOLD)
    assert read_manifest(redis_server.url).basename == second.manifest.basename
    assert len(open_shared_lsh(redis_server.url)) == len(sigs)
    # a reader that opened the first tables before the switch still reads them whole
    assert old_reader.query(sigs["mlp_a"]) == ["mlp_a", "mlp_b"]
    build_shared_lsh(redis_server.url, sigs.items(), PARAMS, THRESHOLD)
    assert not list(client.scan_iter(match=f"{first.manifest.basename}_*"))
    assert list(client.scan_iter(match=f"{second.manifest.basename}_*"))


# --- the command ----------------------------------------------------------------------------


def _tiny_index(tmp_path: Path) -> Path:
    lib = tmp_path / "lib"
    lib.mkdir()
    for name, text in TEXTS.items():
        (lib / f"{name}.py").write_text(text, encoding="utf-8")
    add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    return tmp_path / "idx"


@pytest.mark.redis
def test_lsh_sync_pushes_the_index_once_and_then_reports_it_unchanged(redis_server, tmp_path):
    from click.testing import CliRunner

    from checker.cli.scale import lsh_sync

    index = _tiny_index(tmp_path)
    runner = CliRunner()
    first = runner.invoke(lsh_sync, [redis_server.url, "--index", str(index), "--threshold", "0.3"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("pushed") and "prefix=test" in first.output
    second = runner.invoke(lsh_sync, [redis_server.url, "--index", str(index), "--threshold", "0.3"])
    assert second.exit_code == 0 and second.output.startswith("unchanged")
    assert read_manifest(redis_server.url).threshold == 0.3


def test_lsh_sync_names_the_url_or_the_index_when_it_cannot_push(tmp_path):
    from click.testing import CliRunner

    from checker.cli.scale import lsh_sync

    runner = CliRunner()
    bad_url = runner.invoke(lsh_sync, ["http://x", "--index", str(tmp_path)])
    assert bad_url.exit_code == 2 and "redis://" in bad_url.output
    no_index = runner.invoke(lsh_sync, ["redis://127.0.0.1:1/0", "--index", str(tmp_path / "none")])
    assert no_index.exit_code == 2 and "no corpus index" in no_index.output
    pytest.importorskip("redis")
    index = _tiny_index(tmp_path)
    closed = runner.invoke(lsh_sync, ["redis://127.0.0.1:1/0", "--index", str(index)])
    assert closed.exit_code == 2 and "redis://127.0.0.1:1/0" in closed.output


def test_scan_hands_the_shared_tables_in_as_its_lsh_engine_and_refuses_a_bad_url(tmp_path):
    from click.testing import CliRunner

    from checker.cli.main import _shared_lsh, cli

    engine = _shared_lsh("redis://:secret@cache.lan/1?prefix=west2")
    assert isinstance(engine, RedisLSHEngine) and engine.location.prefix == "west2"
    assert "secret" not in repr(engine)
    (tmp_path / "round" / "ann").mkdir(parents=True)
    bad = CliRunner().invoke(cli, ["scan", str(tmp_path / "round"), "--lsh", "http://x", "-q"])
    assert bad.exit_code == 2 and "redis://" in bad.output
