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


def own_token_count(kgrams: np.ndarray, n_tokens: int, k: int, ignore: np.ndarray) -> int:
    """Tokens not covered by any ignored k-gram: what the learner (or the copier) wrote."""
    if not ignore.size or not kgrams.size:
        return n_tokens
    return int(own_mask(kgrams, n_tokens, k, ignore).sum())
