"""A learner's fingerprinted code file, as the pair and corpus stages both see it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from checker.code.fingerprints import CodeFingerprint
from checker.core.align import own_mask
from checker.model import SourceFile


@dataclass
class CodeDoc:
    """A fingerprinted code file of a learner."""

    source: SourceFile
    fp: CodeFingerprint
    own_tokens: int = 0  # tokens outside ignored (handout / common) k-grams
    own: np.ndarray | None = None  # per token: True when no ignored k-gram covers it

    def mark_own(self, ignore: np.ndarray, k: int) -> None:
        """Mark the tokens no ignored k-gram covers: what the learner (or the copier) wrote."""
        self.own = own_mask(self.fp.kgrams, self.fp.n_tokens, k, ignore)
        self.own_tokens = int(self.own.sum())
