"""The pair view: both files side by side, matched fragments in matching colours, each fragment
linked to its other side; for a corpus match, the source (version, licence, URL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from checker.report.html.context import (
    CodeSide,
    CorpusSource,
    FragmentAnchor,
    FragmentRow,
    Line,
    OutputRunRow,
    PairRow,
    PairView,
    Segment,
)
from checker.report.html.format import line_range, link_url
from checker.report.model import CorpusText, FileEntry, FilePairEntry, OutputFragment

# Fragment colours: report.css defines classes c0..c7.
FRAGMENT_COLOURS = 8


def code_segments(
    lines: Sequence[str | None],
    spans: list[tuple[int, int, int]],
    pair_key: str,
    side: str,
    partner: str,
    partner_spans: dict[int, tuple[int, int]],
    tokens: dict[int, int],
    cell_lines: list[int],
    gap_note: Callable[[int, int], tuple[str, str]] | None = None,
) -> list[Segment]:
    """The lines of one side cut into runs inside one fragment or outside all of them.

    `spans`: (fragment number, first line, last line), 1-based inclusive. A line inside two
    fragments belongs to the lower-numbered one; every fragment still gets its anchor (id and
    link to the other side) at its first line, so links never dangle. A line that is None is not
    held (a public file's lines outside the excerpt): each run of them is one gap segment, whose
    css and words `gap_note(first, last)` gives, and which carries the anchors of fragments
    starting inside it.
    """
    n = len(lines)
    owner = [0] * (n + 2)
    starts: dict[int, list[int]] = {}
    for number, a, b in sorted(spans):
        a, b = max(1, a), min(n, b)
        if a > b:
            continue
        starts.setdefault(a, []).append(number)
        for ln in range(a, b + 1):
            if not owner[ln]:
                owner[ln] = number
    cells = {ln: i for i, ln in enumerate(cell_lines, 1)} if len(cell_lines) > 1 else {}
    other = "R" if side == "L" else "L"

    def anchors_at(ln: int) -> list[FragmentAnchor]:
        out = []
        for number in starts.get(ln, []):
            pa, pb = partner_spans[number]
            out.append(
                FragmentAnchor(
                    f"{pair_key}-{side}{number}",
                    number,
                    f"c{(number - 1) % FRAGMENT_COLOURS}",
                    f"{pair_key}-{number}",
                    f"#{pair_key}-{other}{number}",
                    f"fragment {number} · {tokens[number]} tokens · {partner} lines {line_range(pa, pb)}",
                )
            )
        return out

    segments: list[Segment] = []
    current: Segment | None = None
    ln = 1
    while ln <= n:
        text = lines[ln - 1]
        if text is None:  # a gap: up to the next line held
            end = ln
            while end < n and lines[end] is None:
                end += 1
            css, words = gap_note(ln, end) if gap_note else ("gap", f"lines {line_range(ln, end)} not shown")
            segments.append(
                Segment(0, css, "", [a for i in range(ln, end + 1) for a in anchors_at(i)], [], words)
            )
            current = None
            ln = end + 1
            continue
        frag = owner[ln]
        if current is None or frag != current.fragment or ln in starts:
            current = Segment(
                frag,
                f"frag c{(frag - 1) % FRAGMENT_COLOURS}" if frag else "plain",
                f"{pair_key}-{frag}" if frag else "",
                anchors_at(ln),
                [],
            )
            segments.append(current)
        current.lines.append(Line(ln, text, cells.get(ln, 0)))
        ln += 1
    return segments


def public_lines(text: CorpusText) -> list[str | None]:
    """A public file's lines as report.json holds them: None where a line is not held."""
    lines: list[str | None] = [None] * text.lines
    for block in text.blocks:
        for i, line in enumerate(block.lines, block.start_line):
            if 1 <= i <= text.lines:
                lines[i - 1] = line
    return lines


def _public_gaps(
    text: CorpusText, spans: list[tuple[int, int, int]]
) -> Callable[[int, int], tuple[str, str]]:
    """The words of a gap in a public file: lines outside every fragment and its context are
    simply not kept; lines inside were cut by the report's cap, which the page must say."""

    def note(a: int, b: int) -> tuple[str, str]:
        cut = any(fa - text.context <= b and fb + text.context >= a for _, fa, fb in spans)
        where = f"lines {line_range(a, b)}"
        if cut:
            return "gap cut", (
                f"✂ {where} of the match cut: report.json holds a limited number of public lines "
                "(REPORT_CORPUS_TEXT_MAX_LINES / _MAX_BYTES in checker/defaults.py, strongest "
                "matches first); see the source"
            )
        return "gap", f"⋯ {where} not matched (not in report.json)"

    return note


def _corpus_source(pair: FilePairEntry) -> CorpusSource:
    meta = dict(pair.right_meta)
    known = ("version", "licence", "license", "url", "path")
    return CorpusSource(
        source=pair.right,
        path=str(meta.get("path") or pair.right_file),
        version=str(meta.get("version", "") or "unknown"),
        licence=str(meta.get("licence") or meta.get("license") or "unknown"),
        url=link_url(meta.get("url")),
        other=[
            (str(k), ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v))
            for k, v in sorted(meta.items())
            if k not in known
        ]
        + (
            [("url (not a web address)", str(meta["url"]))]
            if meta.get("url") and not link_url(meta.get("url"))
            else []
        ),
    )


def _file_details(entry: FileEntry | None) -> str:
    if not entry:
        return ""
    parts = [entry.parser, entry.encoding, f"{entry.lines} lines", f"{entry.tokens} tokens"]
    if len(entry.cell_lines) > 1:
        parts.append(f"notebook, {len(entry.cell_lines)} code cells")
    return " · ".join(p for p in parts if p)


def _output_where(cell: int, line: int, end_cell: int, end_line: int) -> str:
    if cell == end_cell:
        return f"cell {cell}, output line{'s' if line != end_line else ''} {line_range(line, end_line)}"
    return f"cell {cell} output line {line} – cell {end_cell} output line {end_line}"


def output_runs(frags: list[OutputFragment]) -> list[OutputRunRow]:
    """The rows of a pair of source `outputs`: each shared run, where it is on both sides."""
    rows = []
    for i, f in enumerate(frags, 1):
        digits = (
            ""
            if not f.numbers
            else (str(f.min_digits) if f.min_digits == f.max_digits else f"{f.min_digits}–{f.max_digits}")
        )
        rows.append(
            OutputRunRow(
                i,
                _output_where(f.left_cell, f.left_line, f.left_end_cell, f.left_end_line),
                _output_where(f.right_cell, f.right_line, f.right_end_cell, f.right_end_line),
                f.lines,
                f.numbers,
                digits,
                f.images,
                f.text,
                f.right_text,
            )
        )
    return rows


def pair_view(
    row: PairRow,
    p: FilePairEntry,
    files: dict[tuple[str, str], FileEntry],
    lines_of: Callable[[str, str], list[str] | None],
) -> PairView:
    frags = sorted(p.fragments, key=lambda f: (f.left_start_line, f.right_start_line))
    left_spans = [(i, f.left_start_line, f.left_end_line) for i, f in enumerate(frags, 1)]
    right_spans = [(i, f.right_start_line, f.right_end_line) for i, f in enumerate(frags, 1)]
    tokens = {i: f.tokens for i, f in enumerate(frags, 1)}
    key = row.key
    fragment_rows = [
        FragmentRow(
            i,
            f"c{(i - 1) % FRAGMENT_COLOURS}",
            f"{key}-{i}",
            line_range(f.left_start_line, f.left_end_line),
            line_range(f.right_start_line, f.right_end_line),
            tokens[i],
            f"#{key}-L{i}",
            f"#{key}-R{i}",
        )
        for i, f in enumerate(frags, 1)
    ]
    corpus = _corpus_source(p) if row.source == "corpus" else None

    def side(which: str) -> CodeSide:
        mine, theirs = (left_spans, right_spans) if which == "L" else (right_spans, left_spans)
        partner_of = {i: (a, b) for i, a, b in theirs}
        other_side, partner = ("R", row.right.name) if which == "L" else ("L", row.left.name)
        owner, path = (p.left, p.left_file) if which == "L" else (p.right, p.right_file)
        ref = row.left if which == "L" else row.right
        side_name = "left" if which == "L" else "right"
        entry = files.get((owner, path))
        lines = lines_of(owner, path)
        if lines is not None:
            segments = code_segments(
                lines, mine, key, which, partner, partner_of, tokens, list(entry.cell_lines) if entry else []
            )
            return CodeSide(side_name, ref, path, _file_details(entry), True, "", segments, [])
        if corpus is not None and which == "R" and p.right_text is not None:
            text = p.right_text
            segments = code_segments(
                public_lines(text),
                mine,
                key,
                which,
                partner,
                partner_of,
                tokens,
                [int(x) for x in p.right_meta.get("cell_lines", [])],
                _public_gaps(text, mine),
            )
            shown = sum(len(b.lines) for b in text.blocks)
            details = (
                f"public · {corpus.version} · {corpus.licence} · {text.lines} lines, {shown} in report.json"
            )
            notice = (
                f"✂ {text.cut_lines} matched line(s) of this public file were cut by the report's cap "
                "on public code (strongest matches keep theirs): see the source for the rest."
                if text.cut_lines
                else ""
            )
            return CodeSide(side_name, ref, path, details, True, "", segments, [], notice)
        if corpus is not None and which == "R":
            reason = (
                f"The text of this corpus document is in the corpus index, not in "
                f"report.json: see {corpus.source} {corpus.path}"
                + (f" ({corpus.url})" if corpus.url else "")
                + ". The matched lines:"
            )
        else:
            reason = "The text of this file is not in report.json. The matched lines:"
        # the fragments' line ranges stand in for the text, and are the targets of the links
        anchors = [
            FragmentAnchor(
                f"{key}-{which}{i}",
                i,
                f"c{(i - 1) % FRAGMENT_COLOURS}",
                f"{key}-{i}",
                f"#{key}-{other_side}{i}",
                f"fragment {i}: lines {line_range(a, b)} · {tokens[i]} tokens · {partner} lines "
                f"{line_range(*partner_of[i])}",
            )
            for i, a, b in mine
        ]
        return CodeSide(side_name, ref, path, _file_details(entry), False, reason, [], anchors)

    if row.source == "outputs":
        empty = CodeSide("left", row.left, p.left_file, "", False, "", [], [])
        return PairView(
            row,
            [],
            empty,
            replace(empty, side="right", owner=row.right, path=p.right_file),
            None,
            output_runs(p.outputs or []),
        )
    return PairView(row, fragment_rows, side("L"), side("R"), corpus, [])
