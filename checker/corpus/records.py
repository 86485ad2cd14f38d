"""Values of the corpus index: what building it says per source (outcomes with their reasons,
shown by the CLI and the bench) and what reading it returns (sources, documents, stored contents).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from checker.code.tokens import TokenStream, Unit


# --- outcomes (values with reasons, shown by the CLI and the bench) ---------------------------


@dataclass(frozen=True)
class SourceAdded:
    spec: str
    version: str
    code_files: int
    new_contents: int  # contents fingerprinted now
    reused_contents: int  # contents already in the index (not re-processed)
    tokens: int
    seconds: float
    replaced: bool = False  # an older state of the same spec was replaced
    warnings: tuple[str, ...] = ()
    status: str = "added"


@dataclass(frozen=True)
class SourceUnchanged:
    spec: str
    reason: str
    status: str = "unchanged"


@dataclass(frozen=True)
class SourceFailed:
    spec: str
    reason: str
    status: str = "failed"


@dataclass(frozen=True)
class SourceRemoved:
    spec: str
    documents: int
    status: str = "removed"


SourceOutcome = SourceAdded | SourceUnchanged | SourceFailed | SourceRemoved


@dataclass
class BuildResult:
    index: Path
    outcomes: list[SourceOutcome] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # index-wide remarks (notes corpus missing...)

    @property
    def failed(self) -> list[SourceFailed]:
        return [o for o in self.outcomes if isinstance(o, SourceFailed)]

    def to_dict(self) -> dict:
        return {"index": str(self.index), "seconds": round(self.seconds, 3), "notes": self.notes,
                "outcomes": [asdict(o) for o in self.outcomes]}


# --- stored values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRecord:
    id: int
    spec: str
    kind: str
    project: str
    version: str
    licence: str
    url: str
    aliases: tuple[str, ...]
    origin: str
    digest: str
    code_files: int
    notes_files: int
    tokens: int
    archive: str
    warnings: tuple[str, ...]
    notes_state: str
    added_at: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["aliases"], d["warnings"] = list(self.aliases), list(self.warnings)
        return d


@dataclass(frozen=True)
class CorpusDocument:
    """A file of a source, as a corpus match names it."""

    id: int
    source: str  # the spec as given to `corpus add`, e.g. pypi:d2l==1.0.3
    path: str  # inside the source
    content_id: int
    version: str
    licence: str
    url: str
    project: str
    aliases: tuple[str, ...] = ()
    cell_lines: tuple[int, ...] = ()  # notebooks: first line of each code cell in the indexed text


@dataclass
class StoredContent:
    """What alignment and scoring need of a corpus file (no token text: spans and k-grams)."""

    id: int
    sha256: str
    n_tokens: int
    parser: str
    kgrams: np.ndarray  # uint64
    start_lines: np.ndarray  # int32 per token
    end_lines: np.ndarray  # int32 per token
    units: np.ndarray  # int32 (m, 4): start token, end token, start line, end line
    unit_names: list[str]

    def token_stream(self) -> TokenStream:
        """A `TokenStream` with the spans of the stored file, for `score_file_pair` (the tokens
        themselves are not stored: only their number and lines are used)."""
        n = self.n_tokens
        units = [Unit(name, int(u[0]), int(u[1]), int(u[2]), int(u[3]))
                 for name, u in zip(self.unit_names, self.units)]
        return TokenStream([""] * n, self.start_lines.tolist(), [0] * n,
                           self.end_lines.tolist(), [0] * n, self.parser, units=units)


__all__ = ["BuildResult", "CorpusDocument", "SourceAdded", "SourceFailed", "SourceOutcome",
           "SourceRecord", "SourceRemoved", "SourceUnchanged", "StoredContent"]
