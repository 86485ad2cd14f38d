"""`checker notes` (a learner's pre-check of their notes) and `checker notes-index` (the corpus).

Thin commands: options -> files/config -> one library call (`checker.notes.*`) -> output.
Exit codes of `notes`: 0 clean, 1 needs attention, 2 usage error (bad file, no index).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from checker import defaults
from checker.cli.options import index_option
from checker.cli.errors import CheckerCommand, CheckerGroup, CheckerInputError
from checker.report.safetext import visible_controls

_TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".ipynb")


def _notes_dir(index: Path) -> Path:
    return index / defaults.NOTES_INDEX_SUBDIR


def _open_corpus(index: Path, create: bool, model: str | None = None):
    from checker.notes.config import CorpusMismatchError, NotesConfig
    from checker.notes.corpus import NotesCorpus

    directory = _notes_dir(index)
    if not create and not (directory / "notes.sqlite").exists():
        raise CheckerInputError(
            f"no notes corpus in {directory}: build one with "
            f"`checker notes-index add ARTICLES_DIR --index {index}`")
    try:
        return NotesCorpus.open(directory, config=NotesConfig(model=model) if model else None,
                                create=create)
    except CorpusMismatchError as exc:
        raise CheckerInputError(f"{directory}: {exc}") from exc


@click.command("notes", cls=CheckerCommand)
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_option("Index folder; its notes corpus is INDEX/notes.")
@click.option("--learner", default="you", show_default=True, help="Name to show for these notes.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (report.json shape).")
@click.option("--task", "task_path", type=click.Path(path_type=Path), default=None,
              help="task.toml whose [notes] table sets min_words / min_own_share; without it "
                   "length and own-share findings are information only.")
def notes_command(files: tuple[Path, ...], index: Path, learner: str, as_json: bool,
                  task_path: Path | None) -> None:
    """Pre-check your notes: which paragraphs read as copied, from where, and what to do.

    FILES are your notes (.md, .txt, .ipynb, .pdf, .docx, .html), checked together against the
    public articles in the index. Exit 0 when clean, 1 when a paragraph reads as copied or a
    norm of the task (--task, its [notes] table) is not met.

    \b
    Examples:
      checker notes week3.md
      checker notes week3.md --task task.toml
      checker notes notes/*.md report.pdf --index fingerprints/ --json > notes.json
    """
    from checker.notes.embeddings import EmbeddingModelError
    from checker.notes.check import check_notes
    from checker.ingest.documents import read_notes_file

    norms = None
    if task_path is not None:
        from checker.task.taskfile import TaskFileError, load_task

        try:
            norms = load_task(task_path).notes
        except TaskFileError as exc:
            raise CheckerInputError(str(exc)) from exc
    documents = []
    for path in files:
        if not path.is_file():
            raise CheckerInputError(f"{path}: no such file")
        document = read_notes_file(path, owner=learner)
        fatal = [w for w in document.warnings if w.kind in ("skipped", "error")]
        if fatal and not document.paragraphs:
            raise CheckerInputError(f"{path}: {fatal[0].reason}")
        documents.append(document)
    corpus = _open_corpus(index, create=False)
    try:
        report = check_notes(documents, corpus, norms=norms)
    except EmbeddingModelError as exc:
        raise CheckerInputError(f"{_notes_dir(index)}: {exc}") from exc
    finally:
        corpus.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    click.get_current_context().exit(1 if report.needs_attention else 0)


def _print_report(report) -> None:
    for learner in report.learners:
        for verdict in learner.paragraphs:
            if verdict.status not in ("copied", "shared", "cited"):
                continue
            match = verdict.corpus_match if verdict.status != "shared" else verdict.learner_match
            where = f"{verdict.path}:{verdict.span.start_line}"
            if verdict.cell is not None:
                where += f" (cell {verdict.cell})"
            if verdict.page is not None:
                where += f" (page {verdict.page})"
            label = {"copied": "COPIED", "cited": "cited", "shared": "SHARED"}[verdict.status]
            source = f"{match.source.source}: {match.source.path}"
            click.echo(f"{visible_controls(where)}  {label} {match.kind} {match.score:.0%}  <- "
                       f"{visible_controls(source)}:{match.source.span.start_line}")
            preview = verdict.text.replace("\n", " ")
            click.echo(f"    \"{preview[:100]}{'...' if len(preview) > 100 else ''}\"")
            click.echo(click.wrap_text(verdict.suggestion, initial_indent="    ",
                                       subsequent_indent="    "))
        for finding in learner.findings:
            click.echo(f"{'info' if finding.severity == 'info' else 'NOTE'}  {finding.message}")
        click.echo(f"{learner.learner}: {learner.words} words, {learner.own_share:.0%} in your own "
                   f"words; {sum(p.status == 'copied' for p in learner.paragraphs)} paragraph(s) to "
                   "cite or rewrite.")
    for warning in report.warnings:
        click.echo(f"warning: {visible_controls(warning.path)}: {warning.reason}")
    if not report.cross_lingual:
        click.echo(f"(model {report.model} matches within a language only: translations are not "
                   "checked)")
    click.echo("needs attention" if report.needs_attention else "clean")


@click.group("notes-index", cls=CheckerGroup)
def notes_index_group() -> None:
    """Manage the notes corpus (public articles learners copy from) in INDEX/notes.

    \b
    Example:
      checker notes-index add d2l-zh/ --source git:d2l-zh --url https://zh.d2l.ai --alias d2l
    """


@notes_index_group.command("add")
@click.argument("articles_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@index_option("Index folder; the notes corpus is INDEX/notes.")
@click.option("--source", default=None, help="Source id (default: dir:FOLDER_NAME).")
@click.option("--url", default="", help="Where the articles are published (citation evidence).")
@click.option("--title", default="", help="The source's name, e.g. 'Dive into Deep Learning'.")
@click.option("--licence", default="", help="Licence of the articles.")
@click.option("--alias", "aliases", multiple=True, help="Other names learners cite it by (repeat).")
@click.option("--model", default=None,
              help=f"Embedding model for a new corpus (default {defaults.NOTES_EMBEDDING_MODEL}).")
def notes_index_add(articles_dir: Path, index: Path, source: str | None, url: str, title: str,
                    licence: str, aliases: tuple[str, ...], model: str | None) -> None:
    """Add a folder of Markdown/text/HTML/notebook articles to the notes corpus.

    Unchanged files are skipped; changed ones replaced.

    \b
    Example:
      checker notes-index add articles/ --index fingerprints/ --title "My blog" --url https://blog.example
    """
    from checker.ingest.encoding import UndecodableError, decode_bytes

    source = source or f"dir:{articles_dir.resolve().name}"
    corpus = _open_corpus(index, create=True, model=model)
    try:
        corpus.set_source(source, url=url, title=title, licence=licence, aliases=list(aliases))
        added = unchanged = skipped = 0
        for path in sorted(articles_dir.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in _TEXT_SUFFIXES:
                continue
            relative = path.relative_to(articles_dir).as_posix()
            try:
                text, _ = decode_bytes(path.read_bytes())
            except (OSError, UndecodableError) as exc:
                click.echo(f"skipped {visible_controls(relative)}: {exc}", err=True)
                skipped += 1
                continue
            if corpus.add_document(source, relative, text, {"url": url} if url else {}):
                added += 1
            else:
                unchanged += 1
        corpus.save()
        stats = corpus.stats()
    finally:
        corpus.close()
    click.echo(f"{source}: {added} added, {unchanged} unchanged, {skipped} skipped; corpus now "
               f"{stats['documents']} documents, {stats['sentences']} sentences ({stats['model']})")


@notes_index_group.command("remove")
@click.argument("source")
@index_option("Index folder; the notes corpus is INDEX/notes.")
def notes_index_remove(source: str, index: Path) -> None:
    """Remove every document of SOURCE from the notes corpus.

    \b
    Example:
      checker notes-index remove dir:articles --index fingerprints/
    """
    corpus = _open_corpus(index, create=False)
    try:
        removed = corpus.remove_source(source)
        corpus.save()
    finally:
        corpus.close()
    if not removed:
        raise CheckerInputError(f"{_notes_dir(index)}: no documents of source {source!r}")
    click.echo(f"{source}: {removed} documents removed")


@notes_index_group.command("list")
@index_option("Index folder; the notes corpus is INDEX/notes.")
def notes_index_list(index: Path) -> None:
    """List the sources of the notes corpus with their document counts.

    \b
    Example:
      checker notes-index list --index fingerprints/
    """
    corpus = _open_corpus(index, create=False)
    try:
        for source, count in corpus.sources():
            click.echo(f"{source}\t{count}")
        stats = corpus.stats()
    finally:
        corpus.close()
    click.echo(f"model {stats['model']}: {stats['documents']} documents, {stats['paragraphs']} "
               f"paragraphs, {stats['sentences']} sentences")
