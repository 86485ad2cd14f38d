"""Writing the corpus index: one writer per index folder (`write_lock`), one SQLite transaction
per source added or removed (`Writer`); see `checker.corpus.index` for the invariants kept."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from checker import defaults
from checker.code.fingerprints import (CodeFingerprint, FingerprintMap, FingerprintParams,
                                       fingerprint_many, minhash_values_many)
from checker.corpus.blobs import as_int64, pack_arrays, unpack_arrays
from checker.corpus.notes_handoff import NotesHandOff
from checker.corpus.records import (SourceAdded, SourceFailed, SourceOutcome, SourceRemoved,
                                    SourceUnchanged)
from checker.corpus.sources import (FetchFailed, ManifestEntry, SourceSpec, fetch_source,
                                    list_source_files, read_source_file)
from checker.corpus.storage import CorpusIndexError, connect

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SourceRequest:
    """A source to add, with what the manifest (or the command line) says about it."""

    spec: SourceSpec
    licence: str = ""
    url: str = ""
    aliases: tuple[str, ...] = ()
    origin: str = "add"  # manifest | add
    project: str = ""  # default: the spec's own project (the package, the repository)

    @classmethod
    def from_entry(cls, entry: ManifestEntry) -> "SourceRequest":
        return cls(entry.spec, entry.licence, entry.url, entry.aliases, "manifest", entry.project)

    @property
    def project_id(self) -> str:
        return self.project or self.spec.project


@contextlib.contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """One writer per index (other processes wait); readers never wait (SQLite WAL)."""
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            deadline = time.monotonic() + defaults.CORPUS_LOCK_WAIT_S
            while True:
                time.sleep(0.2)
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise CorpusIndexError(
                            f"{path}: another process is writing this index (waited "
                            f"{defaults.CORPUS_LOCK_WAIT_S:.0f} s); try again when it is done") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Writer:
    """Adds and removes sources of one database, one transaction per source."""

    def __init__(self, path: Path, db_name: str, params: FingerprintParams, jobs: int,
                 cache_dir: Path, progress: Progress | None, notes: NotesHandOff,
                 fingerprint_map: FingerprintMap | None = None) -> None:
        self.path = path
        self.fingerprint_map = fingerprint_map  # fingerprint_many's `map` (None: process pool)
        self.conn = connect(path / db_name)
        self.params = params
        self.jobs = jobs
        self.cache_dir = cache_dir
        self.progress = progress
        self.notes = notes

    def close(self) -> None:
        self.conn.close()

    def _bump_generation(self) -> None:
        self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    # adding ------------------------------------------------------------------------------------
    def add(self, request: SourceRequest) -> SourceOutcome:
        spec = request.spec
        started = time.perf_counter()
        row = self.conn.execute("SELECT id, digest, notes_state, project FROM sources WHERE spec = ?",
                                (spec.id,)).fetchone()
        if row and row[3] != request.project_id:
            row = (row[0], "", row[2], row[3])  # regrouped: its k-grams are counted again
        if row and spec.pinned and row[1] and not self.notes.wants(row[2]):
            self._update_description(row[0], request)
            return SourceUnchanged(spec.id, "pinned release already indexed")
        if self.progress:
            self.progress(f"fetch {spec.id}", 0, 1)
        with tempfile.TemporaryDirectory(prefix="noshortcut-corpus-") as work:
            try:
                fetched = fetch_source(spec, Path(work), self.cache_dir)
            except FetchFailed as exc:
                return SourceFailed(spec.id, str(exc))
            entries = list_source_files(fetched.root)
            digest = hashlib.sha256("".join(f"{e.path}\0{e.sha256}\n" for e in entries).encode()).hexdigest()
            if row and row[1] == digest:
                self._update_description(row[0], request)
                if self.notes.wants(row[2]):
                    self.notes.hand(spec.id, fetched, entries, self.conn, row[0], replace=True)
                return SourceUnchanged(spec.id, "same files as indexed")
            if not any(e.kind == "code" for e in entries):
                return SourceFailed(spec.id, f"no Python files (.py, .ipynb) in {spec.id}")
            outcome = self._store(request, fetched, entries, digest, replacing=row[0] if row else None,
                                  started=started)
            source_id = self.conn.execute("SELECT id FROM sources WHERE spec = ?", (spec.id,)).fetchone()[0]
            self.notes.hand(spec.id, fetched, entries, self.conn, source_id, replace=row is not None)
            return outcome

    def _update_description(self, source_id: int, request: SourceRequest) -> None:
        """Licence, URL, aliases and origin follow the manifest without re-indexing."""
        fields = {"origin": request.origin}
        if request.licence:
            fields["licence"] = request.licence
        if request.url:
            fields["url"] = request.url
        if request.aliases:
            fields["aliases"] = json.dumps(list(request.aliases), ensure_ascii=False)
        current = self.conn.execute(
            f"SELECT {', '.join(fields)} FROM sources WHERE id = ?", (source_id,)).fetchone()
        if tuple(current) != tuple(fields.values()):
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(f"UPDATE sources SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                              (*fields.values(), source_id))
            self._bump_generation()
            self.conn.execute("COMMIT")

    def _store(self, request: SourceRequest, fetched, entries, digest: str,
               replacing: int | None, started: float) -> SourceAdded:
        spec = request.spec
        conn = self.conn
        code_entries = [e for e in entries if e.kind == "code"]
        warnings: list[str] = [f"{e.path}: {e.skip_reason}" for e in entries if e.skip_reason]
        warnings += fetched.notes
        conn.execute("BEGIN IMMEDIATE")
        try:
            if replacing is not None:
                old_project = conn.execute("SELECT project FROM sources WHERE id = ?",
                                           (replacing,)).fetchone()[0]
                self._remove_rows(replacing, old_project)
            conn.execute(
                "INSERT INTO sources(spec, kind, project, version, licence, url, aliases, origin, "
                "digest, archive, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (spec.id, spec.kind, request.project_id, fetched.version or spec.ref,
                 request.licence or fetched.licence, request.url or fetched.url,
                 json.dumps(list(request.aliases), ensure_ascii=False), request.origin, digest,
                 fetched.archive, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
            source_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            unique_parts: list[np.ndarray] = []
            new = reused = tokens = files = 0
            done = 0
            for batch in _batches(code_entries, defaults.CORPUS_BATCH_FILES, defaults.CORPUS_BATCH_BYTES):
                n_new, n_reused, n_tokens, n_files, kg = self._store_batch(source_id, spec.id, batch,
                                                                           warnings)
                new, reused, tokens, files = new + n_new, reused + n_reused, tokens + n_tokens, files + n_files
                if kg.size:
                    unique_parts.append(kg)
                done += len(batch)
                if self.progress:
                    self.progress(f"fingerprint {spec.id}", done, len(code_entries))
                if len(unique_parts) > 8:  # keep the running set small
                    unique_parts = [np.unique(np.concatenate(unique_parts))]
            unique = np.unique(np.concatenate(unique_parts)) if unique_parts else np.empty(0, np.uint64)
            self._count_project_kgrams(source_id, request.project_id, unique, +1)
            conn.execute("INSERT INTO source_kgrams(source_id, kgrams) VALUES (?, ?)",
                         (source_id, unique.tobytes()))
            conn.execute("UPDATE sources SET code_files = ?, notes_files = ?, tokens = ?, warnings = ? "
                         "WHERE id = ?",
                         (files, sum(1 for e in entries if e.kind == "notes"), tokens,
                          json.dumps(warnings, ensure_ascii=False), source_id))
            if replacing is not None:
                self._drop_unused_contents()
            self._bump_generation()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return SourceAdded(spec.id, fetched.version or spec.ref, files, new, reused, tokens,
                           round(time.perf_counter() - started, 3), replacing is not None,
                           tuple(warnings))

    def _store_batch(self, source_id: int, owner: str, batch, warnings: list[str]):
        conn = self.conn
        params = self.params
        files = [read_source_file(e, owner) for e in batch]
        for f in files:
            if f.code is None and f.warning:
                warnings.append(f"{f.entry.path}: {f.warning}")
        files = [f for f in files if f.code is not None]
        known = {}
        shas = sorted({f.entry.sha256 for f in files})
        for start in range(0, len(shas), 900):
            chunk = shas[start:start + 900]
            known.update(conn.execute(
                f"SELECT sha256, id FROM contents WHERE sha256 IN ({','.join('?' * len(chunk))})",
                chunk).fetchall())
        todo = []
        for f in files:
            if f.entry.sha256 not in known and f.entry.sha256 not in {t.entry.sha256 for t in todo}:
                todo.append(f)
        fps = fingerprint_many([f.code.text for f in todo], params, self.jobs,
                               map=self.fingerprint_map)
        kgram_parts = []
        for f, fp in zip(todo, fps):
            known[f.entry.sha256] = self._insert_content(f.entry.sha256, fp, f.code.text)
            kgram_parts.append(fp.kgrams)
            if fp.stream.parser != "libcst":
                warnings.append(f"{f.entry.path}: lexical fallback ({fp.stream.reason})")
        reused_ids = {known[f.entry.sha256] for f in files} - {known[f.entry.sha256] for f in todo}
        for cid in sorted(reused_ids):
            blob = conn.execute("SELECT arrays FROM contents WHERE id = ?", (cid,)).fetchone()[0]
            kgram_parts.append(unpack_arrays(blob)["kgrams"])
        tokens = 0
        for f in files:
            cid = known[f.entry.sha256]
            n_tokens = conn.execute("SELECT n_tokens FROM contents WHERE id = ?", (cid,)).fetchone()[0]
            tokens += n_tokens
            conn.execute("INSERT INTO documents(source_id, path, sha256, content_id, bytes, lines, "
                         "cell_lines) VALUES (?,?,?,?,?,?,?)",
                         (source_id, f.entry.path, f.entry.sha256, cid, f.entry.size,
                          f.code.text.count("\n") + 1, json.dumps(f.code.cell_lines)))
        unique = np.unique(np.concatenate(kgram_parts)) if kgram_parts else np.empty(0, np.uint64)
        return len(todo), len(reused_ids), tokens, len(files), unique

    def _insert_content(self, sha: str, fp: CodeFingerprint, text: str) -> int:
        params = self.params
        stream = fp.stream
        units = np.array([(u.start, u.end, u.start_line, u.end_line) for u in stream.units],
                         dtype=np.int32).reshape(-1, 4)
        arrays = pack_arrays({
            "kgrams": fp.kgrams.astype(np.uint64),
            "start_lines": np.asarray(stream.start_lines, dtype=np.int32),
            "end_lines": np.asarray(stream.end_lines, dtype=np.int32),
            "units": units,
        }, compress=("start_lines", "end_lines", "units"))
        sets = fp.unit_hash_sets(params) if fp.kgrams.size else []
        matrix = minhash_values_many(sets, params)  # one row per unit range
        cur = self.conn.execute(
            "INSERT INTO contents(sha256, n_tokens, parser, arrays, unit_names, n_signatures, "
            "signatures, text) VALUES (?,?,?,?,?,?,?,?)",
            (sha, fp.n_tokens, stream.parser, arrays,
             json.dumps([u.name for u in stream.units], ensure_ascii=False), len(matrix),
             matrix.tobytes(), zlib.compress(text.encode("utf-8"), 6)))
        return cur.lastrowid

    # k-gram frequencies -----------------------------------------------------------------------
    def _project_kgrams(self, project: str, exclude_source: int) -> np.ndarray:
        parts = [np.frombuffer(blob, dtype=np.uint64) for (blob,) in self.conn.execute(
            "SELECT k.kgrams FROM source_kgrams k JOIN sources s ON s.id = k.source_id "
            "WHERE s.project = ? AND s.id != ?", (project, exclude_source))]
        if not parts:
            return np.empty(0, dtype=np.uint64)
        return parts[0] if len(parts) == 1 else np.unique(np.concatenate(parts))

    def _count_project_kgrams(self, source_id: int, project: str, unique: np.ndarray, delta: int) -> None:
        """Add (+1) or take back (-1) the project's count for k-grams no other source of the same
        project has: a k-gram counts once per project, however many versions hold it."""
        others = self._project_kgrams(project, source_id)
        changed = np.setdiff1d(unique, others, assume_unique=True) if others.size else unique
        values = np.sort(as_int64(changed)).tolist()
        if delta > 0:
            self.conn.executemany(
                "INSERT INTO kgram_df(kgram, projects) VALUES (?, 1) "
                "ON CONFLICT(kgram) DO UPDATE SET projects = projects + 1", zip(values))
        else:
            self.conn.executemany("UPDATE kgram_df SET projects = projects - 1 WHERE kgram = ?",
                                  zip(values))
            self.conn.executemany("DELETE FROM kgram_df WHERE kgram = ? AND projects <= 0", zip(values))

    # removing ----------------------------------------------------------------------------------
    def _remove_rows(self, source_id: int, project: str) -> int:
        """Inside a transaction: take a source's rows and counts out (its contents stay until
        `_drop_unused_contents`, so that a replacing version can reuse them)."""
        conn = self.conn
        blob = conn.execute("SELECT kgrams FROM source_kgrams WHERE source_id = ?", (source_id,)).fetchone()
        if blob is not None:
            self._count_project_kgrams(source_id, project, np.frombuffer(blob[0], dtype=np.uint64), -1)
        n_docs = conn.execute("SELECT COUNT(*) FROM documents WHERE source_id = ?", (source_id,)).fetchone()[0]
        conn.execute("DELETE FROM source_kgrams WHERE source_id = ?", (source_id,))
        conn.execute("DELETE FROM documents WHERE source_id = ?", (source_id,))
        conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
        return n_docs

    def _drop_unused_contents(self) -> None:
        self.conn.execute("DELETE FROM contents WHERE id NOT IN (SELECT content_id FROM documents)")

    def remove(self, spec: str) -> SourceOutcome:
        row = self.conn.execute("SELECT id, project FROM sources WHERE spec = ?", (spec,)).fetchone()
        if row is None:
            return SourceFailed(spec, "not in the index (see `checker corpus list`)")
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            n_docs = self._remove_rows(row[0], row[1])
            self._drop_unused_contents()
            self._bump_generation()
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.notes.remove(spec)
        return SourceRemoved(spec, n_docs)


def _batches(entries: list, max_files: int, max_bytes: int) -> Iterator[list]:
    batch, size = [], 0
    for e in entries:
        if batch and (len(batch) >= max_files or size + e.size > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(e)
        size += e.size
    if batch:
        yield batch


__all__ = ["Progress", "SourceRequest", "Writer", "write_lock"]
