"""A learner's notes, read once: the notes files of a `Submission` and its notebooks' markdown.

`read_notes(sub)` reads every notes file of the submission (where ingest found it: its folder,
the extracted zip, a manifest row, a merged second hand-in) through the one reader
(`checker.ingest.documents`, links refused) and parses the markdown cells ingest already read of
each notebook (`checker.ingest.notebook`); nothing is read from disk twice. It fills

- `sub.notes_documents`: one `NotesDocument` per notes file, then one per notebook with markdown,
  for the notes check (`checker.notes.check`);
- `sub.notes_text`: the learner's words of each of them as text lines, for the stages that read
  lines: corpus attribution (`checker.corpus.attribution`), the rules' NS801/NS802
  (`checker.rules.attribution`) and the claims of a retrain (`checker.retrain.claims`). A text
  file (Markdown, plain text) is its decoded text, line numbers those of the file; a notebook
  is its markdown cells joined; PDF, Word and HTML are their extracted paragraphs and links.

The documents' warnings stay on the documents: the scan adds them to the learner's warnings when
it checks notes. Reading twice is a no-op; `read_notes` returns the documents.
"""

from __future__ import annotations

from checker.ingest.documents import NotesDocument, notebook_notes, read_notes_with_text
from checker.ingest.round import Submission

# Notes formats whose text is extracted (no lines of their own): their words are the paragraphs.
EXTRACTED_SUFFIXES = (".pdf", ".docx", ".html", ".htm")


def read_notes(sub: Submission) -> list[NotesDocument]:
    """Every notes document of `sub`, read once (see the module docstring)."""
    if sub.notes_documents is not None:
        return sub.notes_documents
    documents: list[NotesDocument] = []
    texts: dict[str, str] = {}
    for rel in sub.notes:
        path = sub.path_of(rel)
        if path is None:
            continue
        doc, text = read_notes_with_text(path, owner=sub.learner, rel_path=rel, follow_links=False)
        documents.append(doc)
        if rel.lower().endswith(EXTRACTED_SUFFIXES):
            texts[rel] = "\n".join([p.text for p in doc.paragraphs] + doc.urls)
        elif text is not None:
            texts[rel] = text
    for rel, markdown in sub.notebook_markdown.items():
        notebook = sub.notebooks[rel]
        doc = notebook_notes(notebook.markdown_cells, rel, sub.learner)
        doc.encoding = notebook.encoding  # its "decoded as" warning is ingest's, given once
        documents.append(doc)
        texts[rel] = markdown
    sub.notes_documents = documents
    sub.notes_text = texts
    return documents


def notes_lines(sub: Submission, suffixes: tuple[str, ...] | None = None) -> dict[str, str]:
    """`sub.notes_text` (notes read first if need be), only the paths ending in `suffixes`
    when given; notebooks first, then the notes files, as the attribution reads them."""
    read_notes(sub)
    order = [*sub.notebook_markdown, *sub.notes]
    return {rel: sub.notes_text[rel] for rel in order if rel in sub.notes_text
            and (suffixes is None or rel.lower().endswith(suffixes))}
