"""Remembered rounds in a scan: compare the round with the rounds stored in the index, and store
this one (`checker scan ROUND --index IDX [--round-name NAME] [--aliases FILE] [--no-history]`).

The comparison is the learner matching's, across rounds: the round's own LSH signatures (with
what it ignores left out) query a banded LSH over the remembered files' stored signatures (the
same bands as `lsh_pairs`: `checker.corpus.lsh.BandedLSH`), and every candidate is aligned
exactly (`align_pairs`) and scored (`score_file_pair`, `run_weights`) as a learner pair is. A
remembered file's own code leaves out both what this scan ignores and what its own round ignored
(its handout, the code most of its learners shared), so an old handout is not evidence either.

A pair names the other side `ROUND:LEARNER` with `source` "history". A learner's own earlier
work (the same id, or ids that `--aliases` joins) is marked `own_work` and never raises risk
(`checker.report.verdicts`); a match with another learner of an earlier round raises risk as a
learner pair does. The round stored under NAME is never compared with itself: a re-scan under
the same name compares with every other round, then replaces its stored copy.

Notes: the remembered rounds' notes documents join the notes check as other learners (compared
with, not reported); a learner's own earlier notes are not compared with theirs.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from checker.code.documents import CodeDoc
from checker.code.fingerprints import CodeFingerprint
from checker.code.scoring import FilePair, score_file_pair
from checker.core.align import Prepared, own_mask, prepare
from checker.corpus.lsh import BandedLSH
from checker.corpus.rounds import (RememberedFile, RememberedRounds, RoundRecord, RoundToStore,
                                   rounds_dir, store_round)
from checker.model import IngestWarning, SourceFile
from checker.pipeline.scan import (CodeMatchResult, Progress, ScanConfig, align_pairs,
                                   fragment_learners, kgram_learners, run_weights)
from checker.report.model import FileEntry, HistoryMatch, HistoryRound, HistorySection, Report


# --- aliases -------------------------------------------------------------------------------------


class Aliases:
    """Learner ids that are one person across rounds (`learner,alias` rows), joined transitively."""

    def __init__(self, rows: Iterable[tuple[str, str]] = ()) -> None:
        self._parent: dict[str, str] = {}
        for a, b in rows:
            self._parent[self._find(a)] = self._find(b)

    def _find(self, x: str) -> str:
        root = x
        while self._parent.get(root, root) != root:
            root = self._parent[root]
        while x != root:  # path compression
            self._parent[x], x = root, self._parent.get(x, x)
        return root

    def same(self, a: str, b: str) -> bool:
        return a == b or self._find(a) == self._find(b)


def read_aliases(path: Path) -> tuple[Aliases, list[IngestWarning]]:
    """The `learner,alias` rows of a CSV file (a `learner,alias` header is allowed); a row that is
    not two ids is skipped with a warning naming the file and row. An unreadable file raises
    ValueError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"{path}: cannot read the aliases ({reason}); expected a UTF-8 CSV of "
                         "learner,alias rows") from None
    rows: list[tuple[str, str]] = []
    warnings: list[IngestWarning] = []
    for number, row in enumerate(csv.reader(text.splitlines()), 1):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if number == 1 and [c.lower() for c in cells] == ["learner", "alias"]:
            continue
        if len(cells) != 2 or not all(cells):
            warnings.append(IngestWarning(
                str(path), f"row {number} skipped: expected two learner ids (learner,alias), got "
                f"{','.join(row)[:80]!r}", kind="skipped"))
            continue
        rows.append((cells[0], cells[1]))
    return Aliases(rows), warnings


# --- comparing -----------------------------------------------------------------------------------


@dataclass
class HistoryOutcome:
    """What comparing a round with the remembered rounds found."""

    index: Path
    compared: list[RoundRecord] = field(default_factory=list)
    pairs: list[FilePair] = field(default_factory=list)
    matches: dict[tuple[str, str, str, str], HistoryMatch] = field(default_factory=dict)
    files: dict[tuple[str, str], FileEntry] = field(default_factory=dict)  # (owner, path) -> entry
    notes: list = field(default_factory=list)  # remembered notes documents (NotesDocument)
    aliases: Aliases = field(default_factory=Aliases)
    candidate_pairs: int = 0
    seconds: float = 0.0


def compare_history(config: ScanConfig, result: CodeMatchResult, aliases: Aliases,
                    progress: Progress | None = None) -> HistoryOutcome:
    """The round's code files against every remembered round of `config.index_dir` but the one
    stored under `config.round_name`; with `config.notes`, their notes documents too."""
    started = time.perf_counter()
    outcome = HistoryOutcome(Path(config.index_dir), aliases=aliases)
    view = RememberedRounds.open(config.index_dir, config.params)
    if view is None:
        return outcome
    with view:
        outcome.compared = view.rounds(exclude=config.round_name)
        if outcome.compared and result.state is not None and result.docs:
            _match_code(view, outcome, config, result, progress)
        if config.notes and outcome.compared:
            outcome.notes = view.notes([r.id for r in outcome.compared])
    outcome.pairs.sort(key=lambda p: (-p.similarity, p.left, p.right, p.left_file, p.right_file))
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _match_code(view: RememberedRounds, outcome: HistoryOutcome, config: ScanConfig,
                result: CodeMatchResult, progress: Progress | None) -> None:
    params = config.params
    state = result.state
    assert state is not None
    docs = result.docs
    file_ids, matrix = view.signatures([r.id for r in outcome.compared], params.num_perm)
    if not len(file_ids) or not len(state.signatures):
        return
    lsh = BandedLSH(matrix, config.lsh_threshold, params.num_perm)
    query_rows, stored_rows = lsh.query_pairs(state.signatures)
    found = np.unique(np.column_stack([state.signature_docs[query_rows], file_ids[stored_rows]]), axis=0)
    files = {f.id: f for f in view.files(found[:, 1].tolist())}
    # a remembered text is aligned once per round however many of its learners handed it in
    groups: dict[tuple[int, int], list[RememberedFile]] = {}
    for f in files.values():
        groups.setdefault((f.round_id, f.content_id), []).append(f)
    keys = sorted(groups)
    slot = {key: len(docs) + n for n, key in enumerate(keys)}
    pairs = sorted({(int(d), slot[(files[int(fid)].round_id, files[int(fid)].content_id)])
                    for d, fid in found.tolist()})
    outcome.candidate_pairs = len(pairs)
    if not pairs:
        return

    ignored = {r.id: np.union1d(state.ignore, view.ignored(r.id)).astype(np.uint64) for r in outcome.compared}
    remembered: list[CodeDoc] = []
    prepared: list[Prepared | None] = [None] * (len(docs) + len(keys))
    for n, (round_id, content_id) in enumerate(keys):
        content = view.content(content_id)
        doc = CodeDoc(SourceFile("", "", ""), CodeFingerprint(content.token_stream(), content.kgrams))
        doc.mark_own(ignored[round_id], params.k)
        remembered.append(doc)
        prepared[len(docs) + n] = prepare(content.kgrams, ignored[round_id])
    for i in sorted({a for a, _ in pairs}):
        prepared[i] = prepare(docs[i].fp.kgrams, state.ignore)

    def specific(doc: CodeDoc) -> np.ndarray | None:
        if not state.shipped.size:
            return None
        return own_mask(doc.fp.kgrams, doc.fp.n_tokens, params.k, state.shipped)

    # per learner file: its specific-token mask and the learners of each of its k-grams, made
    # once however many remembered files it is aligned with (as match_code keeps them)
    mine_specific: dict[int, np.ndarray | None] = {}
    mine_learners: dict[int, np.ndarray] = {}
    entries: dict[tuple[str, str], FileEntry] = {}
    for a, b, frags in align_pairs(prepared, pairs, params.k, config.min_fragment_tokens, config.jobs,
                                   (lambda stage, d, t: progress("history", d, t)) if progress else None):
        if not frags:
            continue
        mine, theirs = docs[a], remembered[b - len(docs)]
        if a not in mine_specific:
            mine_specific[a] = specific(mine)
            mine_learners[a] = kgram_learners(mine.fp.kgrams, state.counted)
        weights = run_weights(frags, mine, theirs, mine_specific[a], specific(theirs),
                              config.min_fragment_tokens)
        learners = fragment_learners(mine.fp.kgrams, frags, params.k, state.counted, mine_learners[a])
        for f in groups[keys[b - len(docs)]]:
            pair = score_file_pair(mine.source.owner, f.owner, mine.source.path, f.path, frags,
                                   mine.fp.stream, theirs.fp.stream, mine.own, theirs.own,
                                   learners=learners, fragment_own=weights)
            pair.source = "history"
            outcome.pairs.append(pair)
            outcome.matches[(pair.left, pair.left_file, pair.right, pair.right_file)] = HistoryMatch(
                f.round, f.learner, outcome.aliases.same(mine.source.owner, f.learner))
            if (f.owner, f.path) not in entries:
                entries[(f.owner, f.path)] = FileEntry(
                    owner=f.owner, path=f.path, kind="code", encoding=f.encoding,
                    parser=theirs.fp.stream.parser, tokens=theirs.fp.n_tokens,
                    own_tokens=theirs.own_tokens, lines=f.lines, cell_lines=list(f.cell_lines),
                    text=view.text(f.content_id))
    outcome.files = entries


def scan_history(config: ScanConfig, result: CodeMatchResult,
                 progress: Progress | None = None) -> tuple[HistoryOutcome | None, list[IngestWarning]]:
    """A scan's comparison with the remembered rounds of its index (None with --no-history), its
    pairs added to the round's, and the warnings of its --aliases file."""
    aliases, warnings = read_aliases(config.aliases_path) if config.aliases_path else (Aliases(), [])
    if not config.history:
        return None, warnings
    outcome = compare_history(config, result, aliases, progress)
    add_history_pairs(result, outcome)
    return outcome, warnings


def add_history_pairs(result: CodeMatchResult, outcome: HistoryOutcome) -> None:
    """The history pairs join the round's file pairs, in the report's order (most similar first)."""
    result.file_pairs.extend(outcome.pairs)
    result.file_pairs.sort(key=lambda p: (-p.similarity, p.left, p.right, p.left_file, p.right_file))
    result.stats["seconds"]["history"] = outcome.seconds


def history_section(report: Report, config: ScanConfig, outcome: HistoryOutcome | None) -> HistorySection:
    """report.json's `history`; marks the report's history pairs with their round and learner."""
    shown: set[tuple[str, str]] = set()
    for pair in report.pairs:
        if pair.source == "history" and outcome is not None:
            pair.history = outcome.matches.get((pair.left, pair.left_file, pair.right, pair.right_file))
            shown.add((pair.right, pair.right_file))
    files = [entry for key, entry in sorted(outcome.files.items()) if key in shown] if outcome else []
    return HistorySection(
        index=str(config.index_dir),
        compared=[_round_info(r) for r in outcome.compared] if outcome else [],
        aliases=str(config.aliases_path) if config.aliases_path else "",
        candidate_pairs=outcome.candidate_pairs if outcome else 0,
        matched_pairs=sum(p.source == "history" for p in report.pairs),
        files=files,
    )


def _round_info(record: RoundRecord) -> HistoryRound:
    return HistoryRound(record.name, record.learners, record.files, record.stored_at)


def notes_against_history(config: ScanConfig, outcome: HistoryOutcome | None, documents: list,
                          corpus) -> tuple[dict, object | None]:
    """(check_notes's keyword arguments for the remembered rounds' notes, an embedder or None).

    The remembered notes are compared as other learners' (`other_learners`), a learner's own
    earlier notes excepted (`same_person`). Without a notes corpus (whose embedder caches), the
    embedder caches its vectors in the rounds folder: remembered notes are embedded when their
    round is scanned and read back at every later comparison instead of embedded again."""
    kwargs: dict = {}
    if outcome is not None and outcome.notes:
        kwargs = {"other_learners": outcome.notes,
                  "same_person": own_earlier_owners(outcome, {d.owner for d in documents})}
    if corpus is not None or config.index_dir is None or not (kwargs or config.round_name):
        return kwargs, None
    from checker.notes.config import NotesConfig
    from checker.notes.embeddings import Embedder

    return kwargs, Embedder(NotesConfig().model, cache_dir=rounds_dir(config.index_dir) / "embeddings")


def own_earlier_owners(outcome: HistoryOutcome, learners: Iterable[str]) -> dict[str, set[str]]:
    """Per learner of this round, the `ROUND:LEARNER` owners of remembered notes that are their
    own earlier work (the notes check does not compare a learner with them)."""
    owners = {d.owner for d in outcome.notes}
    out: dict[str, set[str]] = {}
    for learner in learners:
        mine = {o for o in owners if outcome.aliases.same(learner, o.split(":", 1)[1])}
        if mine:
            out[learner] = mine
    return out


# --- remembering ---------------------------------------------------------------------------------


def remember_round(config: ScanConfig, result: CodeMatchResult, notes_documents: list) -> HistoryRound:
    """Store the scanned round in `config.index_dir` under `config.round_name` (replacing a
    round of that name): its learners, code files with the signatures and ignored k-grams its
    learner matching used, and its notes documents (checker.corpus.rounds)."""
    assert config.index_dir is not None and config.round_name is not None
    state = result.state
    docs = result.docs
    per_doc: list[np.ndarray] = [np.empty((0, config.params.num_perm), dtype=np.uint64)] * len(docs)
    ignored = np.empty(0, dtype=np.uint64)
    if state is not None and len(state.signature_docs):
        order = np.argsort(state.signature_docs, kind="stable")
        bounds = np.searchsorted(state.signature_docs[order], np.arange(len(docs) + 1))
        per_doc = [state.signatures[order[bounds[i]:bounds[i + 1]]] for i in range(len(docs))]
    if state is not None:
        ignored = state.ignore
    record = store_round(config.index_dir, config.params, RoundToStore(
        name=config.round_name, round_dir=str(config.round_dir),
        learners=[s.learner for s in result.submissions], docs=docs, signatures=per_doc,
        ignored=ignored, notes=notes_documents))
    return _round_info(record)


__all__ = ["Aliases", "HistoryOutcome", "add_history_pairs", "compare_history",
           "history_section", "notes_against_history", "own_earlier_owners", "read_aliases",
           "remember_round", "scan_history"]
