"""A source's prose for the notes corpus: Markdown, text and HTML files, notebook markdown and long
docstrings, handed to a `NotesSink` the caller hands in (the corpus and the notes are peers: the
CLI passes `checker.notes.corpus.NotesCorpus`'s opener, the corpus index never imports it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from checker import defaults
from checker.corpus.sources import read_source_file


class NotesSink(Protocol):
    """Where a source's prose goes: the notes corpus. `checker.notes.corpus.NotesCorpus` is one;
    the caller (the CLI) hands in its opener, the corpus index never imports it (notes and corpus
    are peers)."""

    def set_source(self, source: str, **meta) -> None: ...

    def add_document(self, source: str, path: str, text: str, meta: dict) -> object: ...

    def remove_source(self, source: str) -> object: ...

    def save(self) -> None: ...

    def close(self) -> None: ...


# Opens (creating when missing) the notes sink in a folder: `<index>/notes/`.
NotesSinkOpener = Callable[[Path], NotesSink]


class NotesHandOff:
    """Gives a source's prose (Markdown, text, HTML, notebook markdown, docstrings) to the notes
    sink handed in (`opener`, e.g. `NotesCorpus.open`, opened in `<index>/notes/` when first
    needed); without one, or when switched off, records why it did not."""

    def __init__(self, index_path: Path, enabled: bool = True,
                 opener: NotesSinkOpener | None = None) -> None:
        self.index_path = index_path
        self.enabled = enabled
        self.opener = opener
        self.reason = "" if enabled else "notes of sources were not handed to the notes corpus (switched off)"
        self._corpus: NotesSink | None = None
        self._opened = False

    def _open(self) -> NotesSink | None:
        if self._opened:
            return self._corpus
        self._opened = True
        if self.opener is None:
            self.reason = "no notes corpus was handed in (notes_sink); notes of sources were not indexed"
            return None
        notes_dir = self.index_path / defaults.NOTES_INDEX_SUBDIR
        try:
            self._corpus = self.opener(notes_dir)
        except Exception as exc:  # noqa: BLE001 - the notes corpus must not break the code index
            self.reason = f"could not open the notes corpus in {notes_dir}: {exc}"
        return self._corpus

    @property
    def available(self) -> bool:
        return self.enabled and self._open() is not None

    def wants(self, notes_state: str) -> bool:
        """Does a source in this state still need its prose handed over?"""
        return notes_state != "done" and self.available

    def hand(self, spec: str, fetched, entries, conn: sqlite3.Connection, source_id: int,
             replace: bool) -> None:
        state = "unavailable"
        corpus = self._open() if self.enabled else None
        if corpus is not None:
            try:
                if replace:
                    corpus.remove_source(spec)
                meta = {"version": fetched.version, "licence": fetched.licence, "url": fetched.url}
                corpus.set_source(spec, **meta)
                left_out: list[str] = []
                for path, text, kind in _prose_of(fetched, entries, spec, left_out):
                    corpus.add_document(spec, path, text, {**meta, "kind": kind})
                if left_out:
                    self.reason = "; ".join(left_out)
                corpus.save()
                state = "done"
            except Exception as exc:  # noqa: BLE001 - recorded; the code index stays usable
                state = "failed"
                self.reason = f"the notes corpus refused {spec}: {type(exc).__name__}: {exc}"
        conn.execute("UPDATE sources SET notes_state = ? WHERE id = ?", (state, source_id))

    def remove(self, spec: str) -> None:
        corpus = self._open() if self.enabled else None
        if corpus is not None:
            try:
                corpus.remove_source(spec)
                corpus.save()
            except Exception as exc:  # noqa: BLE001
                self.reason = f"the notes corpus could not remove {spec}: {exc}"

    def close(self) -> None:
        if self._corpus is not None:
            self._corpus.close()
        self._corpus = None


def _looks_like_prose(text: str) -> bool:
    """A `.txt` file of sentences, not of data (timm ships megabytes of synset lists as .txt)."""
    lines = [ln for ln in text.splitlines() if ln.strip()][:400]
    if not lines:
        return False
    cjk = sum(1 for ch in text[:20000] if "\u3400" <= ch <= "\u9fff")
    if cjk >= 0.3 * max(1, len(text[:20000].replace(" ", ""))):
        return True
    wordy = sum(1 for ln in lines if len(ln.split()) >= 5)
    return wordy >= 0.4 * len(lines)


def _prose_of(fetched, entries, owner: str, notes: list[str]) -> Iterator[tuple[str, str, str]]:
    """(path, text, kind) of the source's prose: Markdown/reST/HTML files, `.txt` files that read
    as prose, notebook markdown, and docstrings of at least CORPUS_NOTES_MIN_DOCSTRING_WORDS words
    (one-line parameter docs are not what notes copy). At most CORPUS_NOTES_MAX_CHARS per source:
    what is left out is recorded in `notes`."""
    import ast

    budget = defaults.CORPUS_NOTES_MAX_CHARS
    skipped = 0

    def take(path: str, text: str, kind: str):
        nonlocal budget, skipped
        if len(text) > budget:
            skipped += 1
            return None
        budget -= len(text)
        return path, text, kind

    for e in entries:
        if e.size > defaults.CORPUS_NOTES_MAX_FILE_BYTES:
            continue
        f = read_source_file(e, owner)
        if e.kind == "notes":
            if f.notes_text.strip() and (not e.path.lower().endswith(".txt")
                                         or _looks_like_prose(f.notes_text)):
                item = take(e.path, f.notes_text, "notes")
                if item:
                    yield item
            continue
        if f.code is None:
            continue
        if f.notes_text.strip():
            item = take(e.path, f.notes_text, "notebook-markdown")
            if item:
                yield item
        try:
            tree = ast.parse(f.code.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # CPython's "too deep"
            continue
        docs = [ast.get_docstring(node) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        text = "\n\n".join(d for d in docs if d and len(d.split()) >= defaults.CORPUS_NOTES_MIN_DOCSTRING_WORDS)
        if text.strip():
            item = take(e.path, text, "docstrings")
            if item:
                yield item
    if skipped:
        notes.append(f"{owner}: {skipped} prose file(s) beyond {defaults.CORPUS_NOTES_MAX_CHARS:,} "
                     "characters were not handed to the notes corpus")


__all__ = ["NotesHandOff", "NotesSink", "NotesSinkOpener"]
