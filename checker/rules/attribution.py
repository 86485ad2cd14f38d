"""Attribution markers (NS801, NS802): "mark LLM-generated code with a reference comment".

The programme allows ChatGPT and the like but asks learners to comment the generated code with
"reference from ChatGPT". Which code came from an LLM cannot be decided statically; what can be
checked is (a) where the learner did mark code, shown as information so matches against that code
read as attributed, and (b) a submission whose notes, file names or comments say an LLM helped
while no code file carries a single attribution comment. The notes are those the caller hands in
(kind "notes": `checker.ingest.notes` reads a learner's once for every stage); nothing is read
from disk here.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

from checker import defaults
from checker.ingest.notes import EXTRACTED_SUFFIXES
from checker.model import SourceFile
from checker.rules.context import Finding, RuleContext


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def comments(text: str, tokens: list[tokenize.TokenInfo] | None = None) -> list[tuple[int, int, str]]:
    """(line, col, text) of every comment and triple-quoted string; a lexical fallback when tokenize fails.
    `tokens`: `text`'s stdlib tokens when the caller has them (the shared parse of `scan --task`)."""
    out: list[tuple[int, int, str]] = []
    try:
        for tok in tokens if tokens is not None else tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out.append((tok.start[0], tok.start[1] + 1, tok.string))
            elif tok.type == tokenize.STRING and tok.string.lstrip("rbuRBUfF").startswith(('"""', "'''")):
                out.append((tok.start[0], tok.start[1] + 1, tok.string))
        return out
    except (tokenize.TokenError, SyntaxError, IndentationError):
        out.clear()
    for n, line in enumerate(text.splitlines(), 1):
        if "#" in line:
            col = line.index("#")
            out.append((n, col + 1, line[col:]))
    return out


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _snippet(text: str, start: int, end: int, context: int = 25) -> str:
    """The match with up to `context` characters either side, within its line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end == -1 else line_end
    left = max(line_start, start - context)
    right = min(line_end, end + context)
    return ("…" if left > line_start else "") + text[left:right].strip() + ("…" if right < line_end else "")


def check(ctx: RuleContext) -> Iterator[Finding | None]:
    rule = ctx.rules.require_attribution
    if rule is None:
        return
    markers = _compile(tuple(defaults.ATTRIBUTION_MARKERS) + rule.markers)
    llm_use = _compile(tuple(defaults.LLM_USE_PATTERNS) + rule.llm_use)
    code_sources = [f for f in ctx.files if f.kind == "code"]
    tokens = {f.path: f.tokens for f in ctx.code if f.tokens is not None}
    said = {source.path: comments(source.text, tokens.get(source.path)) for source in code_sources}
    attributed = False
    for source in code_sources:
        hits = [(line, col, text) for line, col, text in said[source.path] if markers.search(text)]
        if not hits:
            continue
        attributed = True
        lines = ", ".join(str(h[0]) for h in hits[:5]) + (", …" if len(hits) > 5 else "")
        first = " ".join(hits[0][2].split())[:80]
        yield ctx.finding("NS801", f"{len(hits)} attributed passage(s) (line {lines}), e.g. {first!r}",
                          source, line=hits[0][0], col=hits[0][1])
    if attributed:
        return
    found = _first_llm_mention(ctx, code_sources, llm_use, said)
    if found is not None:
        source, line, quote = found
        yield ctx.finding("NS802", f"says an LLM helped ({quote!r}) but no code file carries an "
                          "attribution comment such as '# reference from ChatGPT'", source, line=line, col=1)


def _first_llm_mention(ctx: RuleContext, code_sources: list[SourceFile], llm_use: re.Pattern[str],
                       said: dict[str, list[tuple[int, int, str]]]) -> tuple[SourceFile, int, str] | None:
    notes = list(ctx.notes)  # handed in by the caller (checker.ingest.notes): never read here
    for source in [*ctx.files, *notes]:
        match = llm_use.search(source.path)
        if match:
            return source, 0, source.path
    for source in notes:
        match = llm_use.search(source.text)
        if match:
            # PDF, Word and HTML notes are their extracted paragraphs: no line of the file to name
            line = 0 if source.path.lower().endswith(EXTRACTED_SUFFIXES) else _line_of(source.text, match.start())
            return source, line, _snippet(source.text, match.start(), match.end())
    for source in code_sources:
        for line, _col, text in said[source.path]:
            match = llm_use.search(text)
            if match:
                return source, line, " ".join(text.split())[:60]
    return None
