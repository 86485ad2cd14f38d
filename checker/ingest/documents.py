"""Notes files -> `NotesDocument`: prose paragraphs with line spans, code blocks for the code path.

Formats: Markdown (markdown-it-py), plain text, markdown cells of Jupyter notebooks (as
`checker.ingest.notebook`, the one notebook reader, reads them), and in `checker.ingest.formats`
PDF (text layer, pypdf), Word .docx (python-docx) and HTML (BeautifulSoup). Encodings as for code
(`checker.ingest.encoding.decode_bytes`). A notes file never makes ingest fail: oddities become
`IngestWarning` values on the document.

What counts as the learner's words, and what does not:
- fenced/indented code blocks go to the code path as `SourceFile`s (python or unlabelled
  fences; other languages are recorded as excluded blocks), never to prose;
- formulas (`$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]`, LaTeX environments, MathML/KaTeX in
  HTML) are removed from the prose; a block that is only formulas is excluded;
- images are removed (alt text is not the learner's prose); link-only lines are excluded, and the
  URLs of every paragraph are kept as citation evidence;
- d2lbook/Sphinx roles (":label:`sec_x`", ":numref:`fig_y`") are markup, not words.
Excluded blocks are kept as `ExcludedBlock` values with their reason so a report can show them.

Span conventions: lines are 1-based in the file as the user has it; for notebooks lines count
within the markdown cell named by `cell`; for PDF within the page named by `page`; for .docx a
"line" is the paragraph number in the document (Word has no stable lines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from checker import defaults
from checker.ingest.encoding import UndecodableError, decode_bytes
from checker.ingest.notebook import notebook_cells
from checker.ingest.walk import read_capped
from checker.model import IngestWarning, SourceFile, Span
from checker.core.textnorm import split_sentences, word_count

# --- inline cleaning (Markdown and plain text) -------------------------------------------------
_ROLE = re.compile(r":[A-Za-z][\w-]*:`[^`\n]*`")  # d2lbook / Sphinx roles
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)|!\[[^\]\n]*\]\[[^\]\n]*\]")
_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|ftp)://[^>\s]+)>")
_BARE_URL = re.compile(r"(?:https?|ftp)://[^\s<>()\[\]\"'，。）（]+|www\.[^\s<>()\[\]\"'，。）（]+")
_INLINE_MATH = re.compile(
    r"\$\$.+?\$\$|(?<![\\$A-Za-z0-9])\$(?=\S)[^$\n]+?(?<=\S)\$(?![A-Za-z0-9$])|\\\(.+?\\\)|\\\[.+?\\\]",
    re.S,
)
_DISPLAY_MATH = re.compile(
    r"^[ \t]*(\$\$|\\\[|\\begin\{(equation|align|gather|multline|eqnarray|math|displaymath)\*?\})"
    r"(?:(?!\n[ \t]*\n).)*?(\$\$|\\\]|\\end\{\2\*?\})[ \t]*$",
    re.S | re.M,
)
_CODE_SPAN = re.compile(r"`+([^`]*)`+")
# `*` emphasis may sit inside words (and next to Chinese, which has no spaces); `_` may not.
_EMPHASIS = re.compile(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1|(?<!\w)(_{1,3})(?=\S)(.+?)(?<=\S)\3(?!\w)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>\n]*>")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!$|<>~])")
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_SPACES = re.compile(r"[ \t\u3000]+")
_REFERENCE_LINK_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)

# Fence info strings whose code goes to the (Python) code path; d2l writes ```{.python .input}.
_PYTHON_FENCES = re.compile(r"^\s*(\{?\.?(python|py|python3|ipython|ipython3|pytorch|torch)\b|$)", re.I)
# HTML elements that are page furniture, not article text.
_HTML_FURNITURE = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg")


@dataclass(frozen=True)
class Paragraph:
    """One unit of prose: a Markdown paragraph, a whole list, a table, a quote or a heading.

    `text` is the prose the analysis reads (markup, formulas, images and URLs removed);
    `sentences` are [start, end) offsets into `text`; `urls` are the links the paragraph carries
    (citation evidence); `section` is the heading path above it.
    """

    index: int
    text: str
    span: Span
    sentences: tuple[tuple[int, int], ...]
    kind: str = "prose"  # prose | list | table | quote | heading
    section: str = ""
    urls: tuple[str, ...] = ()
    cell: int | None = None  # notebooks: 1-based cell number
    page: int | None = None  # PDF: 1-based page number

    @property
    def words(self) -> int:
        return word_count(self.text)

    def sentence_texts(self) -> list[str]:
        return [self.text[s:e] for s, e in self.sentences]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ExcludedBlock:
    """A block that is neither the learner's words nor copying (formula, image, links, markup)."""

    span: Span
    reason: str  # formula | image | links | markup | html | code:<language> | empty
    preview: str = ""
    cell: int | None = None
    page: int | None = None
    urls: tuple[str, ...] = ()  # a link-only line next to a copied paragraph is a citation

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class NotesDocument:
    """One notes file of one owner (learner or corpus source), ready for analysis."""

    owner: str
    path: str
    paragraphs: list[Paragraph] = field(default_factory=list)
    excluded: list[ExcludedBlock] = field(default_factory=list)
    code_files: list[SourceFile] = field(default_factory=list)
    warnings: list[IngestWarning] = field(default_factory=list)
    encoding: str = "utf-8"
    title: str = ""
    link_urls: list[str] = field(default_factory=list)  # Markdown link definitions ("[1]: URL")

    @property
    def urls(self) -> list[str]:
        """Every URL the document carries: citation evidence for the whole file."""
        found = [u for p in self.paragraphs for u in p.urls]
        found += [u for e in self.excluded for u in e.urls]
        return list(dict.fromkeys(found + self.link_urls))

    @property
    def key(self) -> str:
        return f"{self.owner}/{self.path}"

    @property
    def prose(self) -> list[Paragraph]:
        """The paragraphs that can be copied prose (headings are too short to judge)."""
        return [p for p in self.paragraphs if p.kind != "heading"]

    @property
    def words(self) -> int:
        return sum(p.words for p in self.prose)

    def to_dict(self) -> dict:
        return {
            "owner": self.owner,
            "path": self.path,
            "title": self.title,
            "encoding": self.encoding,
            "paragraphs": [p.to_dict() for p in self.paragraphs],
            "excluded": [e.to_dict() for e in self.excluded],
            "code_files": [f.key for f in self.code_files],
            "link_urls": list(self.link_urls),
            "warnings": [w.to_dict() for w in self.warnings],
        }


# --- entry points ----------------------------------------------------------------------------
def read_notes_file(
    path: str | Path,
    owner: str = "",
    rel_path: str | None = None,
    max_bytes: int = defaults.MAX_FILE_BYTES,
    *,
    follow_links: bool = True,
) -> NotesDocument:
    """Read and parse one notes file. Never raises for the file's content or size.

    `rel_path` is the path shown in reports (default: the path as given). Binary document
    formats (PDF, .docx) may be up to `defaults.NOTES_MAX_BINARY_BYTES`, notebooks up to
    `defaults.NOTEBOOK_MAX_BYTES` (plots in their outputs; their markdown cells up to
    `defaults.MAX_FILE_BYTES`), text formats up to `max_bytes`. `follow_links=False` for a
    learner's file: a symbolic link is refused (`checker.ingest.walk.read_capped`).
    """
    return read_notes_with_text(path, owner, rel_path, max_bytes, follow_links=follow_links)[0]


def read_notes_with_text(
    path: str | Path,
    owner: str = "",
    rel_path: str | None = None,
    max_bytes: int = defaults.MAX_FILE_BYTES,
    *,
    follow_links: bool = True,
) -> tuple[NotesDocument, str | None]:
    """`read_notes_file`, and the decoded text of a text format (Markdown, plain text, HTML,
    a notebook's JSON); None for PDF and Word and for a file that could not be read."""
    path = Path(path)
    shown = rel_path if rel_path is not None else path.as_posix()
    suffix = path.suffix.lower()
    limit = defaults.NOTES_MAX_BINARY_BYTES if suffix in (".pdf", ".docx") else max_bytes
    if suffix == ".ipynb":
        limit = max(limit, defaults.NOTEBOOK_MAX_BYTES)
    try:
        size = path.stat().st_size
        if size <= limit:
            data = path.read_bytes() if follow_links else read_capped(path, limit)
            size = len(data)
        if size > limit:
            return _skipped(owner, shown, f"{size:,} bytes is over the {limit:,}-byte limit"), None
    except OSError as exc:
        return _skipped(owner, shown, f"cannot read: {exc.strerror or exc}", kind="error"), None
    return _parse_bytes(data, shown, owner)


def parse_notes_bytes(data: bytes, path: str, owner: str = "") -> NotesDocument:
    """Parse notes from raw bytes; the suffix of `path` picks the format."""
    return _parse_bytes(data, path, owner)[0]


def _parse_bytes(data: bytes, path: str, owner: str) -> tuple[NotesDocument, str | None]:
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in (".pdf", ".docx"):
        from checker.ingest import formats

        parse = formats.parse_pdf if suffix == ".pdf" else formats.parse_docx
        return parse(data, path, owner), None
    try:
        text, encoding = decode_bytes(data)
    except UndecodableError as exc:
        return _skipped(owner, path, str(exc)), None
    doc = parse_notes_text(text, path, owner)
    doc.encoding = encoding
    if encoding not in ("utf-8", "utf-8-sig"):
        doc.warnings.append(IngestWarning(path, f"decoded as {encoding}", owner, kind="decoded"))
    return doc, text


def parse_notes_text(text: str, path: str, owner: str = "") -> NotesDocument:
    """Parse decoded notes text; the suffix of `path` picks the format (unknown: plain text)."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in (".md", ".markdown"):
        return _parse_markdown(text, path, owner)
    if suffix == ".ipynb":
        return _parse_notebook(text, path, owner)
    if suffix in (".html", ".htm"):
        from checker.ingest import formats

        return formats.parse_html(text, path, owner)
    return _parse_plain(text, path, owner)


def _skipped(owner: str, path: str, reason: str, kind: str = "skipped") -> NotesDocument:
    return NotesDocument(owner, path, warnings=[IngestWarning(path, reason, owner, kind=kind)])


# --- shared cleaning -------------------------------------------------------------------------
@dataclass
class _Cleaned:
    text: str
    urls: list[str]
    had_formula: bool
    had_image: bool
    had_role: bool


def _clean_inline(raw: str, markdown: bool = True) -> _Cleaned:
    """Prose of one block: markup, formulas, images and URLs removed; URLs collected."""
    urls: list[str] = []
    text = raw
    had_role = bool(_ROLE.search(text))
    text = _ROLE.sub(" ", text)
    had_formula = bool(_INLINE_MATH.search(text))
    text = _INLINE_MATH.sub(" ", text)
    had_image = False
    if markdown:
        had_image = bool(_IMAGE.search(text))
        text = _IMAGE.sub(" ", text)

        def link(m: re.Match) -> str:
            if m.group(2):
                urls.append(m.group(2))
            return m.group(1)

        text = _LINK.sub(link, text)
        text = _AUTOLINK.sub(lambda m: urls.append(m.group(1)) or " ", text)
    text = _BARE_URL.sub(lambda m: urls.append(m.group()) or " ", text)
    if markdown:
        text = _CODE_SPAN.sub(lambda m: m.group(1), text)
        text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(4), text)
        text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(4), text)  # nested *_x_*
        text = _HTML_TAG.sub(" ", text)
        text = _ESCAPE.sub(lambda m: m.group(1), text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(line for line in lines if line)
    return _Cleaned(text, urls, had_formula, had_image, had_role)


def _has_words(text: str) -> bool:
    return word_count(text) > 0


def _exclusion_reason(cleaned: _Cleaned) -> str:
    if cleaned.had_formula:
        return "formula"
    if cleaned.had_image:
        return "image"
    if cleaned.urls:
        return "links"
    if cleaned.had_role:
        return "markup"
    return "empty"


def _line_span(lines: list[str], first: int, last: int) -> Span:
    """Span covering 1-based lines first..last of `lines`."""
    last = max(first, min(last, len(lines)))
    while last > first and not lines[last - 1].strip():  # markdown-it maps include blank lines
        last -= 1
    end_col = len(lines[last - 1]) if 0 < last <= len(lines) else 0
    return Span(first, 0, last, end_col)


def _sentences_of_items(items: list[str]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Join block items (list items, table rows) with newlines; sentences never cross items."""
    text_parts: list[str] = []
    spans: list[tuple[int, int]] = []
    offset = 0
    for item in items:
        spans.extend((offset + s, offset + e) for s, e in split_sentences(item))
        text_parts.append(item)
        offset += len(item) + 1
    return "\n".join(text_parts), tuple(spans)


class _Builder:
    """Collects paragraphs and excluded blocks of one document, numbering them in order."""

    def __init__(self, owner: str, path: str):
        self.doc = NotesDocument(owner, path)
        self.section: list[str] = []

    def heading(self, level: int, text: str, span: Span, cell=None, page=None) -> None:
        cleaned = _clean_inline(text)
        if not cleaned.text:
            return
        del self.section[level - 1 :]
        while len(self.section) < level - 1:
            self.section.append("")
        self.section.append(cleaned.text)
        if not self.doc.title:
            self.doc.title = cleaned.text
        self._add(cleaned.text, span, "heading", cleaned.urls, None, cell, page)

    def block(self, items: list[str], span: Span, kind: str, cell=None, page=None,
              markdown: bool = True, extra_urls: list[str] | None = None) -> None:
        cleaned_items = [_clean_inline(item, markdown) for item in items]
        urls = [u for c in cleaned_items for u in c.urls] + list(extra_urls or [])
        texts = [c.text for c in cleaned_items if _has_words(c.text)]
        if not texts:
            reasons = {_exclusion_reason(c) for c in cleaned_items} - {"empty"}
            reason = sorted(reasons)[0] if len(reasons) == 1 else ("+".join(sorted(reasons)) or "empty")
            if reason != "empty" or any(item.strip() for item in items):
                preview = " ".join(items)[:80].strip()
                self.doc.excluded.append(
                    ExcludedBlock(span, reason, preview, cell, page, tuple(dict.fromkeys(urls)))
                )
            return
        text, sentences = _sentences_of_items(texts)
        self._add(text, span, kind, urls, sentences, cell, page)

    def code(self, code: str, info: str, span: Span, cell=None) -> None:
        language = info.strip().split()[0].strip("{}.").lower() if info.strip() else ""
        if _PYTHON_FENCES.match(info or ""):
            where = f"#cell{cell}" if cell is not None else ""
            self.doc.code_files.append(
                SourceFile(
                    owner=self.doc.owner,
                    path=f"{self.doc.path}{where}#L{span.start_line}",
                    text=code,
                    kind="code",
                    cell_lines=[span.start_line + 1],
                )
            )
        else:
            self.doc.excluded.append(
                ExcludedBlock(span, f"code:{language}", code[:80].strip(), cell)
            )

    def _add(self, text, span, kind, urls, sentences, cell, page) -> None:
        if sentences is None:
            sentences = tuple(split_sentences(text))
        section = " / ".join(s for s in self.section if s)
        self.doc.paragraphs.append(
            Paragraph(len(self.doc.paragraphs), text, span, sentences, kind, section,
                      tuple(dict.fromkeys(urls)), cell, page)
        )


# --- Markdown --------------------------------------------------------------------------------
def _mask_display_math(text: str, builder: _Builder, cell: int | None) -> str:
    """Blank out multi-line display math (keeping line numbers) and record it as excluded."""

    def mask(m: re.Match) -> str:
        first = text.count("\n", 0, m.start()) + 1
        last = first + m.group().count("\n")
        builder.doc.excluded.append(
            ExcludedBlock(Span(first, 0, last, 0), "formula", m.group()[:80].strip(), cell)
        )
        return re.sub(r"[^\n]", " ", m.group())

    return _DISPLAY_MATH.sub(mask, text)


def _markdown_into(text: str, builder: _Builder, cell: int | None = None) -> None:
    from markdown_it import MarkdownIt

    lines = text.split("\n")
    masked = _mask_display_math(text, builder, cell)
    builder.doc.link_urls.extend(m.group(1) for m in _REFERENCE_LINK_DEF.finditer(masked))
    tokens = MarkdownIt("commonmark").enable("table").parse(masked)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        span = _line_span(lines, tok.map[0] + 1, tok.map[1]) if tok.map else Span(1, 0, 1, 0)
        if tok.type in ("fence", "code_block"):
            builder.code(tok.content, tok.info if tok.type == "fence" else "", span, cell)
            i += 1
        elif tok.type == "html_block":
            _html_block_into(tok.content, builder, span, cell)
            i += 1
        elif tok.type == "heading_open":
            builder.heading(int(tok.tag[1]), tokens[i + 1].content, span, cell)
            i += 3
        elif tok.nesting == 1:
            close = _matching_close(tokens, i)
            kind = {"paragraph_open": "prose", "bullet_list_open": "list",
                    "ordered_list_open": "list", "blockquote_open": "quote",
                    "table_open": "table"}.get(tok.type, "prose")
            inner = tokens[i + 1 : close]
            for sub in inner:  # code inside lists / quotes still goes to the code path
                if sub.type in ("fence", "code_block") and sub.map:
                    sub_span = _line_span(lines, sub.map[0] + 1, sub.map[1])
                    builder.code(sub.content, sub.info if sub.type == "fence" else "", sub_span, cell)
            builder.block(_block_items(inner, kind), span, kind, cell)
            i = close + 1
        else:
            i += 1


def _matching_close(tokens, i: int) -> int:
    level = tokens[i].level
    j = i + 1
    while j < len(tokens) and not (tokens[j].level == level and tokens[j].nesting == -1):
        j += 1
    return j


def _block_items(inner, kind: str) -> list[str]:
    """The inline texts of a block: one item per list item paragraph, one per table row."""
    if kind != "table":
        return [t.content for t in inner if t.type == "inline"]
    rows: list[str] = []
    cells: list[str] = []
    for t in inner:
        if t.type == "inline":
            cells.append(t.content)
        elif t.type == "tr_close":
            rows.append(" | ".join(c for c in cells if c.strip()))
            cells = []
    return rows


def _html_block_into(html: str, builder: _Builder, span: Span, cell: int | None) -> None:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    urls = [a.get("href") for a in soup.find_all("a") if a.get("href")]
    for tag in soup.find_all(list(_HTML_FURNITURE) + ["img"]):
        tag.decompose()
    text = soup.get_text(" ").strip()
    if _has_words(text):
        builder.block([text], span, "prose", cell, markdown=False, extra_urls=urls)
    else:
        builder.doc.excluded.append(ExcludedBlock(span, "html", html[:80].strip(), cell))


def _parse_markdown(text: str, path: str, owner: str) -> NotesDocument:
    builder = _Builder(owner, path)
    _markdown_into(text, builder)
    return builder.doc


# --- notebooks -------------------------------------------------------------------------------
def _parse_notebook(text: str, path: str, owner: str) -> NotesDocument:
    """The markdown cells of a notebook's JSON (read by `checker.ingest.notebook`)."""
    cells, reason = notebook_cells(text)
    if reason:
        return _skipped(owner, path, f"{reason}; no notes taken from it")
    return notebook_notes([(c.number, c.source) for c in cells if c.kind == "markdown"], path, owner)


def notebook_notes(markdown_cells: Sequence[tuple[int, str]], path: str,
                   owner: str = "") -> NotesDocument:
    """A notebook's markdown cells, (cell number, source) as `checker.ingest.notebook` reads
    them, as notes; code cells belong to the code path. Outputs are never read; the markdown
    cells together may hold up to `defaults.MAX_FILE_BYTES`."""
    builder = _Builder(owner, path)
    size = sum(len(source.encode("utf-8", "replace")) for _, source in markdown_cells)
    if size > defaults.MAX_FILE_BYTES:
        builder.doc.warnings.append(IngestWarning(
            path, f"its markdown cells hold {size:,} bytes, over the {defaults.MAX_FILE_BYTES:,}-byte "
                  f"limit; no notes taken from it", owner))
        return builder.doc
    for number, source in markdown_cells:
        _markdown_into(source, builder, cell=number)
    return builder.doc


# --- plain text ------------------------------------------------------------------------------
_TXT_BLOCK = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|$))+")


def _parse_plain(text: str, path: str, owner: str, builder: _Builder | None = None,
                 page: int | None = None) -> NotesDocument:
    builder = builder or _Builder(owner, path)
    lines = text.split("\n")
    for m in _TXT_BLOCK.finditer(text):
        first = text.count("\n", 0, m.start()) + 1
        block = m.group().rstrip("\n")
        last = first + block.count("\n")
        builder.block([block], _line_span(lines, first, last), "prose", page=page, markdown=False)
    return builder.doc
