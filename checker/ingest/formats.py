"""Notes formats that are not text: HTML (BeautifulSoup), PDF (text layer, pypdf) and Word
.docx (python-docx) -> `NotesDocument`, with the cleaning and units of `checker.ingest.documents`.

The parsers here are reached through `checker.ingest.documents.parse_notes_bytes` and
`parse_notes_text` (the suffix picks the format); span conventions are documented there.
"""

from __future__ import annotations

import io
import re

from checker.ingest.documents import (
    _HTML_FURNITURE,
    ExcludedBlock,
    NotesDocument,
    _Builder,
    _line_span,
    _parse_plain,
)
from checker.model import IngestWarning, Span

_HTML_MATH = ("math", "mjx-container")
_HTML_MATH_CLASSES = re.compile(r"\b(katex|MathJax|MathJax_Display|math)\b")
_HTML_BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "dd", "dt",
                "figcaption", "td", "th", "caption")
_HEADING_TAG = re.compile(r"^h[1-6]$")

# --- HTML ------------------------------------------------------------------------------------
def parse_html(text: str, path: str, owner: str) -> NotesDocument:
    from bs4 import BeautifulSoup

    builder = _Builder(owner, path)
    soup = BeautifulSoup(text, "html.parser")
    if soup.title and soup.title.string:
        builder.doc.title = soup.title.string.strip()
    for tag in soup.find_all(list(_HTML_FURNITURE)):
        tag.decompose()
    for tag in soup.find_all(list(_HTML_MATH)) + soup.find_all(class_=_HTML_MATH_CLASSES):
        if tag.decomposed:
            continue
        line = tag.sourceline or 1
        builder.doc.excluded.append(ExcludedBlock(Span(line, 0, line, 0), "formula",
                                                  tag.get_text(" ", strip=True)[:80]))
        tag.decompose()
    for img in soup.find_all("img"):
        img.decompose()
    for pre in soup.find_all("pre"):
        line = pre.sourceline or 1
        code = pre.get_text()
        span = Span(line, 0, line + code.count("\n"), 0)
        classes = " ".join(pre.get("class", []) + (pre.code.get("class", []) if pre.code else []))
        language = re.search(r"(?:language|lang)-(\w+)", classes)
        builder.code(code, language.group(1) if language else "", span)
        pre.decompose()
    blocks = [t for t in soup.find_all(list(_HTML_BLOCKS))
              if not t.find_parent(list(_HTML_BLOCKS)) or t.name in ("td", "th")]
    if not blocks:  # text directly in <body>/<div>: fall back to blank-line paragraphs
        body = soup.body or soup
        return _parse_plain(body.get_text("\n"), path, owner, builder)
    for tag in blocks:
        if tag.name in ("td", "th") and tag.find_parent(["td", "th"]):
            continue
        first = tag.sourceline or 1
        span = Span(first, tag.sourcepos or 0, first + str(tag).count("\n"), 0)
        urls = [a.get("href") for a in tag.find_all("a") if a.get("href")]
        content = re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v]*", "\n", tag.get_text()).strip()
        if _HEADING_TAG.match(tag.name):
            builder.heading(int(tag.name[1]), content, span)
        else:
            kind = "quote" if tag.name == "blockquote" else (
                "table" if tag.name in ("td", "th") else "prose")
            builder.block([content], span, kind, markdown=False, extra_urls=urls)
    return builder.doc


# --- PDF -------------------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"[。！？!?.;；:：]['\"”’）)]*$")


def parse_pdf(data: bytes, path: str, owner: str) -> NotesDocument:
    """Text layer, page by page; paragraphs at blank lines or at short lines ending a sentence."""
    builder = _Builder(owner, path)
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many types for damaged files; all mean "unreadable"
        builder.doc.warnings.append(IngestWarning(path, f"unreadable PDF: {exc}", owner))
        return builder.doc
    if not any(p.strip() for p in pages):
        builder.doc.warnings.append(
            IngestWarning(path, "PDF has no text layer (scanned?); no notes taken from it", owner)
        )
        return builder.doc
    for number, page_text in enumerate(pages, start=1):
        _pdf_page_into(page_text, builder, number)
    return builder.doc


def _pdf_page_into(page_text: str, builder: _Builder, page: int) -> None:
    lines = page_text.split("\n")
    widths = sorted(len(line.strip()) for line in lines if line.strip())
    full = widths[int(len(widths) * 0.8)] if widths else 0
    start = None
    parts: list[str] = []

    def flush(last: int) -> None:
        nonlocal start, parts
        if start is not None and parts:
            builder.block([_join_pdf_lines(parts)], _line_span(lines, start, last), "prose",
                          page=page, markdown=False)
        start, parts = None, []

    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            flush(number - 1)
            continue
        if start is None:
            start = number
        parts.append(stripped)
        if _SENTENCE_END.search(stripped) and len(stripped) < 0.85 * full:
            flush(number)
    flush(len(lines))


def _join_pdf_lines(parts: list[str]) -> str:
    out = parts[0]
    for part in parts[1:]:
        if out.endswith("-") and part[:1].islower():
            out = out[:-1] + part  # hyphenated line break
        elif re.search(r"[\u4e00-\u9fff，。]$", out) or re.match(r"[\u4e00-\u9fff]", part):
            out += part  # Chinese lines join without a space
        else:
            out += " " + part
    return out


# --- Word ------------------------------------------------------------------------------------
def parse_docx(data: bytes, path: str, owner: str) -> NotesDocument:
    builder = _Builder(owner, path)
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises zip/xml/KeyError types for damaged files
        builder.doc.warnings.append(IngestWarning(path, f"unreadable .docx: {exc}", owner))
        return builder.doc
    number = 0
    for para in document.paragraphs:
        number += 1
        text = para.text.strip()
        if not text:
            continue
        span = Span(number, 0, number, len(para.text))
        style = (para.style.name if para.style is not None else "") or ""
        heading = re.match(r"(Heading|标题)\s*(\d)", style)
        urls = [h.address for h in getattr(para, "hyperlinks", []) if getattr(h, "address", "")]
        if heading or style == "Title":
            builder.heading(int(heading.group(2)) if heading else 1, text, span)
        else:
            kind = "list" if style.startswith("List") else (
                "quote" if style in ("Quote", "Intense Quote") else "prose")
            builder.block([text], span, kind, markdown=False, extra_urls=urls)
    for table in document.tables:
        rows = [" | ".join(c.text.strip() for c in row.cells if c.text.strip()) for row in table.rows]
        number += 1
        builder.block([r for r in rows if r], Span(number, 0, number, 0), "table", markdown=False)
    return builder.doc
