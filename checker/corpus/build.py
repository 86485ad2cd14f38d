"""The public entry points that change a corpus index: add, remove, build from a manifest, rebuild.

Each holds the folder's write lock for its whole run and hands the work to `Writer` (one
transaction per source) and the prose to the notes sink handed in (`NotesHandOff`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

from checker import defaults
from checker.code.fingerprints import FingerprintMap, FingerprintParams
from checker.corpus.notes_handoff import NotesHandOff, NotesSinkOpener
from checker.corpus.records import BuildResult, SourceAdded, SourceOutcome
from checker.corpus.sources import ManifestEntry, SourceError, load_manifest, parse_source
from checker.corpus.storage import (CorpusIndexError, connect, create_db, read_current,
                                    remove_orphans, write_current)
from checker.corpus.writer import Progress, SourceRequest, Writer, write_lock


def _open_for_write(path: Path, params: FingerprintParams) -> str:
    """The live database name, created when the folder holds no index yet."""
    current = read_current(path)
    if current is None:
        remove_orphans(path, None)
        name = create_db(path, params)
        write_current(path, name)
        return name
    remove_orphans(path, current["db"])
    conn = connect(path / current["db"])
    try:
        stored = FingerprintParams(**json.loads(
            conn.execute("SELECT value FROM meta WHERE key = 'params'").fetchone()[0]))
    finally:
        conn.close()
    params.check_compatible(stored, f"corpus index {path}")
    return current["db"]


def add_sources(index_path: Path, requests: Sequence[SourceRequest | str],
                params: FingerprintParams | None = None, jobs: int = 0,
                cache_dir: Path | None = None, progress: Progress | None = None,
                notes: bool = True, notes_sink: NotesSinkOpener | None = None,
                fingerprint_map: FingerprintMap | None = None) -> BuildResult:
    """Add (or refresh) sources, one transaction each; a failing source does not stop the others.

    `notes`: hand each source's prose to the notes corpus as well, through `notes_sink` (opens it
    in `<index>/notes/`: the CLI hands in `checker.notes.corpus.NotesCorpus`'s; without one the
    result says that notes were not indexed).
    `fingerprint_map`: fingerprint elsewhere (`fingerprint_many`'s `map`, e.g. on Ray: the caller
    keeps one cluster up around the whole build); None: this machine's process pool.
    Raises `ParamsMismatch` when the index was built with other parameters, `SourceError` for a
    spec that cannot be parsed (before anything is written)."""
    index_path = Path(index_path)
    params = params or FingerprintParams()
    reqs = [r if isinstance(r, SourceRequest) else SourceRequest(parse_source(r)) for r in requests]
    started = time.perf_counter()
    result = BuildResult(index_path)
    with write_lock(index_path):
        db_name = _open_for_write(index_path, params)
        result.outcomes = _add_all(index_path, db_name, reqs, params, jobs, cache_dir, progress,
                                   result, notes, fingerprint_map, notes_sink)
    result.seconds = time.perf_counter() - started
    return result


def _add_all(index_path: Path, db_name: str, reqs: Sequence[SourceRequest], params, jobs, cache_dir,
             progress, result: BuildResult, notes_enabled: bool = True,
             fingerprint_map: FingerprintMap | None = None,
             notes_sink: NotesSinkOpener | None = None) -> list[SourceOutcome]:
    notes = NotesHandOff(index_path, notes_enabled, notes_sink)
    writer = Writer(index_path, db_name, params, jobs,
                     Path(cache_dir) if cache_dir else index_path / "downloads", progress, notes,
                     fingerprint_map)
    outcomes = []
    try:
        for req in reqs:
            outcomes.append(writer.add(req))
    finally:
        writer.close()
        notes.close()
    if notes.reason and any(isinstance(o, SourceAdded) for o in outcomes):
        result.notes.append(notes.reason)
    return outcomes


def remove_sources(index_path: Path, specs: Sequence[str], notes: bool = True,
                   notes_sink: NotesSinkOpener | None = None) -> BuildResult:
    """Remove sources by their spec (as listed by `checker corpus list`), one transaction each
    (and their prose from the notes corpus `notes_sink` opens, as `add_sources`)."""
    index_path = Path(index_path)
    started = time.perf_counter()
    result = BuildResult(index_path)
    with write_lock(index_path):
        current = read_current(index_path)
        if current is None:
            raise CorpusIndexError(f"{index_path}: no corpus index here")
        hand_off = NotesHandOff(index_path, notes, notes_sink)
        writer = Writer(index_path, current["db"], FingerprintParams(), 0, index_path / "downloads",
                         None, hand_off)
        try:
            result.outcomes = [writer.remove(_canonical_spec(s)) for s in specs]
        finally:
            writer.close()
            hand_off.close()
    result.seconds = time.perf_counter() - started
    return result


def _canonical_spec(text: str) -> str:
    try:
        return parse_source(text).id
    except SourceError:
        return text.strip()


def build_corpus(index_path: Path, manifest: Path | Sequence[ManifestEntry] | None = None,
                 rebuild: bool = False, params: FingerprintParams | None = None, jobs: int = 0,
                 cache_dir: Path | None = None, progress: Progress | None = None,
                 notes: bool = True, notes_sink: NotesSinkOpener | None = None,
                 fingerprint_map: FingerprintMap | None = None) -> BuildResult:
    """Make the index hold what the manifest lists.

    Sources listed are added (unchanged ones skipped); sources that came from a manifest and are
    no longer listed are removed; sources added by hand (`corpus add`) stay. `rebuild`: every
    source is fingerprinted again into a new database (with `params`), which replaces the live one
    only when complete: the fix for `ParamsMismatch`, and for a damaged index."""
    index_path = Path(index_path)
    params = params or FingerprintParams()
    if manifest is None:
        manifest = defaults.CORPUS_MANIFEST
    entries = load_manifest(manifest) if isinstance(manifest, (str, Path)) else list(manifest)
    requests = [SourceRequest.from_entry(e) for e in entries]
    started = time.perf_counter()
    result = BuildResult(index_path)
    with write_lock(index_path):
        if rebuild:
            _rebuild(index_path, requests, params, jobs, cache_dir, progress, result, notes,
                     fingerprint_map, notes_sink)
        else:
            db_name = _open_for_write(index_path, params)
            listed = {r.spec.id for r in requests}
            conn = connect(index_path / db_name)
            try:
                stale = [s for (s,) in conn.execute(
                    "SELECT spec FROM sources WHERE origin = 'manifest' ORDER BY id") if s not in listed]
            finally:
                conn.close()
            if stale:
                hand_off = NotesHandOff(index_path, notes, notes_sink)
                writer = Writer(index_path, db_name, params, jobs, index_path / "downloads", None,
                                 hand_off)
                try:
                    result.outcomes += [writer.remove(s) for s in stale]
                finally:
                    writer.close()
                    hand_off.close()
            result.outcomes += _add_all(index_path, db_name, requests, params, jobs, cache_dir,
                                        progress, result, notes, fingerprint_map, notes_sink)
    result.seconds = time.perf_counter() - started
    return result


def _rebuild(index_path: Path, requests: list[SourceRequest], params, jobs, cache_dir, progress,
             result: BuildResult, notes: bool,
             fingerprint_map: FingerprintMap | None = None,
             notes_sink: NotesSinkOpener | None = None) -> None:
    current = read_current(index_path) if (index_path / "CURRENT").exists() else None
    remove_orphans(index_path, current["db"] if current else None)
    keep: list[SourceRequest] = []
    if current is not None:  # sources added by hand are rebuilt too
        conn = connect(index_path / current["db"], readonly=True)
        try:
            listed = {r.spec.id for r in requests}
            for spec, licence, url, aliases, project in conn.execute(
                    "SELECT spec, licence, url, aliases, project FROM sources WHERE origin = 'add' "
                    "ORDER BY id"):
                if spec not in listed:
                    parsed = parse_source(spec)
                    keep.append(SourceRequest(parsed, licence, url, tuple(json.loads(aliases)), "add",
                                              project if project != parsed.project else ""))
        finally:
            conn.close()
    new_db = create_db(index_path, params)
    result.outcomes += _add_all(index_path, new_db, requests + keep, params, jobs, cache_dir,
                                progress, result, notes, fingerprint_map, notes_sink)
    write_current(index_path, new_db)
    remove_orphans(index_path, new_db)


__all__ = ["add_sources", "build_corpus", "remove_sources"]
