"""`checker scan`: one round of submissions in, one `Report` out.

ingest -> fingerprints -> (base and frequent k-grams removed) -> MinHashLSH candidates ->
exact alignment of candidates -> file-pair and learner-pair scores -> verdicts -> Report.
The library never prints; progress goes through the optional `progress(stage, done, total)`.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import itertools
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from checker import defaults
from checker.core.align import Fragment, Prepared, align_prepared, own_mask, prepare
from checker.code.documents import CodeDoc
from checker.code.fingerprints import (FingerprintMap, FingerprintParams, fingerprint_many,
                                       minhash_permutations, minhash_values_many)
from checker.ingest.round import Submission, load_base, load_round
from checker.model import IngestWarning, SourceFile
from checker.code.scoring import CoverageUnion, FilePair, aggregate_learner_pairs, score_file_pair
from checker.pipeline.config import ScanConfig
from checker.pipeline.workdir import work_dir
from checker.report.model import (
    CorpusBlock,
    CorpusInfo,
    CorpusSourceInfo,
    CorpusText,
    Finding,
    NotesCorpusInfo,
    NotesCorpusSourceInfo,
    NotesSection,
    Report,
    RetrainRun,
    RetrainSkipped,
    TaskInfo,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from checker.corpus.lsh import LSHFactory

Progress = Callable[[str, int, int], None]


class _BackgroundImport:
    """A module imported in a thread while the fingerprint workers run.

    checker.core.candidates needs datasketch, which imports scipy: 0.6 s of CPU that would otherwise
    be spent before anything else starts (measured with -X importtime; 1,000-file round, five
    alternating runs: median 7.9 s with, 8.4 s without). Started only once the
    workers have forked: a fork in the middle of an import can leave the import lock held in
    the child.
    """

    def __init__(self, name: str):
        self.name = name
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._load, daemon=True)
        self.thread.start()

    def _load(self) -> None:
        try:
            importlib.import_module(self.name)
        except Exception:  # noqa: BLE001 - module() imports again and raises in the caller
            pass

    def module(self):
        if self.thread is not None:
            self.thread.join()
        return importlib.import_module(self.name)


@dataclass
class MatchState:
    """What the learner matching worked with, for a stage that compares the round with more
    code the same way (remembered rounds: checker.pipeline.history)."""

    ignore: np.ndarray  # k-grams ignored outright (handout, round-frequent, public common)
    shipped: np.ndarray  # the shipped common k-grams found in the round (no weight as evidence)
    counted: tuple[np.ndarray, np.ndarray]  # kgram_learner_counts of the round
    signature_docs: np.ndarray  # the document of each LSH signature
    signatures: np.ndarray  # MinHash values, one row per signature


@dataclass
class CodeMatchResult:
    submissions: list[Submission]
    docs: list[CodeDoc]
    file_pairs: list[FilePair]
    learner_pairs: list
    warnings: list[IngestWarning]
    stats: dict
    state: MatchState | None = None


def kgram_learner_counts(docs: list[CodeDoc]) -> tuple[np.ndarray, np.ndarray]:
    """Every k-gram of the round (sorted) and how many learners have it."""
    by_owner: dict[str, list[np.ndarray]] = {}
    for d in docs:
        by_owner.setdefault(d.source.owner, []).append(d.fp.kgrams)
    if not by_owner:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    per_owner = [np.unique(np.concatenate(v)) for v in by_owner.values()]
    return np.unique(np.concatenate(per_owner), return_counts=True)


def frequent_kgrams(counted: tuple[np.ndarray, np.ndarray], learners: int, share: float,
                    min_learners: int, max_learners: int | None = None) -> np.ndarray:
    """K-grams present in more than `share` of the `learners`, or in more than `max_learners` of
    them, and in at least `min_learners` (common knowledge, not evidence). `counted`: from
    `kgram_learner_counts`."""
    if learners < min_learners:
        return np.empty(0, dtype=np.uint64)
    values, counts = counted
    limit = share * learners
    if max_learners is not None:
        limit = min(limit, max_learners)
    return values[(counts > limit) & (counts >= min_learners)]


def kgram_learners(kgrams: np.ndarray, counted: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per k-gram of a document, how many learners have it (-1 for one the round's counts lack);
    `counted`: from `kgram_learner_counts`."""
    values, counts = counted
    if not values.size:
        return np.full(len(kgrams), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(values, kgrams), len(values) - 1)
    return np.where(values[at] == kgrams, counts[at], -1)


def fragment_learners(kgrams: np.ndarray, fragments, k: int,
                      counted: tuple[np.ndarray, np.ndarray],
                      per_kgram: np.ndarray | None = None) -> list[int]:
    """Per fragment (tokens [left_start, left_end) of the document with `kgrams`): how many
    learners have its code, the median over its k-grams (robust to a k-gram that happens to
    occur elsewhere). `per_kgram`: `kgram_learners(kgrams, counted)` when the caller keeps it (a
    document is the left side of many pairs: one search of the round's k-grams per document,
    not per fragment, was 6.8 of 11.6 s of the 1,000-file round's alignment stage)."""
    per = per_kgram if per_kgram is not None else kgram_learners(kgrams, counted)
    out = []
    for f in fragments:
        window = per[f.left_start:max(f.left_start + 1, f.left_end - k + 1)]
        found = np.sort(window[window >= 0])
        n = int(found.size)
        if not n:
            out.append(0)
        elif n % 2:
            out.append(int(found[n // 2]))
        else:  # np.median's mean of the middle two, truncated as int() did
            out.append(int((int(found[n // 2 - 1]) + int(found[n // 2])) / 2))
    return out


# Alignment and the LSH's band groups run in forked workers that inherit what they read (the
# prepared documents, the MinHash values) copy-on-write instead of receiving it pickled: set just
# before the pool forks, cleared after.
_FORK_STATE: tuple | None = None
# Below this many candidate pairs / signatures a pool costs more than it saves.
_PARALLEL_ALIGN_MIN_PAIRS = 2000
_PARALLEL_LSH_MIN_SIGNATURES = 2000
# below this many files to read, forking costs more than the parses (~15 ms a file)
_PARALLEL_FACTS_MIN_FILES = 32


def _forked_imap(worker, items: list, state: tuple, jobs: int):
    """`worker(item)` for every item in `jobs` forked processes that see `state` as _FORK_STATE;
    yields the results in order."""
    global _FORK_STATE
    _FORK_STATE = state
    # an executor, not multiprocessing.Pool: a worker that dies (killed, out of memory) raises
    # BrokenProcessPool here, where a Pool would wait for its result forever
    already_running = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
    try:
        yield from pool.map(worker, items)
    except BaseException:  # stopped early (an error, Ctrl-C): the workers' work is not wanted
        # the executor has no public way to stop its workers before Python 3.14; they are this
        # process's children started since the pool was made
        for process in set(multiprocessing.active_children()) - already_running:
            process.terminate()
        raise
    finally:
        _FORK_STATE = None
        pool.shutdown(wait=True, cancel_futures=True)


def _can_fork(jobs: int, items: int, minimum: int) -> bool:
    return jobs > 1 and items >= minimum and "fork" in multiprocessing.get_all_start_methods()


def question_facts(report: Report, jobs: int, cache=None) -> dict:
    """text -> the libCST facts the review questions read of it (`questions.texts_to_read`), in
    `jobs` forked processes when there are enough: the parse is most of the questions' time (4 of
    the 10 s of a 1,000-learner round on one process). `cache` (checker.report.factcache): texts
    read before come from it, the others are parsed and stored there; without it and with few
    texts, {} (add_questions parses them itself)."""
    from checker.code.textcache import text_key
    from checker.report.questions import code_facts, texts_to_read

    texts = texts_to_read(report)
    jobs = jobs or os.cpu_count() or 1
    keys = {t: text_key(t) for t in texts} if cache is not None and cache.enabled else {}
    stored = cache.get_many(keys.values()) if keys else {}
    facts = {t: stored[k] for t, k in keys.items() if k in stored}
    todo = [t for t in texts if t not in facts]
    if _can_fork(jobs, len(todo), _PARALLEL_FACTS_MIN_FILES):
        made = dict(zip(todo, _forked_imap(code_facts, todo, (), jobs)))
    elif keys:
        made = {t: code_facts(t) for t in todo}
    else:
        return {}
    if keys:
        cache.put_many((keys[t], f) for t, f in made.items())
    return facts | made


def _align_chunk(pairs: list[tuple[int, int]]) -> list[tuple[int, int, list[tuple]]]:
    # fragments travel back as plain tuples: pickling named tuples costs 6x more (0.32 s vs
    # 0.05 s for the 65k fragments of a 1,000-file round)
    prepared, k, min_tokens = _FORK_STATE
    return [(a, b, [tuple(f) for f in align_prepared(prepared[a], prepared[b], k, min_tokens)])
            for a, b in pairs]


def align_pairs(prepared: list[Prepared], pairs: list[tuple[int, int]], k: int, min_tokens: int,
                jobs: int, progress: Progress | None = None):
    """Fragments of every candidate pair; yields (a, b, fragments) in `pairs` order."""
    jobs = jobs or os.cpu_count() or 1
    if not _can_fork(jobs, len(pairs), _PARALLEL_ALIGN_MIN_PAIRS):
        for n, (a, b) in enumerate(pairs):
            if progress and (n % 500 == 0 or n + 1 == len(pairs)):
                progress("align", n + 1, len(pairs))
            yield a, b, align_prepared(prepared[a], prepared[b], k, min_tokens)
        return
    size = 500
    chunks = [pairs[i:i + size] for i in range(0, len(pairs), size)]
    done = 0
    for result in _forked_imap(_align_chunk, chunks, (prepared, k, min_tokens), jobs):
        done += len(result)
        if progress:
            progress("align", done, len(pairs))
        for a, b, frags in result:
            yield a, b, list(map(Fragment._make, frags))


def _band_group_chunk(bands: tuple[int, int]) -> np.ndarray:
    from checker.core.candidates import band_group_pairs

    docs, values, owners, seed, permutations, r = _FORK_STATE
    pairs = band_group_pairs(docs, values, owners, seed, permutations, r, bands)
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def lsh_pairs(docs: np.ndarray, values: np.ndarray, owners: np.ndarray, threshold: float,
              params: FingerprintParams, jobs: int) -> set[tuple[int, int]]:
    """checker.core.candidates.candidate_pairs, its band groups spread over `jobs` processes: the same
    pairs (3,000 files: 2.1 s -> 1.35 s on 2 cores; 1,000 files: 0.62 s -> 0.5 s)."""
    from checker.core.candidates import candidate_pairs, lsh_bands

    permutations = minhash_permutations(params)
    jobs = jobs or os.cpu_count() or 1
    if not _can_fork(jobs, len(docs), _PARALLEL_LSH_MIN_SIGNATURES):
        return candidate_pairs(docs, values, owners, threshold, params.seed, permutations)
    b, r = lsh_bands(threshold, params.num_perm)
    edges = np.linspace(0, b, min(jobs, b) + 1).round().astype(int).tolist()
    pairs: set[tuple[int, int]] = set()
    state = (docs, values, owners, params.seed, permutations, r)
    for part in _forked_imap(_band_group_chunk, list(itertools.pairwise(edges)), state, jobs):
        pairs.update(map(tuple, part.tolist()))
    return pairs


def match_code(subs: list[Submission], base: list[SourceFile], config: ScanConfig,
               progress: Progress | None = None, index=None, cache=None) -> CodeMatchResult:
    """Learner-vs-learner code matching of a round (the heart of `checker scan`), and, with a
    corpus `index` (checker.corpus.index.CorpusIndex), every learner file against the corpus.
    `cache`: fingerprints known already (checker.code.fpcache), handed to `fingerprint_many`."""
    params = config.params
    t0 = time.perf_counter()
    sources = [f for s in subs for f in s.code]
    texts = [f.text for f in sources] + [f.text for f in base]
    candidates_module = _BackgroundImport("checker.core.candidates")
    fps = fingerprint_many(texts, params, config.jobs,
                           (lambda d, t: progress("fingerprint", d, t)) if progress else None,
                           map=config.fingerprint_map,
                           on_workers_started=candidates_module.start, cache=cache)
    docs = [CodeDoc(s, fp) for s, fp in zip(sources, fps)]
    base_fps = fps[len(sources):]
    t_fp = time.perf_counter()

    warnings: list[IngestWarning] = []
    for d in docs:
        if d.fp.stream.parser != "libcst":
            warnings.append(IngestWarning(d.source.path, f"compared with the lexical fallback: "
                                          f"{d.fp.stream.reason}", d.source.owner, kind="fallback"))

    counted = kgram_learner_counts(docs)
    ignored = [frequent_kgrams(counted, len({d.source.owner for d in docs}), config.frequent_share,
                               config.frequent_min_learners, config.frequent_max_learners)]
    ignored += [fp.kgrams for fp in base_fps]
    round_kgrams = (np.unique(np.concatenate([d.fp.kgrams for d in docs])) if docs
                    else np.empty(0, dtype=np.uint64))
    if index is not None and docs:
        # code common to many public implementations (the standard training loop) is no
        # evidence between learners either
        ignored.append(index.common_kgrams(among=round_kgrams).astype(np.uint64))
    # ignored outright: no candidates, no own tokens, and alignments stop at them
    hard_ignore = np.unique(np.concatenate(ignored)) if ignored else np.empty(0, dtype=np.uint64)
    shipped = np.empty(0, dtype=np.uint64)
    shipped_size = 0
    if config.common:
        from checker.code.common import load_common_kgrams

        common = load_common_kgrams(params, config.common_list)
        if common.reason:
            warnings.append(IngestWarning(Path(common.path).name, common.reason, kind="common-code"))
        shipped_size = int(common.hashes.size)
        if shipped_size and round_kgrams.size:
            shipped = np.intersect1d(common.hashes, round_kgrams, assume_unique=True)
    # The shipped common k-grams (code everyone writes) are shapes: they weigh nothing as
    # evidence on their own (`run_weights`), but pair scores keep them, so a copied textbook
    # block still scores as the copy it is (removing them from the pairs lost verbatim copies
    # of attention blocks: generated-benchmark AUC L1 1.000 -> 0.916).
    ignore = hard_ignore
    for d in docs:
        d.mark_own(ignore, params.k)

    signature_docs, hash_sets = [], []  # the document of each signature, and its hashes
    for i, d in enumerate(docs):
        seen: set[bytes] = set()  # a unit that is the whole file (or its only method) adds nothing
        for hashes in d.fp.unit_hash_sets(params, ignore):
            if hashes.size and (key := hashes.tobytes()) not in seen:
                seen.add(key)
                signature_docs.append(i)
                hash_sets.append(hashes)
    values = minhash_values_many(hash_sets, params)
    owner_ids: dict[str, int] = {}
    owners = np.array([owner_ids.setdefault(d.source.owner, len(owner_ids)) for d in docs])
    candidates_module.module()  # joined: datasketch is loaded
    pairs = lsh_pairs(np.array(signature_docs, dtype=np.int64), values, owners,
                      config.lsh_threshold, params, config.jobs)
    t_cand = time.perf_counter()

    union = CoverageUnion()
    file_pairs: list[FilePair] = []
    ordered = sorted(pairs)
    needed = sorted({i for pair in ordered for i in pair})
    prepared: list[Prepared | None] = [None] * len(docs)
    specific: dict[int, np.ndarray] = {}  # per document: tokens no shipped common k-gram covers
    for i in needed:
        prepared[i] = prepare(docs[i].fp.kgrams, hard_ignore)
        if shipped.size:
            specific[i] = own_mask(docs[i].fp.kgrams, docs[i].fp.n_tokens, params.k, shipped)
    learners_of: dict[int, np.ndarray] = {}  # kgram_learners of recent left documents
    for a, b, frags in align_pairs(prepared, ordered, params.k, config.min_fragment_tokens,
                                   config.jobs, progress):
        da, db = docs[a], docs[b]
        if not frags:
            continue
        # learner ids in a stable order: left < right
        if da.source.owner > db.source.owner:
            da, db = db, da
            frags = [type(f)(f.right_start, f.right_end, f.left_start, f.left_end) for f in frags]
        sa, sb = (specific.get(a), specific.get(b)) if da is docs[a] else (specific.get(b),
                                                                            specific.get(a))
        left = a if da is docs[a] else b
        if left not in learners_of:
            if len(learners_of) >= 256:  # pairs come sorted by their first document: few in use
                learners_of.pop(next(iter(learners_of)))
            learners_of[left] = kgram_learners(da.fp.kgrams, counted)
        fp = score_file_pair(da.source.owner, db.source.owner, da.source.path, db.source.path,
                             frags, da.fp.stream, db.fp.stream, da.own_tokens, db.own_tokens,
                             learners=fragment_learners(da.fp.kgrams, frags, params.k, counted,
                                                        learners_of[left]),
                             fragment_own=run_weights(frags, da, db, sa, sb,
                                                      config.min_fragment_tokens))
        union.add(da.source.key, db.source.owner, da.fp.n_tokens,
                  [(f.left_start, f.left_end) for f in frags])
        union.add(db.source.key, da.source.owner, db.fp.n_tokens,
                  [(f.right_start, f.right_end) for f in frags])
        file_pairs.append(fp)
    t_align = time.perf_counter()
    if index is not None:
        from checker.corpus.attribution import evidence_from_submission
        from checker.corpus.match import find_corpus_matches

        evidence = {sub.learner: evidence_from_submission(sub) for sub in subs}
        # the corpus matching has its own, measured discount of common public code (the
        # index's own counts): it gets the ignore set without the shipped list
        for m in find_corpus_matches(docs, hard_ignore, index, config, evidence, progress):
            file_pairs.append(m.pair)
    t_corpus = time.perf_counter()

    tokens_of: dict[str, int] = {}
    files_of: dict[str, list[str]] = {}
    for d in docs:
        tokens_of[d.source.owner] = tokens_of.get(d.source.owner, 0) + d.own_tokens
        files_of.setdefault(d.source.owner, []).append(d.source.key)
    learner_pairs = aggregate_learner_pairs(file_pairs, union, tokens_of, files_of,
                                            {d.source.key: d.own for d in docs if d.own is not None})
    file_pairs.sort(key=lambda p: (-p.similarity, p.left, p.right, p.left_file, p.right_file))
    stats = {
        "files": len(docs), "learners": len(subs), "candidate_pairs": len(pairs),
        "matched_pairs": len(file_pairs), "ignored_kgrams": int(ignore.size),
        # the shipped common-code list: its k-grams found in this round (ignored between
        # learners), and its size (0: turned off, missing or built for other parameters)
        "common_kgrams_shipped": int(shipped.size), "common_kgrams_list": shipped_size,
        "seconds": {"fingerprint": round(t_fp - t0, 3), "candidates": round(t_cand - t_fp, 3),
                    "align": round(t_align - t_cand, 3),
                    "corpus": round(t_corpus - t_align, 3)},
    }
    state = MatchState(hard_ignore, shipped, counted, np.array(signature_docs, dtype=np.int64), values)
    return CodeMatchResult(subs, docs, file_pairs, learner_pairs, warnings, stats, state)


def run_weights(frags, left: CodeDoc, right: CodeDoc, left_specific: np.ndarray | None,
                right_specific: np.ndarray | None, min_specific: int) -> list[int]:
    """Per fragment, its weight as evidence: its own tokens (no handout or round-common k-gram
    covers them; the smaller side), or 0 for a run made of nothing but the shipped shapes
    everyone writes (fewer than `min_specific` tokens outside them on a side)."""
    out = []
    for f in frags:
        own = min(int(left.own[f.left_start:f.left_end].sum()),
                  int(right.own[f.right_start:f.right_end].sum()))
        if left_specific is not None and right_specific is not None and (
                int(left_specific[f.left_start:f.left_end].sum()) < min_specific
                or int(right_specific[f.right_start:f.right_end].sum()) < min_specific):
            own = 0
        out.append(own)
    return out


def _rules_for(task, sub: Submission, parsed=None) -> list[dict]:
    """One learner's rule findings as report.json dicts; a crash becomes an NS000 finding.
    `parsed`: path -> the learner's code files parsed already (checker.code.tokens.parse_text)."""
    from checker.rules.check import SUBMISSION_PATH, Finding, check_ingested

    try:
        found = check_ingested(task, sub, parsed)
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - one learner never stops the round
        found = [Finding("NS000", "warning", f"the rules could not be checked for this "
                         f"submission (internal error {type(exc).__name__}: "
                         f"{str(exc)[:160]}); please report it", SUBMISSION_PATH,
                         learner=sub.learner)]
    return [finding.to_dict() for finding in found]


def _rules_chunk(indices: list[int]) -> list[list[dict]]:
    task, subs = _FORK_STATE
    return [_rules_for(task, subs[i]) for i in indices]


# Below this many learners the rules run in this process.
_PARALLEL_RULES_MIN_LEARNERS = 16


def check_rules(task, subs: list[Submission], progress: Progress | None = None,
                jobs: int = 0) -> list[dict]:
    """Every rule of the task for every learner, as report.json findings, learners in order.

    Learners are independent, so they are checked in forked processes when there are enough of
    them (the static parameter estimate makes this the costly part of `scan --task`)."""
    jobs = jobs or os.cpu_count() or 1
    findings: list[dict] = []
    if not _can_fork(jobs, len(subs), _PARALLEL_RULES_MIN_LEARNERS):
        for n, sub in enumerate(subs):
            findings.extend(_rules_for(task, sub))
            if progress:
                progress("rules", n + 1, len(subs))
        return findings
    size = max(1, len(subs) // (jobs * 8))
    chunks = [list(range(i, min(i + size, len(subs)))) for i in range(0, len(subs), size)]
    done = 0
    for result in _forked_imap(_rules_chunk, chunks, (task, subs), jobs):
        for per_learner in result:
            findings.extend(per_learner)
        done += len(result)
        if progress:
            progress("rules", done, len(subs))
    return findings


def _parse_once(task, sub: Submission, params: FingerprintParams, have: set[bytes]):
    """One learner under `--task`: each code file parsed once, for its fingerprint (unless `have`
    holds its text key) and the rules. (findings, [(text key, compact fingerprint)])."""
    from checker.code.fingerprints import fingerprint_text
    from checker.code.fpcache import text_key
    from checker.code.tokens import parse_text

    parsed, made = {}, []
    for f in sub.code:
        parsed[f.path] = parse_text(f.text)
        key = text_key(f.text)
        if key not in have:
            made.append((key, fingerprint_text(f.text, params, parsed=parsed[f.path]).compact()))
    return _rules_for(task, sub, parsed), made


def _parse_once_chunk(indices: list[int]) -> list[tuple[list[dict], list]]:
    task, subs, params, have = _FORK_STATE
    return [_parse_once(task, subs[i], params, have) for i in indices]


def fingerprint_and_check(task, subs: list[Submission], config: ScanConfig, cache=None,
                          progress: Progress | None = None):
    """`scan --task`: every learner's code files parsed once (libCST) for both their fingerprints
    and the task's rules, by learner, in forked processes when there are enough learners (the
    two read the same tree: the round of 1,000 generated files took 19 s with the rules, 6.7 s
    without, when each parsed on its own).

    Returns (findings as `check_rules` gives them, `KnownFingerprints` for `match_code`: the ones
    made here in front of `cache`), or None when a worker process died: the caller then takes
    the separate paths, whose fingerprinting survives such a file (checker.code.fingerprints).
    Fingerprints `cache` holds are read from it; the rules parse those files all the same."""
    from checker.code.fpcache import KnownFingerprints, text_key

    keys = [text_key(f.text) for sub in subs for f in sub.code]
    known = cache.get_many(keys) if cache is not None else {}
    state = (task, subs, config.params, set(known))
    jobs = config.jobs or os.cpu_count() or 1
    findings: list[dict] = []
    made: list = []
    if _can_fork(jobs, len(subs), _PARALLEL_RULES_MIN_LEARNERS):
        size = max(1, len(subs) // (jobs * 8))
        chunks = [list(range(i, min(i + size, len(subs)))) for i in range(0, len(subs), size)]
        results = _forked_imap(_parse_once_chunk, chunks, state, jobs)
    else:
        results = ([_parse_once(task, sub, config.params, state[3])] for sub in subs)
    done = 0
    try:
        for result in results:
            for per_learner, fingerprints in result:
                findings.extend(per_learner)
                made.extend(fingerprints)
            done += len(result)
            if progress:
                progress("rules", done, len(subs))
    except BrokenProcessPool:
        return None
    if cache is not None:
        cache.put_many(made)
    known.update(made)
    return findings, KnownFingerprints(known, cache)


def retrain_round(task, config: ScanConfig, subs: list[Submission]) -> dict[str, dict]:
    """Re-run every learner's training (sandboxed child processes), as report.json entries."""
    from checker.retrain.config import RetrainConfig
    from checker.retrain.runs import retrain_many

    if not task.retrain_table:
        raise ValueError(f"{config.task_path}: --retrain needs a [retrain] table in the task file")
    retrain_config = RetrainConfig.from_table(task.retrain_table, Path(config.task_path))
    roots = {s.learner: s.root for s in subs if s.root is not None}
    results = retrain_many(roots, retrain_config, max_params=task.rules.max_params,
                           short=config.retrain_short, parallel=config.retrain_parallel)
    out = {learner: result.to_dict() for learner, result in results.items()}
    for s in subs:
        if s.root is None:
            out[s.learner] = {"status": "skipped",
                              "reason": "the round is a manifest, so there is no learner folder to run"}
    return out


def read_round_notes(subs: list[Submission], round_dir: Path | None = None) -> list:
    """Every learner's notes files (and notebooks' markdown cells) as NotesDocuments, read once
    by ingest (`checker.ingest.notes.read_notes`); their warnings join the learner's.

    Fenced code blocks inside notes go to the code path: they join the learner's code files.
    `round_dir` is not needed any more (ingest knows where each file lies); kept for callers.
    """
    from checker.ingest.notes import read_notes

    documents = []
    for sub in subs:
        for doc in read_notes(sub):
            sub.warnings.extend(doc.warnings)
            sub.code.extend(doc.code_files)
            documents.append(doc)
    return documents


def read_base_notes(base_dir: Path) -> list:
    """The handout's notes files (and notebooks' markdown cells) below `base_dir`, as
    NotesDocuments: learner paragraphs that match them are the handout's (checker.notes.check)."""
    from checker.ingest.documents import read_notes_file
    from checker.ingest.round import load_folder

    sub = load_folder(Path(base_dir), "handout")
    return [read_notes_file(Path(base_dir) / rel, owner="handout", rel_path=rel)
            for rel in [*sub.notes, *sub.notebook_markdown]]


def check_round_notes(documents: list, config: ScanConfig, handout: list = (), norms=None,
                      history=None) -> tuple[dict, NotesCorpusInfo | None]:
    """Notes of every learner against each other and, with an index, the public notes corpus;
    `handout`: the base folder's notes (read_base_notes); `norms`: the task's `[notes]`;
    `history`: the comparison with remembered rounds (checker.pipeline.history), whose notes
    are compared with as other learners', a learner's own earlier notes excepted.
    Returns report.json's `notes` and the notes corpus used (None: learners only)."""
    from checker.notes.check import check_notes
    from checker.notes.corpus import NotesCorpus

    corpus = None
    used = None
    if config.index_dir is not None:
        notes_dir = Path(config.index_dir) / defaults.NOTES_INDEX_SUBDIR
        if (notes_dir / "notes.sqlite").exists():
            corpus = NotesCorpus.open(notes_dir, create=False)
            used = NotesCorpusInfo(str(notes_dir), [
                NotesCorpusSourceInfo(source, documents, str(meta.get("url") or ""),
                                      str(meta.get("licence") or meta.get("license") or ""))
                for source, documents, meta in corpus.source_details()])
    remembered: dict = {}
    embedder = None
    if history is not None or config.round_name:
        from checker.pipeline.history import notes_against_history

        remembered, embedder = notes_against_history(config, history, documents, corpus)
    try:
        return check_notes(documents, corpus, handout=handout, norms=norms, embedder=embedder,
                           **remembered).to_dict(), used
    finally:
        if corpus is not None:
            corpus.close()
        if embedder is not None and hasattr(embedder, "close"):
            embedder.close()


def attach_public_lines(report: Report, index) -> None:
    """Give each corpus pair of `report` its public lines (`right_text`) from `index`, strongest
    pairs first within the report's budget (checker.corpus.excerpts)."""
    from checker.corpus.excerpts import ExcerptBudget, public_excerpts

    pairs = [p for p in report.pairs if p.source == "corpus"]
    budget = ExcerptBudget()
    found = public_excerpts(index, [(p.right, p.right_file,
                                     [(f.right_start_line, f.right_end_line) for f in p.fragments])
                                    for p in pairs], budget)
    for pair, excerpt in zip(pairs, found):
        if excerpt is not None:
            pair.right_text = CorpusText(excerpt.lines, excerpt.context,
                                         [CorpusBlock(a, lines) for a, lines in excerpt.blocks],
                                         excerpt.cut_lines)


def open_index(config: ScanConfig):
    """The corpus index of `config.index_dir`, or None when there is none (learners only)."""
    if config.index_dir is None:
        return None
    from checker.corpus.index import CorpusIndex
    from checker.corpus.storage import CorpusIndexError

    try:
        return CorpusIndex.open(config.index_dir, config.params)
    except CorpusIndexError:
        folder = Path(config.index_dir)
        if ((folder / defaults.NOTES_INDEX_SUBDIR).exists()
                or (folder / defaults.ROUNDS_INDEX_SUBDIR).exists() or config.round_name):
            # a notes-only index (the notes check uses it), or one holding remembered rounds
            # (checker.pipeline.history): code has no corpus
            return None
        raise


def open_fingerprint_cache(config: ScanConfig):
    """The fingerprint cache of `config.cache_dir` (checker.code.fpcache), to be used in a `with`
    (closed after); a `with` of None without one."""
    if config.cache_dir is None:
        return contextlib.nullcontext()
    from checker.code.fpcache import FingerprintCache

    return FingerprintCache.open(config.cache_dir, config.params, config.notice)


def open_facts_cache(config: ScanConfig):
    """The review questions' facts cache of `config.cache_dir` (checker.report.factcache), used
    as `open_fingerprint_cache`."""
    if config.cache_dir is None:
        return contextlib.nullcontext()
    from checker.report.factcache import FactsCache

    return FactsCache.open(config.cache_dir, config.notice)


@contextlib.contextmanager
def paused_gc():
    """The cyclic garbage collector off for a bounded piece of work, back on after.

    A scan allocates hundreds of thousands of small objects that live to its end (fingerprints,
    fragments, pairs) and makes almost no reference cycles; each full collection re-walks all of
    them. Measured on the 1,000-file benchmark round: 9.1-9.6 s with the collector, 8.0-8.3 s
    without. Reference counting still frees everything that is not a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def scan(config: ScanConfig, progress: Progress | None = None) -> dict:
    """Run the whole scan of a round and return its report as the dict report.json holds
    (`scan_report(...).to_dict()`, for callers that index it).

    A bad task file fails before any work (TaskFileError / RetrainConfigError, both ValueError).
    """
    report = scan_report(config, progress)
    with paused_gc():
        return report.to_dict()


def scan_report(config: ScanConfig, progress: Progress | None = None) -> Report:
    """Run the whole scan of a round and return its typed `Report` (checker.report.model).

    A bad task file fails before any work (TaskFileError / RetrainConfigError, both ValueError).
    """
    with paused_gc():
        return _scan(config, progress)


def _scan(config: ScanConfig, progress: Progress | None = None) -> Report:
    from checker.report.questions import add_questions
    from checker.report.writers import build_report, refresh_verdicts

    started = time.time()
    task = None
    if config.task_path:
        from checker.task.taskfile import load_task

        task = load_task(config.task_path)
        if config.retrain and not task.retrain_table:
            raise ValueError(f"{config.task_path}: --retrain needs a [retrain] table in the task file")
    with work_dir() as work:
        subs, round_warnings = load_round(config.round_dir, work)
        base: list[SourceFile] = []
        base_warnings: list[IngestWarning] = []
        if config.base_dir:
            base, base_warnings = load_base(config.base_dir)
        notes_documents = read_round_notes(subs, config.round_dir) if config.notes else []
        handout_notes = read_base_notes(config.base_dir) if config.notes and config.base_dir else []
        index = open_index(config)
        checked = None  # (findings, fingerprints) when the rules and fingerprints share a parse
        with open_fingerprint_cache(config) as cache:
            if task is not None and config.fingerprint_map is None:
                checked = fingerprint_and_check(task, subs, config, cache, progress)
            result = match_code(subs, base, config, progress, index,
                                checked[1] if checked is not None else cache)
        history, history_warnings = None, []
        if config.index_dir is not None and (config.history or config.round_name):
            from checker.pipeline.history import scan_history

            history, history_warnings = scan_history(config, result, progress)
        if task is not None and task.expected_sources:
            from checker.corpus.match import mark_expected

            # public code the task tells learners to use: expected use, not risk (verdicts)
            result.stats["expected_source_pairs"] = mark_expected(result.file_pairs,
                                                                  task.expected_sources)
        if index is not None:
            corpus = CorpusInfo(str(config.index_dir), [
                CorpusSourceInfo(r.spec, r.version, r.licence, r.url) for r in index.sources()])
        warnings = round_warnings + base_warnings + [w for s in subs for w in s.warnings]
        warnings += result.warnings + history_warnings
        report = build_report(config, result, warnings, started)
        if index is not None:
            report.corpus = corpus
            attach_public_lines(report, index)
        if config.index_dir is not None and (history is not None or config.round_name):
            from checker.pipeline.history import history_section

            report.history = history_section(report, config, history)
        if task is not None:
            report.task = TaskInfo(task.name, task.description, task.url, task.rules.max_params)
            found = checked[0] if checked is not None else check_rules(task, subs, progress, config.jobs)
            report.findings = [Finding.from_dict(f, "findings[]") for f in found]
            if config.retrain:
                report.retrain = {
                    learner: (RetrainRun if "submission" in entry else RetrainSkipped).from_dict(
                        entry, f"retrain.{learner}")
                    for learner, entry in retrain_round(task, config, subs).items()}
        if config.notes:
            if progress:
                progress("notes", 0, 1)
            notes, report.notes_corpus = check_round_notes(
                notes_documents, config, handout_notes, task.notes if task is not None else None, history)
            report.notes = NotesSection.from_dict(notes, "notes")
            if progress:
                progress("notes", 1, 1)
        from checker.pipeline.outputs import add_outputs

        add_outputs(report, subs, config, task)  # notebooks that print the same figures
        refresh_verdicts(report)
        asked = time.time()
        with open_facts_cache(config) as facts_cache:
            facts = question_facts(report, config.jobs, facts_cache)
        add_questions(report, {(s.learner, f.path): f for s in subs for f in s.code}, config.lang,
                      facts=facts)
        if report.stats is not None:
            report.stats.seconds["questions"] = round(time.time() - asked, 3)
        if config.round_name and report.history is not None:
            from checker.pipeline.history import remember_round

            if progress:
                progress("remember", 0, 1)
            report.history.stored = remember_round(config, result, notes_documents)
            if progress:
                progress("remember", 1, 1)
        report.elapsed_s = round(time.time() - started, 3)
        return report

