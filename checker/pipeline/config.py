"""A scan's configuration, and where its caches live: light to import (no libCST, no numpy), so
that the command line can build it and find a stored report (`checker.pipeline.replay`) before
it loads what a scan needs."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from checker import defaults
from checker.code.params import FingerprintParams

if TYPE_CHECKING:  # pragma: no cover - typing only
    from checker.code.fingerprints import FingerprintMap
    from checker.corpus.lsh import LSHFactory


@dataclass(frozen=True)
class ScanConfig:
    round_dir: Path
    base_dir: Path | None = None
    params: FingerprintParams = field(default_factory=FingerprintParams)
    lsh_threshold: float = defaults.LSH_THRESHOLD
    frequent_share: float = defaults.FREQUENT_SHARE
    frequent_min_learners: int = defaults.FREQUENT_MIN_LEARNERS
    frequent_max_learners: int = defaults.FREQUENT_MAX_LEARNERS
    min_fragment_tokens: int = defaults.MIN_FRAGMENT_TOKENS
    min_similarity: float = defaults.MIN_REPORT_SIMILARITY
    jobs: int = 0
    task_path: Path | None = None  # task.toml: rules for every learner, and [retrain]
    retrain: bool = False
    retrain_short: bool = False
    retrain_parallel: int = defaults.RETRAIN_PARALLEL
    notes: bool = True  # check learners' notes (against each other and the index's notes corpus)
    index_dir: Path | None = None  # the corpus index (code and notes); None: learners only
    # fingerprinting elsewhere (a FingerprintMap handed in: `scan --ray` builds one on Ray,
    # checker.scale.ray); None: this machine's process pool. Same fingerprints either way
    # (tests/test_scale_ray.py). Not part of report.json's config.
    fingerprint_map: FingerprintMap | None = None
    # how the corpus LSH is held: "banded", "datasketch" (checker.corpus.lsh.LSH_ENGINES), or an
    # LSHFactory handed in (`scan --lsh URL`: the shared tables on Redis that `checker lsh-sync`
    # pushed, checker.scale.redis); read by CorpusMatchConfig.of. Not part of report.json's config.
    corpus_lsh_engine: str | LSHFactory = defaults.CORPUS_LSH_ENGINE
    # ignore the shipped k-grams of code everyone writes (checker.code.common) between learners
    common: bool = True
    common_list: Path | None = None  # another list than the shipped one (tests, a mentor's own)
    # the review questions' language, en | zh; None: the round's notes' (report.json's `lang`,
    # not part of its config: both languages are stored, `checker report --lang` switches)
    lang: str | None = None
    # remembered rounds (checker.pipeline.history; in report.json's `history`, not its config):
    # store this round in the index under this name, compare with the index's remembered rounds,
    # and the learner,alias rows that join one person's ids across rounds
    round_name: str | None = None
    history: bool = True
    aliases_path: Path | None = None
    # the folder of the scan's caches: fingerprints (checker.code.fpcache), the review questions'
    # facts (checker.report.factcache) and the reports kept for re-use (checker.pipeline.replay);
    # `checker scan` gives `default_cache_dir(index)` unless --no-cache; None: no cache. `notice`:
    # where their one-line messages go (rebuilt for other parameters, a damaged entry). Neither is
    # part of report.json.
    cache_dir: Path | None = None
    notice: Callable[[str], None] | None = None

    def to_dict(self) -> dict:
        return {
            "round_dir": str(self.round_dir),
            "base_dir": str(self.base_dir) if self.base_dir else None,
            "fingerprint": self.params.to_dict(),
            "lsh_threshold": self.lsh_threshold,
            "frequent_share": self.frequent_share,
            "frequent_min_learners": self.frequent_min_learners,
            "frequent_max_learners": self.frequent_max_learners,
            "min_fragment_tokens": self.min_fragment_tokens,
            "min_similarity": self.min_similarity,
            "task": str(self.task_path) if self.task_path else None,
            "retrain": self.retrain,
            "retrain_short": self.retrain_short,
            "notes": self.notes,
            "index": str(self.index_dir) if self.index_dir else None,
            "common": self.common,
        }


def default_cache_dir(index_dir: Path | None = None) -> Path:
    """Where a scan keeps its caches (fingerprints, `checker.code.fpcache`; reports for re-use,
    `checker.pipeline.replay`): `$NOSHORTCUT_CACHE` when set; else `cache/` inside the
    corpus index folder the scan uses, when there is one and it may be written; else
    `$XDG_CACHE_HOME/noshortcut` (`~/.cache/noshortcut`)."""
    named = os.environ.get(defaults.FINGERPRINT_CACHE_ENV)
    if named:
        return Path(named)
    if index_dir is not None and Path(index_dir).is_dir() and os.access(index_dir, os.W_OK):
        return Path(index_dir) / defaults.INDEX_CACHE_SUBDIR
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "noshortcut"
