"""Attribution: does the learner name the public source their code matches?

The programme asks learners to say where borrowed code comes from ("reference from ChatGPT" style
comments, a link in the README). A corpus match the learner attributes is shown as attributed,
distinct from unattributed copying, and never hidden.

Where the learner's words are looked for:
- comments and docstrings of every code file (never the code itself: `from d2l import torch`
  uses d2l, it does not say that code was copied from it);
- README and notes files, and the markdown cells of notebooks.

A match is attributed when
1. the source is *named* anywhere in those words: its URL (or any URL below it), its repository
   (`karpathy/nanoGPT`), its package name (`d2l`, `vit-pytorch` ~ `vit_pytorch`) or an alias
   from the manifest (`Dive into Deep Learning`, `动手学深度学习`); or
2. the matched code is *marked* as borrowed: a reference marker (`# reference from ChatGPT`,
   `# 参考: ...`, `# adapted from ...`) in a comment inside the matched lines, a few lines above
   them, or in the file's header. The learner declared the code is not theirs even if what they
   named is not this source; the reason says so.
Names too generic to identify a source (`examples`, `models`) are never used on their own.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from checker import defaults
from checker.corpus.sources import normalise_url
from checker.model import SourceFile

_URL = re.compile(r"(?:https?://|www\.)[^\s<>()\[\]\"'，。）（、]+", re.I)
# ASCII word boundaries: a Chinese character next to a name is still a boundary (`用了d2l库`).
_BEFORE = r"(?<![A-Za-z0-9_.\-/])"
_AFTER = r"(?![A-Za-z0-9_\-])"
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Mention:
    """One line of the learner's own words: a comment, a docstring line or a notes line."""

    path: str  # learner-relative file
    line: int  # 1-based
    text: str  # the line, stripped (at most 200 characters)
    where: str  # comment | docstring | notes

    def quote(self) -> str:
        return f"{self.path}:{self.line}: \u00ab{self.text}\u00bb"


@dataclass
class LearnerEvidence:
    """Everything a learner wrote that can name a source, by file."""

    learner: str
    comments: dict[str, list[Mention]] = field(default_factory=dict)  # code file -> lines
    notes: list[Mention] = field(default_factory=list)  # README, notes, notebook markdown

    def all_mentions(self) -> Iterable[Mention]:
        for lines in self.comments.values():
            yield from lines
        yield from self.notes


@dataclass(frozen=True)
class SourceNames:
    """The ways a learner may name one corpus source."""

    source: str  # the source id, e.g. pypi:d2l==1.0.3
    words: tuple[str, ...]  # package names, owner/repo, aliases (matched as words)
    urls: tuple[str, ...]  # normalised URLs and domains (matched as prefixes of learner URLs)


@dataclass(frozen=True)
class Attribution:
    attributed: bool
    kind: str  # named | marked | none
    reason: str  # the learner's words that attribute it, with file and line ("" when none)


NOT_ATTRIBUTED = Attribution(False, "none", "")


# --- the learner's words -------------------------------------------------------------------------


def comment_lines(code: SourceFile) -> list[Mention]:
    """Comments and docstring lines of one code file (notebook text: its code cells)."""
    out: list[Mention] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code.text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        for number, line in enumerate(code.text.splitlines(), 1):  # broken code: `#` lines
            idx = line.find("#")
            if idx >= 0 and line[idx + 1:].strip():
                out.append(Mention(code.path, number, line[idx + 1:].strip()[:200], "comment"))
        return out
    previous = tokenize.NEWLINE
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if text:
                out.append(Mention(code.path, tok.start[0], text[:200], "comment"))
        elif tok.type == tokenize.STRING and previous in (tokenize.NEWLINE, tokenize.INDENT,
                                                          tokenize.DEDENT, tokenize.NL):
            for offset, line in enumerate(tok.string.splitlines()):
                line = line.strip().strip("\"'").strip()
                if line:
                    out.append(Mention(code.path, tok.start[0] + offset, line[:200], "docstring"))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            previous = tok.type
    return out


def gather_evidence(learner: str, code_files: Iterable[SourceFile],
                    notes: Iterable[tuple[str, str]] = ()) -> LearnerEvidence:
    """Evidence from decoded code files and (path, text) pairs of notes/README/markdown."""
    evidence = LearnerEvidence(learner)
    for code in code_files:
        evidence.comments[code.path] = comment_lines(code)
    for path, text in notes:
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if line:
                evidence.notes.append(Mention(path, number, line[:200], "notes"))
    return evidence


def evidence_from_submission(sub) -> LearnerEvidence:
    """Evidence of a `checker.ingest.round.Submission`: its code, its notebooks' markdown and its
    notes files, as ingest read them once (`checker.ingest.notes`: Markdown and text as their
    lines, PDF, Word and HTML as their paragraphs and links), wherever they lie (a manifest
    round's files are found from the round folder, not from the current directory)."""
    from checker.ingest.notes import notes_lines

    return gather_evidence(sub.learner, sub.code, notes_lines(sub).items())


# --- the names of a source -----------------------------------------------------------------------


def _generic(name: str) -> bool:
    return name.lower() in defaults.CORPUS_GENERIC_NAMES or len(name) < 3


def source_names(source: str, url: str = "", aliases: Sequence[str] = ()) -> SourceNames:
    """Names of a corpus source: from its spec, its URL and the manifest's aliases."""
    kind, _, rest = source.partition(":")
    words: list[str] = []
    urls: list[str] = []
    if kind == "pypi":
        name = re.split(r"==", rest, maxsplit=1)[0].strip()
        if not _generic(name):
            variants = {name, name.replace("-", "_"), name.replace("_", "-")}
            words += sorted(variants)
    elif kind == "git":
        from checker.corpus.sources import split_git_ref

        repo_url, _ = split_git_ref(rest)
        urls.append(normalise_url(repo_url))
    elif kind == "dir":
        base = Path(rest).name
        if base and not _generic(base):
            words.append(base)
    if url:
        urls.append(normalise_url(url))
    for u in list(urls):
        parts = u.split("/")
        if len(parts) >= 3 and parts[0] in ("github.com", "gitlab.com", "codeberg.org", "gitee.com"):
            words.append(f"{parts[1]}/{parts[2]}")
            if not _generic(parts[2]):
                words.append(parts[2])
    for alias in aliases:
        alias = alias.strip()
        if not alias:
            continue
        if "://" in alias or re.match(r"^[\w-]+(\.[\w-]+)+(/|$)", alias):
            urls.append(normalise_url(alias))
        else:
            words.append(alias)
    return SourceNames(source, tuple(dict.fromkeys(words)), tuple(dict.fromkeys(u for u in urls if u)))


def _names_in(text: str, names: SourceNames) -> str:
    """The name found in `text` ("" when none)."""
    low = text.lower()
    for u in names.urls:
        # a URL or domain, matched in running text too: `zh.d2l.ai/chapter_...`, `github.com/x/y/blob/..`
        if re.search(r"(?<![A-Za-z0-9_\-])" + re.escape(u) + _AFTER, low):
            return u
    for found in _URL.findall(text):
        norm = normalise_url(found)
        for u in names.urls:
            if norm == u or norm.startswith(u + "/") or norm.endswith("." + u) or ("." + u + "/") in norm:
                return u
    for w in names.words:
        wl = w.lower()
        if _CJK.search(wl):
            if wl in low:
                return w
        elif re.search(_BEFORE + re.escape(wl) + _AFTER, low):
            return w
    return ""


# --- the decision --------------------------------------------------------------------------------

_MARKERS: list[re.Pattern] | None = None


def _markers() -> list[re.Pattern]:
    global _MARKERS
    if _MARKERS is None:
        _MARKERS = [re.compile(p, re.I) for p in
                    tuple(defaults.ATTRIBUTION_MARKERS) + tuple(defaults.CORPUS_REFERENCE_MARKERS)]
    return _MARKERS


def is_reference_marker(text: str) -> bool:
    """Does this comment say the code comes from elsewhere ("reference from ChatGPT", "参考")?"""
    return any(p.search(text) for p in _markers())


def attribute(evidence: LearnerEvidence | None, names: SourceNames, file: str,
              line_ranges: Sequence[tuple[int, int]]) -> Attribution:
    """Is a match of the learner's `file` (lines `line_ranges`) against `names.source` attributed?"""
    if evidence is None:
        return NOT_ATTRIBUTED
    own = evidence.comments.get(file, [])
    for m in own:  # 1. named next to the code
        found = _names_in(m.text, names)
        if found:
            return Attribution(True, "named", f"names {found} in a {m.where} at {m.quote()}")
    for m in evidence.all_mentions():  # 1. named anywhere else the learner wrote
        if m.path == file:
            continue
        found = _names_in(m.text, names)
        if found:
            return Attribution(True, "named", f"names {found} at {m.quote()}")
    near = defaults.ATTRIBUTION_NEAR_LINES
    for m in own:  # 2. the matched code is marked as borrowed
        inside = any(a - near <= m.line <= b for a, b in line_ranges)
        header = m.line <= defaults.ATTRIBUTION_HEADER_LINES
        if (inside or header) and is_reference_marker(m.text):
            return Attribution(True, "marked",
                               f"marked as borrowed at {m.quote()} (does not name {names.source})")
    return NOT_ATTRIBUTED


__all__ = ["Attribution", "LearnerEvidence", "Mention", "NOT_ATTRIBUTED", "SourceNames",
           "attribute", "comment_lines", "evidence_from_submission", "gather_evidence",
           "is_reference_marker", "source_names"]
