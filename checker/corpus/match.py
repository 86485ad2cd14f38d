"""Learners' code against the corpus of public implementations.

For every learner code file (`checker.code.documents.CodeDoc`):
1. candidates: the MinHash of the file and of each function/class unit (winnowed hashes minus the
   ignored ones: handout, round-frequent, and code common to the corpus's projects) is looked up
   in the corpus LSH; candidates are ranked by their estimated Jaccard (signature agreement) and
   capped (`max_candidates`), so the exact work stays bounded however large the corpus is;
2. exact work: `align` of the learner's k-grams against each candidate's stored k-grams (handout
   and round-frequent k-grams ignored; corpus-common ones may sit inside a run, so a copy is not
   cut apart), kept when one fragment holds `min_longest_tokens` tokens of specific code; then
   `score_file_pair` with the corpus document as the right side: `right` is the source as given
   to `corpus add` (`pypi:d2l==1.0.3`), `right_file` the path inside it, `right_meta` its version,
   licence, URL and path, plus the top-level functions/classes the fragments fall in (and the
   cells' first lines for a notebook); per learner file the best pairs, without repeats of a
   project that show nothing new (`_distinct`);
3. attribution (`checker.corpus.attribution`): the pair is marked attributed when the learner names the
   source or marks the code as borrowed.

Scoring. A library file is large (d2l/torch.py is 3,500 lines) and a learner copies a few
functions of it, so the right side is measured against the *region* the fragments fall in: the
innermost functions/classes they touch (the fragment itself outside any). `right_coverage` then
says how completely those functions were taken, and `similarity` is not diluted by the rest of the
library. `left_coverage` is the share of the learner's file (its own tokens plus what matched)
that is public code: the number a mentor reads ("model.py is 91% d2l/torch.py lines 1153-1227").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from checker import defaults
from checker.core.align import Fragment, align_prepared, own_mask, prepare
from checker.corpus.attribution import LearnerEvidence, attribute, gather_evidence, source_names
from checker.corpus.index import CorpusIndex
from checker.corpus.lsh import LSHFactory
from checker.corpus.records import CorpusDocument, StoredContent
from checker.code.documents import CodeDoc
from checker.code.fingerprints import FingerprintParams, minhash_values_many
from checker.code.scoring import FilePair, score_file_pair


Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CorpusMatchConfig:
    params: FingerprintParams = field(default_factory=FingerprintParams)
    lsh_threshold: float = defaults.CORPUS_LSH_THRESHOLD
    min_fragment_tokens: int = defaults.MIN_FRAGMENT_TOKENS
    max_candidates: int = defaults.CORPUS_MAX_CANDIDATES
    max_pairs_per_file: int = defaults.CORPUS_MAX_PAIRS_PER_FILE
    min_longest_tokens: int = defaults.CORPUS_MIN_LONGEST_TOKENS
    # an engine of checker.corpus.lsh.LSH_ENGINES by name, or an LSHFactory handed in (shared
    # tables on Redis: `scan --lsh URL`)
    lsh_engine: str | LSHFactory = defaults.CORPUS_LSH_ENGINE
    discount_common: bool = True  # common k-grams and commonly matched code are no evidence
    common_fragment_projects: int = defaults.CORPUS_COMMON_FRAGMENT_PROJECTS

    @classmethod
    def of(cls, config) -> "CorpusMatchConfig":
        """From a `CorpusMatchConfig` or anything with `params` and `min_fragment_tokens`
        (a `ScanConfig`); corpus-only settings take their defaults unless present."""
        if isinstance(config, cls):
            return config
        return cls(
            params=config.params,
            lsh_threshold=getattr(config, "corpus_lsh_threshold", defaults.CORPUS_LSH_THRESHOLD),
            min_fragment_tokens=getattr(config, "min_fragment_tokens", defaults.MIN_FRAGMENT_TOKENS),
            max_candidates=getattr(config, "corpus_max_candidates", defaults.CORPUS_MAX_CANDIDATES),
            max_pairs_per_file=getattr(config, "corpus_max_pairs_per_file",
                                       defaults.CORPUS_MAX_PAIRS_PER_FILE),
            min_longest_tokens=getattr(config, "corpus_min_longest_tokens",
                                       defaults.CORPUS_MIN_LONGEST_TOKENS),
            lsh_engine=getattr(config, "corpus_lsh_engine", defaults.CORPUS_LSH_ENGINE),
        )


@dataclass
class CorpusMatch:
    """A corpus pair with what built it (token-level fragments for coverage unions)."""

    pair: FilePair
    doc: int  # index of the learner's document in `docs`
    document: CorpusDocument
    fragments: list[Fragment]


def _region_tokens(fragments: list[Fragment], content: StoredContent) -> int:
    """Tokens of the innermost functions/classes the fragments touch, plus the fragments."""
    mask = np.zeros(content.n_tokens, dtype=bool)
    units = content.units
    for f in fragments:
        mask[f.right_start:f.right_end] = True
        if not len(units):
            continue
        touching = units[(units[:, 0] < f.right_end) & (units[:, 1] > f.right_start)]
        for u in touching:
            inner = ((touching[:, 0] >= u[0]) & (touching[:, 1] <= u[1])
                     & ~((touching[:, 0] == u[0]) & (touching[:, 1] == u[1])))
            if not inner.any():
                mask[u[0]:u[1]] = True
    return int(mask.sum())


def _top_level(content: StoredContent) -> list[tuple[str, int, int]]:
    """(name, start token, end token) of the functions/classes no other unit contains."""
    units = content.units
    out = []
    for name, (start, end, _, _) in zip(content.unit_names, units.tolist()):
        inside = (units[:, 0] <= start) & (units[:, 1] >= end) & ((units[:, 0] != start) | (units[:, 1] != end))
        if not inside.any():
            out.append((name, start, end))
    return out


def _coherent(fragments: list[Fragment], weight: list[int], content: StoredContent,
              min_longest: int) -> list[Fragment]:
    """The fragments of a real copy: those with `min_longest` specific tokens (`weight`), and
    others inside the top-level functions/classes such a one touches (a chance run elsewhere in a
    3,000-line library file is not part of the copy)."""
    long = [f for f, w in zip(fragments, weight) if w >= min_longest]
    regions = [(f.right_start, f.right_end) for f in long]
    regions += [(a, b) for _, a, b in _top_level(content)
                if any(a < f.right_end and f.right_start < b for f in long)]
    return [f for f, w in zip(fragments, weight) if w >= min_longest
            or any(a <= f.right_start and f.right_end <= b for a, b in regions)]


def _unit_names(fragments: list[Fragment], content: StoredContent) -> list[str]:
    """The top-level functions/classes the fragments touch, most matched tokens first
    (`class MultiHeadAttention`): what a mentor looks up in the public source."""
    matched: dict[str, int] = {}
    for name, a, b in _top_level(content):
        overlap = sum(max(0, min(b, f.right_end) - max(a, f.right_start)) for f in fragments)
        if overlap:
            matched[name] = matched.get(name, 0) + overlap
    return sorted(matched, key=lambda name: -matched[name])


def candidate_contents(doc: CodeDoc, ignore: np.ndarray, index: CorpusIndex,
                       config: CorpusMatchConfig) -> list[tuple[int, float]]:
    """(content id, estimated Jaccard) of the corpus files worth aligning, best first."""
    params = config.params
    lsh, keys, matrix = index.lsh(config.lsh_threshold, config.lsh_engine)
    best: dict[int, float] = {}
    hash_sets = [h for h in doc.fp.unit_hash_sets(params, ignore) if h.size]
    signatures = minhash_values_many(hash_sets, params)
    for signature, rows in zip(signatures, lsh.query_many(list(signatures))):
        if not rows.size:
            continue
        estimates = (matrix[rows] == signature).mean(axis=1)
        for cid, est in zip(keys[rows, 0].tolist(), estimates.tolist()):
            if est > best.get(cid, -1.0):
                best[cid] = est
    ranked = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:config.max_candidates]


def find_corpus_matches(docs: list[CodeDoc], ignore: np.ndarray, index: CorpusIndex, config,
                        evidence: Mapping[str, LearnerEvidence] | None = None,
                        progress: Progress | None = None) -> list[CorpusMatch]:
    """Every learner document against the corpus; see the module docstring."""
    cfg = CorpusMatchConfig.of(config)
    params = cfg.params
    params.check_compatible(index.params, f"corpus index {index.path}")
    ignore = np.asarray(ignore if ignore is not None else np.empty(0), dtype=np.uint64)
    # Code common to public implementations (index.common_kgrams) is discounted here whether or
    # not the caller put it in `ignore`: it gives no candidates and no evidence (own tokens), but
    # it does not cut alignments apart (a copied MultiHeadAttention is full of generic attention
    # k-grams; excluding them from the alignment left only short pieces of it).
    with_kgrams = [d.fp.kgrams for d in docs if d.fp.kgrams.size]
    common = (index.common_kgrams(among=np.unique(np.concatenate(with_kgrams)))
              if with_kgrams and cfg.discount_common else np.empty(0, dtype=np.uint64))
    discount = np.union1d(ignore, common)
    align_ignore = np.setdiff1d(ignore, common)  # handout and round-frequent k-grams only
    evidence = dict(evidence or {})
    matches: list[CorpusMatch] = []
    names_cache: dict[str, object] = {}
    for n, doc in enumerate(docs):
        if progress:
            progress("corpus", n + 1, len(docs))
        if not doc.fp.kgrams.size:
            continue
        learner = doc.source.owner
        if learner not in evidence:
            evidence[learner] = gather_evidence(learner, [d.source for d in docs
                                                          if d.source.owner == learner])
        own = own_mask(doc.fp.kgrams, doc.fp.n_tokens, params.k, discount)
        aligned = []  # (content id, fragments) of candidates with a long enough specific run
        left = prepare(doc.fp.kgrams, align_ignore)  # once per learner file, not per candidate
        for cid, _ in candidate_contents(doc, discount, index, cfg):
            frags = align_prepared(left, prepare(index.content(cid).kgrams, align_ignore), params.k,
                                   cfg.min_fragment_tokens)
            if frags and max(int(own[f.left_start:f.left_end].sum()) for f in frags) >= cfg.min_longest_tokens:
                aligned.append((cid, frags))
        if cfg.discount_common:
            # frequency at the level of copies: learner code that long runs of several public
            # projects match (AverageMeter, a textbook attention block) is common, not evidence
            own = own & ~_found_in_projects(aligned, index, doc.fp.n_tokens, cfg.common_fragment_projects)
        found: list[CorpusMatch] = []
        for cid, frags in aligned:
            content = index.content(cid)
            weight = [int(own[f.left_start:f.left_end].sum()) for f in frags]
            if max(weight) < cfg.min_longest_tokens:
                continue  # no run of specific (not common) code long enough to be copying
            frags = _coherent(frags, weight, content, cfg.min_longest_tokens)
            stream = content.token_stream()
            region = _region_tokens(frags, content)
            functions = _unit_names(frags, content)
            # the learner side counts its own tokens plus what matched: a matched run contains
            # tokens of common k-grams too, which must not push the coverage past 1
            matched = np.zeros(doc.fp.n_tokens, dtype=bool)
            for f in frags:
                matched[f.left_start:f.left_end] = True
            left_tokens = int((own | matched).sum())
            for cdoc in index.documents_for_content(cid):
                pair = score_file_pair(learner, cdoc.source, doc.source.path, cdoc.path, frags,
                                       doc.fp.stream, stream, left_tokens, region,
                                       fragment_own=[int(own[f.left_start:f.left_end].sum())
                                                     for f in frags])
                pair.source = "corpus"
                pair.right_meta = {"version": cdoc.version, "licence": cdoc.licence,
                                   "url": cdoc.url, "path": cdoc.path}
                if functions:
                    pair.right_meta["functions"] = functions
                if cdoc.cell_lines:  # a notebook: its lines count in the joined code cells
                    pair.right_meta["cell_lines"] = list(cdoc.cell_lines)
                names = names_cache.get(cdoc.source)
                if names is None:
                    names = names_cache[cdoc.source] = source_names(cdoc.source, cdoc.url, cdoc.aliases)
                verdict = attribute(evidence[learner], names, doc.source.path,
                                    [(s.left_start_line, s.left_end_line) for s in pair.fragments])
                pair.attributed, pair.attribution = verdict.attributed, verdict.reason
                found.append(CorpusMatch(pair, n, cdoc, frags))
        matches.extend(_distinct(found, own, cfg))
    matches.sort(key=lambda m: (m.pair.left, m.pair.left_file, _rank(m)))
    return matches


def _found_in_projects(aligned: list, index: CorpusIndex, n_tokens: int, projects: int) -> np.ndarray:
    """Learner tokens inside matched runs of at least `projects` distinct projects."""
    by_project: dict[str, np.ndarray] = {}
    for cid, frags in aligned:
        for project in {d.project for d in index.documents_for_content(cid)}:
            mask = by_project.setdefault(project, np.zeros(n_tokens, dtype=bool))
            for f in frags:
                mask[f.left_start:f.left_end] = True
    if len(by_project) < projects:
        return np.zeros(n_tokens, dtype=bool)
    return np.sum(list(by_project.values()), axis=0) >= projects


def _distinct(found: list[CorpusMatch], own: np.ndarray, cfg: CorpusMatchConfig) -> list[CorpusMatch]:
    """Best first; a pair is kept only when it shows learner code that better pairs of the same
    project do not (d2l's mxnet.py repeats torch.py's attention, version 0.17.6 repeats 1.0.3):
    at least `min_longest_tokens` new specific tokens. Other projects are other evidence."""
    kept: list[CorpusMatch] = []
    shown: dict[str, np.ndarray] = {}
    for m in sorted(found, key=_rank):
        mask = shown.setdefault(m.document.project, np.zeros(len(own), dtype=bool))
        new = np.zeros(len(own), dtype=bool)
        for f in m.fragments:
            new[f.left_start:f.left_end] = True
        if int((new & ~mask & own).sum()) < cfg.min_longest_tokens:
            continue
        mask |= new
        kept.append(m)
        if len(kept) == cfg.max_pairs_per_file:
            break
    return kept


def _rank(m: CorpusMatch) -> tuple:
    """Best source first: most of the learner's file matched, then the closest file (a copy of
    d2l 1.0.3 matches 0.17.6 too, less closely), then a stable order."""
    return (-m.pair.left_coverage, -m.pair.similarity, m.pair.right, m.pair.right_file)


def expected_entry(right: str, expected) -> str | None:
    """The entry of `expected` (source specs of a task's `[sources].expected`) that names the
    corpus source `right` (`pypi:yolov5==7.0.14`), or None.

    Same package (PEP 503 names: `pypi:YOLOv5` names `pypi:yolov5`), repository (normalised URL)
    or folder; an entry without a version names every version, a pinned one only its own. The pip
    and git copies of one implementation are two sources: list both when both are indexed."""
    from checker.corpus.sources import SourceError, parse_source

    try:
        have = parse_source(right)
    except SourceError:
        return None
    for entry in expected:
        try:
            want = parse_source(entry)
        except SourceError:
            continue
        if want.project == have.project and (not want.ref or want.ref == have.ref):
            return entry
    return None


def mark_expected(pairs, expected) -> int:
    """Mark the corpus pairs (`FilePair`, source "corpus") whose source the task expects learners
    to use (`expected`: `[sources].expected`); returns how many. Learner pairs are left alone:
    the same public code copied between two learners is still evidence."""
    if not expected:
        return 0
    marked = 0
    for pair in pairs:
        if pair.source != "corpus":
            continue
        entry = expected_entry(pair.right, expected)
        pair.expected = entry is not None
        if entry is not None:
            pair.right_meta["expected_as"] = entry
            marked += 1
    return marked


def match_corpus(docs: list[CodeDoc], ignore: np.ndarray, index: CorpusIndex, config,
                 evidence: Mapping[str, LearnerEvidence] | None = None,
                 progress: Progress | None = None) -> list[FilePair]:
    """Corpus pairs (`FilePair`, `source="corpus"`) of the learners' code documents.

    `config`: a `ScanConfig` or a `CorpusMatchConfig` (its `params` must be the index's, else
    `ParamsMismatch`). `evidence`: per learner, from `attribution.evidence_from_submission`, so
    that README and notes count for attribution (without it only code comments do)."""
    return [m.pair for m in find_corpus_matches(docs, ignore, index, config, evidence, progress)]


__all__ = ["CorpusMatch", "CorpusMatchConfig", "candidate_contents", "expected_entry",
           "find_corpus_matches", "mark_expected", "match_corpus"]
