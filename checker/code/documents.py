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

    def mark_own(
        self,
        ignore: np.ndarray,
        k: int,
        min_run: int = 1,
        idioms: np.ndarray | None = None,
        idiom_max: int = 0,
    ) -> None:
        """Mark the tokens no ignored k-gram covers: what the learner (or the copier) wrote.

        A run of such tokens shorter than `min_run` (a name changed between two handout lines)
        is not counted: no fragment could ever be made of it, so counting it would keep even a
        byte-identical copy of a reworked handout file below 100%. Nor is a run shorter than
        `idiom_max` with fewer than `min_run` tokens outside the `idioms` k-grams (the shipped
        shapes everyone writes): every fragment it could hold is dropped as an idiom."""
        own = own_mask(self.fp.kgrams, self.fp.n_tokens, k, ignore)
        specific = (
            own_mask(self.fp.kgrams, self.fp.n_tokens, k, idioms)
            if idioms is not None and idioms.size
            else None
        )
        if min_run > 1 and own.any():
            edges = np.flatnonzero(np.diff(np.concatenate(([0], own.view(np.int8), [0]))))
            for start, end in zip(edges[::2], edges[1::2]):
                if end - start < min_run or (
                    specific is not None
                    and end - start < idiom_max
                    and int(specific[start:end].sum()) < min_run
                ):
                    own[start:end] = False
        self.own = own
        self.own_tokens = int(own.sum())
