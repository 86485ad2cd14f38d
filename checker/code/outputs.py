"""Notebook output evidence: the same stochastic figures, logs and plots in two learners' notebooks.

Notebooks carry their outputs (`checker.ingest.notebook` reads them into `NotebookOutputs`). Two
learners whose code differs but whose notebooks print the same losses to five digits, epoch by
epoch, ran one notebook or pasted one's outputs: independent runs never print alike.

- **Figures.** A printed number is evidence when chance cannot make two runs print it alike: a
  decimal with at least `defaults.OUTPUTS_MIN_DIGITS` significant digits (`0.69314`, `98.76`).
  Integers, short numbers (`0.5`, `98%`), shapes (`torch.Size([64, 1, 28, 28])`), counts, paths,
  URLs, library warnings and progress bars are what every learner of a task prints: never
  evidence. Neither are well-known constants (`KNOWN_CONSTANTS`: ln of a class count is the
  untrained cross-entropy, dataset normalisation statistics).
- **Items.** A notebook's evidence is the sequence of its output lines that carry figures (a line
  is keyed by its figures, so a reworded print of the same run still matches) and of its images
  (keyed by the sha256 of their bytes). Lines without figures are left out of the sequence.
- **Rarity.** An item in the notebooks of `defaults.OUTPUTS_COMMON_LEARNERS` learners of the round
  or more is a deterministic figure (a dataset statistic, a seeded handout run), not a copy; so is
  an item the handout's notebooks print (`exclude`).
- **Alignment.** Notebooks of two learners that share an item are aligned like code: maximal runs
  of consecutive equal items (a training log) become fragments, each with the cell and output line
  of its first and last item on both sides and the text it holds.

Execution counts tell how a notebook was run: counts out of order, the same count twice, a block of
cells run far apart from its neighbours, outputs without a count (pasted cells) are reported as
information (`count_anomalies`), never as evidence on their own.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from checker import defaults
from checker.model import NotebookOutputs

# A decimal number standing alone (not inside a word, a version `2.1.0` or an address
# `127.0.0.1`): what a training log prints.
_DECIMAL = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?(?!\.?\w)")
# Lines that are never evidence, whatever numbers they hold: library warnings, progress bars.
_TRIVIAL_LINE = re.compile(
    r"\b[A-Z]\w*Warning\b|\bwarnings\.warn\b|\bWARNING\b"  # UserWarning, FutureWarning, logging
    r"|\d%\||\|\s*\d+/\d+\s*\[|\bit/s\b|\bs/it\b"  # tqdm: " 45%|████▌ | 423/938 [00:04<..., 98.1it/s]"
)
# Parts of a line whose digits are not figures: URLs, paths, tensor shapes.
_NOT_FIGURES = re.compile(
    r"\w+://\S+"  # https://.../train-images-idx3-ubyte.gz
    r"|(?:[A-Za-z]:)?(?:[\w.~-]*[\\/])+[\w.-]*"  # ./data/MNIST/raw/..., C:\Users\...
    r"|torch\.Size\(\[[^\]]*\]\)"
)


# Normalisation statistics (mean, std per channel) learners print while preparing the data.
DATASET_STATISTICS: dict[str, tuple[float, ...]] = {
    "MNIST": (0.1307, 0.3081),
    "Fashion-MNIST": (0.2860, 0.3530),
    "CIFAR-10": (0.4914, 0.4822, 0.4465, 0.2470, 0.2435, 0.2616, 0.2023, 0.1994, 0.2010),
    "CIFAR-10 (0-255)": (125.3, 123.0, 113.9, 63.0, 62.1, 66.7),
    "CIFAR-100": (0.5071, 0.4865, 0.4409, 0.2673, 0.2564, 0.2762),
    "ImageNet": (0.485, 0.456, 0.406, 0.229, 0.224, 0.225),
}


def _known_constants() -> list[float]:
    values = [math.log(n) for n in range(2, 1001)]  # untrained cross-entropy of n classes
    values += [1 / n for n in range(3, 101)]  # chance accuracy of n classes
    values += [math.pi, math.e, math.sqrt(2), math.sqrt(0.5), math.log10(2)]
    values += [v for stats in DATASET_STATISTICS.values() for v in stats]
    return sorted(values)


KNOWN_CONSTANTS = _known_constants()


def significant_digits(token: str) -> int:
    """Significant digits of a written number: `0.69314` 5, `98.760` 4, `100.0` 1, `1.2e-05` 2."""
    mantissa = re.split(r"[eE]", token.lstrip("+-"), maxsplit=1)[0]
    whole, _, fraction = mantissa.partition(".")
    fraction = fraction.rstrip("0")
    digits = (whole + fraction).lstrip("0")
    if not fraction:
        digits = digits.rstrip("0")
    return len(digits)


def _is_known_constant(token: str) -> bool:
    """`token` is a well-known constant rounded to the digits it is written with."""
    if "e" in token.lower():
        return False
    value = abs(float(token))
    decimals = len(token.partition(".")[2])
    slack = 0.5 * 10.0**-decimals + 1e-12
    at = bisect.bisect_left(KNOWN_CONSTANTS, value - slack)
    return at < len(KNOWN_CONSTANTS) and KNOWN_CONSTANTS[at] <= value + slack


def figures(line: str, min_digits: int = defaults.OUTPUTS_MIN_DIGITS) -> tuple[str, ...]:
    """The figures of an output line that chance does not repeat: decimals with at least
    `min_digits` significant digits that are no well-known constant; () for a line that is never
    evidence (a warning, a progress bar) or holds none."""
    if _TRIVIAL_LINE.search(line):
        return ()
    found = []
    for match in _DECIMAL.finditer(_NOT_FIGURES.sub(" ", line)):
        token = match.group().lstrip("+")
        if significant_digits(token) >= min_digits and not _is_known_constant(token):
            found.append(token)
    return tuple(found)


@dataclass(frozen=True)
class OutputLine:
    """A line of a notebook's outputs: cell number, 1-based line in that cell's outputs."""

    cell: int
    line: int
    text: str
    image: str = ""  # sha256 of the image this line stands for
    image_bytes: int = 0
    kind: str = "stream"


def output_lines(outputs: NotebookOutputs) -> Iterator[OutputLine]:
    """Every line of a notebook's outputs, cell by cell; an image is one line of its own
    (`[image/png, 23,456 bytes, sha256 ab12cd34ef56]`). Errors are left out: a traceback is the
    same for everyone who hits the same mistake."""
    for cell in outputs.cells:
        n = 0
        for out in cell.outputs:
            if out.kind == "error":
                continue
            text = out.text[:-1] if out.text.endswith("\n") else out.text
            for line in text.split("\n") if text else []:
                n += 1
                yield OutputLine(cell.cell, n, line, kind=out.kind)
            for mime, digest, size in out.images:
                n += 1
                yield OutputLine(
                    cell.cell, n, f"[{mime}, {size:,} bytes, sha256 {digest[:12]}]", digest, size, "image"
                )


@dataclass(frozen=True)
class OutputItem:
    """A line of a notebook's outputs that can be evidence, keyed by its figures (or image)."""

    cell: int
    line: int
    key: tuple[str, ...]  # the figures, or ("image", sha256)
    text: str
    digits: tuple[int, ...] = ()  # significant digits of each figure

    @property
    def is_image(self) -> bool:
        return self.key[:1] == ("image",)


def evidence_items(
    outputs: NotebookOutputs,
    min_digits: int = defaults.OUTPUTS_MIN_DIGITS,
    min_image_bytes: int = defaults.OUTPUTS_MIN_IMAGE_BYTES,
) -> list[OutputItem]:
    """The notebook's output lines that carry figures, and its images, in output order."""
    items = []
    for ln in output_lines(outputs):
        if ln.image:
            if ln.image_bytes >= min_image_bytes:
                items.append(OutputItem(ln.cell, ln.line, ("image", ln.image), ln.text))
            continue
        found = figures(ln.text, min_digits)
        if found:
            items.append(
                OutputItem(
                    ln.cell, ln.line, found, ln.text.strip(), tuple(significant_digits(t) for t in found)
                )
            )
    return items


@dataclass
class NotebookEvidence:
    """One learner notebook's evidence items."""

    owner: str
    path: str
    items: list[OutputItem]


@dataclass(frozen=True)
class OutputFragment:
    """A run of consecutive shared items: where it starts and ends on each side (cell, line),
    how many lines, figures and images it holds, and the text (the right side's only when its
    wording differs)."""

    left_start: tuple[int, int]
    left_end: tuple[int, int]
    right_start: tuple[int, int]
    right_end: tuple[int, int]
    lines: int
    numbers: int
    images: int
    min_digits: int  # 0 when it holds no figures
    max_digits: int
    text: str
    right_text: str = ""


@dataclass
class OutputPair:
    """Two learners' notebooks that print the same figures or images (left < right). Shaped
    as the code's `FilePair` (no code fragments, never attributed) so the report reads both
    alike; `runs` are the shared output runs."""

    left: str
    right: str
    left_file: str
    right_file: str
    runs: list[OutputFragment]
    left_items: int  # evidence items of each notebook after common ones are removed
    right_items: int
    numbers: int = 0
    images: int = 0
    longest_lines: int = 0
    similarity: float = 0.0
    left_coverage: float = 0.0
    right_coverage: float = 0.0
    source: str = "outputs"
    fragments: tuple = ()  # no code fragments
    attributed: bool = False
    attribution: str = ""
    right_meta: dict = field(default_factory=dict)
    expected: bool = False


def common_keys(notebooks: Iterable[NotebookEvidence], min_learners: int) -> set[tuple[str, ...]]:
    """Items in the notebooks of at least `min_learners` learners: deterministic, not evidence."""
    learners_of: dict[tuple[str, ...], set[str]] = {}
    for nb in notebooks:
        for item in nb.items:
            learners_of.setdefault(item.key, set()).add(nb.owner)
    return {key for key, owners in learners_of.items() if len(owners) >= min_learners}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fragment(left: list[OutputItem], right: list[OutputItem], max_chars: int) -> OutputFragment:
    numbers = [d for item in left if not item.is_image for d in item.digits]
    text = "\n".join(item.text for item in left)
    right_text = "\n".join(item.text for item in right)
    return OutputFragment(
        (left[0].cell, left[0].line),
        (left[-1].cell, left[-1].line),
        (right[0].cell, right[0].line),
        (right[-1].cell, right[-1].line),
        len(left),
        len(numbers),
        sum(item.is_image for item in left),
        min(numbers, default=0),
        max(numbers, default=0),
        _clip(text, max_chars),
        "" if right_text == text else _clip(right_text, max_chars),
    )


def align_items(
    left: list[OutputItem], right: list[OutputItem], max_chars: int = defaults.OUTPUTS_FRAGMENT_MAX_CHARS
) -> list[OutputFragment]:
    """Maximal runs of consecutive equal items on both sides, longest first taken (greedy
    tiling, as the code's fragments); every item is in at most one fragment."""
    at: dict[tuple[str, ...], list[int]] = {}
    for j, item in enumerate(right):
        at.setdefault(item.key, []).append(j)
    runs: list[tuple[int, int, int]] = []  # (length, i, j)
    for i, item in enumerate(left):
        for j in at.get(item.key, ()):
            if i and j and left[i - 1].key == right[j - 1].key:
                continue  # not the start of a maximal run
            n = 1
            while i + n < len(left) and j + n < len(right) and left[i + n].key == right[j + n].key:
                n += 1
            runs.append((n, i, j))
    runs.sort(key=lambda r: (-r[0], r[1], r[2]))
    used_left: set[int] = set()
    used_right: set[int] = set()
    taken: list[tuple[int, int, int]] = []
    for n, i, j in runs:
        if any(i + k in used_left or j + k in used_right for k in range(n)):
            continue
        used_left.update(range(i, i + n))
        used_right.update(range(j, j + n))
        taken.append((i, j, n))
    taken.sort()
    return [_fragment(left[i : i + n], right[j : j + n], max_chars) for i, j, n in taken]


def match_outputs(
    notebooks: list[NotebookEvidence],
    *,
    exclude: Iterable[tuple[str, ...]] = (),
    common_learners: int = defaults.OUTPUTS_COMMON_LEARNERS,
    min_numbers: int = defaults.OUTPUTS_MIN_NUMBERS,
    max_chars: int = defaults.OUTPUTS_FRAGMENT_MAX_CHARS,
) -> tuple[list[OutputPair], dict[str, int]]:
    """Notebook pairs of different learners that print the same figures (at least `min_numbers`
    of them) or the same image, and counts for the report. `exclude`: items that are not
    evidence whoever prints them (the handout's outputs). Only notebooks that share an item
    are aligned: no all-pairs loop."""
    common = common_keys(notebooks, common_learners)
    excluded = set(exclude)
    dropped = common | excluded
    kept = [[item for item in nb.items if item.key not in dropped] for nb in notebooks]
    holders: dict[tuple[str, ...], set[int]] = {}
    for n, items in enumerate(kept):
        for item in items:
            holders.setdefault(item.key, set()).add(n)
    candidates: set[tuple[int, int]] = set()
    for owners in holders.values():
        ordered = sorted(owners)
        for x, a in enumerate(ordered):
            for b in ordered[x + 1 :]:
                if notebooks[a].owner != notebooks[b].owner:
                    candidates.add((a, b))
    pairs = []
    for a, b in sorted(candidates):
        if notebooks[a].owner > notebooks[b].owner:
            a, b = b, a
        frags = align_items(kept[a], kept[b], max_chars)
        numbers = sum(f.numbers for f in frags)
        images = sum(f.images for f in frags)
        if numbers < min_numbers and not images:
            continue
        covered = sum(f.lines for f in frags)
        na, nb = len(kept[a]), len(kept[b])
        pairs.append(
            OutputPair(
                notebooks[a].owner,
                notebooks[b].owner,
                notebooks[a].path,
                notebooks[b].path,
                frags,
                na,
                nb,
                numbers,
                images,
                max(f.lines for f in frags),
                2 * covered / (na + nb),
                covered / na,
                covered / nb,
            )
        )
    pairs.sort(key=lambda p: (-p.numbers, -p.images, p.left, p.right, p.left_file, p.right_file))
    stats = {
        "notebooks": len(notebooks),
        "items": sum(len(nb.items) for nb in notebooks),
        "common_items": len(common),
        "handout_items": len(excluded),
        "candidate_pairs": len(candidates),
        "pairs": len(pairs),
    }
    return pairs, stats


# --- execution counts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CountAnomaly:
    """Something about a notebook's execution counts a mentor may ask about; never evidence."""

    kind: str  # out_of_order | duplicated | gap | no_count
    cells: tuple[int, ...]
    text: str


def _cells(cells: Iterable[int]) -> str:
    listed = sorted(set(cells))
    shown = ", ".join(map(str, listed[:8])) + (f" and {len(listed) - 8} more" if len(listed) > 8 else "")
    return ("cell " if len(listed) == 1 else "cells ") + shown


def count_anomalies(outputs: NotebookOutputs, gap: int = defaults.OUTPUTS_COUNT_GAP) -> list[CountAnomaly]:
    """Execution counts out of order, duplicated, a block of cells run far apart from its
    neighbours (`gap` counts or more away, followed by a drop back), and cells that show outputs
    without a count. Each kind is reported once, naming its cells."""
    found: list[CountAnomaly] = []
    executed: list[tuple[int, int]] = [
        (c.cell, c.execution_count) for c in outputs.cells if c.execution_count is not None
    ]
    by_count: dict[int, list[int]] = {}
    for cell, count in executed:
        by_count.setdefault(count, []).append(cell)
    twice = {count: cells for count, cells in by_count.items() if len(cells) > 1}
    if twice:
        example, cells = min(twice.items())
        found.append(
            CountAnomaly(
                "duplicated",
                tuple(sorted(c for cs in twice.values() for c in cs)),
                f"{len(twice)} execution count(s) on more than one cell (e.g. [{example}] on "
                f"{_cells(cells)}): one kernel never gives two cells one count, so these cells "
                f"were run in different sessions or pasted from another notebook",
            )
        )
    drops = [i for i in range(1, len(executed)) if executed[i][1] < executed[i - 1][1]]
    if drops:
        first = drops[0]
        found.append(
            CountAnomaly(
                "out_of_order",
                tuple(executed[i][0] for i in drops),
                f"execution counts go down at {len(drops)} place(s) (e.g. cell {executed[first][0]} "
                f"[{executed[first][1]}] after cell {executed[first - 1][0]} [{executed[first - 1][1]}]): "
                f"cells were run in another order than they stand",
            )
        )
    blocks = []
    for i in range(1, len(executed)):
        jump = executed[i][1] - executed[i - 1][1]
        if jump <= gap:
            continue
        j = i
        while j + 1 < len(executed) and executed[j + 1][1] > executed[j][1]:
            j += 1
        if j + 1 < len(executed) and executed[j + 1][1] < executed[i - 1][1] + gap:
            blocks.append((i, j))
    if blocks:
        i, j = blocks[0]
        found.append(
            CountAnomaly(
                "gap",
                tuple(executed[k][0] for a, b in blocks for k in range(a, b + 1)),
                f"{_cells(executed[k][0] for k in range(i, j + 1))} ran "
                f"{executed[i][1] - executed[i - 1][1]} counts apart from the cells around them "
                f"(cell {executed[i - 1][0]} [{executed[i - 1][1]}], cell {executed[j + 1][0]} "
                f"[{executed[j + 1][1]}]): cells run elsewhere and pasted in?",
            )
        )
    silent = [c.cell for c in outputs.cells if c.execution_count is None and (c.outputs or c.unread)]
    if silent:
        found.append(
            CountAnomaly(
                "no_count",
                tuple(silent),
                f"{_cells(silent)} show outputs but have no execution count: outputs pasted in, "
                f"or the counts were cleared",
            )
        )
    return found
