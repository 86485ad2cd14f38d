"""What the rules read of a learner: the files of an ingested `Submission`, as `SourceFile`s.

The rules have no reader of their own: `checker scan` and `checker lint` both ingest a learner
folder with `checker.ingest.round` (links never followed, tool folders skipped, notebooks read
by `checker.ingest.notebook`) and its notes with `checker.ingest.notes`, and hand the result
here. `sources_from_text` gives the same `SourceFile`s for a file held in memory (benchmarks,
tests on recorded submissions).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from checker.model import SourceFile

# Notes whose words the rules read from text held in memory (`sources_from_text`).
NOTE_SUFFIXES = (".md", ".markdown", ".txt", ".rst")


def submission_files(sub, notes: bool = True) -> list[SourceFile]:
    """The code files of an ingested submission and, with `notes`, one notes `SourceFile` per
    notes document (its words as lines, `checker.ingest.notes`), read once whoever asks."""
    files = list(sub.code)
    if notes:
        from checker.ingest.notes import notes_lines

        texts = notes_lines(sub)
        files += [SourceFile(sub.learner, rel, texts[rel], kind="notes")
                  for rel in sorted(texts, key=lambda rel: PurePosixPath(rel).parts)]  # walk order
    return files


def read_submission(root: str | Path, owner: str | None = None) -> tuple[list[SourceFile], list]:
    """Every code and notes file under one learner folder, through the shared ingest, with
    warnings for what was skipped (the folder's and its notes documents')."""
    from checker.ingest.notes import read_notes
    from checker.ingest.round import load_folder

    base = Path(root)
    sub = load_folder(base, owner or base.resolve().name)
    files = submission_files(sub)
    return files, sub.warnings + [w for doc in read_notes(sub) for w in doc.warnings]


def notebook_sources(owner: str, path: str, text: str, encoding: str = "utf-8") -> list[SourceFile]:
    """A notebook's code cells as one code SourceFile (as ingest reads it: cells joined by a
    blank line, IPython lines commented out, `cell_lines` holding each cell's first line) and its
    markdown cells as one notes SourceFile.

    Raises ValueError when the text is not notebook JSON.
    """
    from checker.ingest.notebook import notebook_cells, notebook_code

    cells, reason = notebook_cells(text)
    if reason:
        raise ValueError(reason)
    code, starts = notebook_code(cells)
    out = [SourceFile(owner, path, code, kind="code", encoding=encoding, cell_lines=starts)]
    markdown = "\n\n".join(c.source for c in cells if c.kind == "markdown")
    if markdown.strip():
        out.append(SourceFile(owner, path, markdown, kind="notes", encoding=encoding))
    return out


def sources_from_text(owner: str, path: str, text: str, encoding: str = "utf-8") -> list[SourceFile]:
    """The SourceFiles the rules see for one decoded file (none for data files such as .csv)."""
    lower = path.lower()
    if lower.endswith(".ipynb"):
        return notebook_sources(owner, path, text, encoding)
    if lower.endswith(".py"):  # as ingest reads it: \r\n line ends made \n
        return [SourceFile(owner, path, text.replace("\r\n", "\n"), kind="code", encoding=encoding)]
    if lower.endswith(NOTE_SUFFIXES) or "." not in Path(path).name:
        return [SourceFile(owner, path, text, kind="notes", encoding=encoding)]
    return []
